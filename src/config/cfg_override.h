/* Hydra-style command-line overrides applied to the YAML tree:
 * a.b=value (set), +a.b=value (add a key not in the file), ++a.b=value
 * (add or replace), ~a.b (remove). Values are YAML: 5, 1/255.0, [1,2],
 * {x: 1}, null, 'quoted'. */
#ifndef CZ_CONFIG_CFG_OVERRIDE_H
#define CZ_CONFIG_CFG_OVERRIDE_H

#include <stddef.h>

#include "io/yaml_doc.h"
#include "util/err.h"

cz_err *cz_override_apply(cz_ynode *root, const char *override);

#endif
