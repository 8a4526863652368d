/* Whole-config checks after binding: what the chosen operation_mode needs,
 * paths that must exist, keys that must agree; and values derived from
 * others (dataset kind, seeds, validation batch size, color mode). */
#ifndef CZ_CONFIG_CFG_VALIDATE_H
#define CZ_CONFIG_CFG_VALIDATE_H

#include "config/cfg.h"
#include "io/yaml_doc.h"
#include "util/err.h"

/* Steps a mode runs, as bits; chains combine them. */
enum {
  CZ_STEP_TRAIN = 1u << 0,
  CZ_STEP_EVAL = 1u << 1,
  CZ_STEP_QUANT = 1u << 2,
  CZ_STEP_PREDICT = 1u << 3,
  CZ_STEP_BENCH = 1u << 4,
  CZ_STEP_DEPLOY = 1u << 5,
};
unsigned cz_mode_steps(cz_mode mode);

/* file names the config in "missing" errors; root gives line numbers. */
cz_err *cz_config_validate(cz_config *cfg, const cz_ynode *root, const char *file);

#endif
