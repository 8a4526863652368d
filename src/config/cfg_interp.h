/* Interpolations in config strings, resolved once before binding:
 * ${now:%Y_%m_%d_%H_%M_%S} (the run's start time), ${a.b} (another key),
 * ${oc.env:VAR[,default]} and ${VAR} (an environment variable, as the
 * model-zoo tool expands them). \${ keeps a literal ${. */
#ifndef CZ_CONFIG_CFG_INTERP_H
#define CZ_CONFIG_CFG_INTERP_H

#include <time.h>

#include "io/yaml_doc.h"
#include "util/err.h"

cz_err *cz_interpolate(cz_ynode *root, time_t now);

#endif
