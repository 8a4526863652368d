/* The config pipeline: YAML file -> overrides -> interpolation -> typed
 * config -> validation; and printing the resolved config (--cfg job). */
#ifndef CZ_CONFIG_CFG_LOAD_H
#define CZ_CONFIG_CFG_LOAD_H

#include <stddef.h>
#include <time.h>

#include "config/cfg.h"
#include "io/yaml_doc.h"
#include "util/err.h"

typedef struct {
  cz_config cfg;      /* typed, validated */
  cz_ynode *composed; /* the file with overrides applied, interpolations not
                         resolved: what Hydra saves as .hydra/config.yaml */
} cz_loaded_config;

/* now is the run's start time, used by ${now:...}. On error nothing is left
 * to free. */
cz_err *cz_config_load(const char *file, char *const *overrides, size_t n_overrides,
                       time_t now, cz_loaded_config *out);
void cz_loaded_config_free(cz_loaded_config *lc);

/* The whole resolved config as YAML, every key with its value or default. */
char *cz_config_to_yaml(const cz_config *cfg);

#endif
