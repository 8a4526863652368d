/* The run directory: created when a run starts (never shared with another
 * run), holding .hydra/config.yaml, .hydra/overrides.yaml and the run log
 * stm32ai_main.log. */
#ifndef CZ_CLI_RUNDIR_H
#define CZ_CLI_RUNDIR_H

#include <stddef.h>

#include "io/yaml_doc.h"
#include "util/err.h"

/* Creates a new directory at pattern (the resolved hydra.run.dir), or at
 * pattern_1, pattern_2, ... when it exists; parents are created. *out is
 * the directory made (owned by the caller). */
cz_err *cz_rundir_create(const char *pattern, char **out);

/* Writes .hydra/config.yaml (composed) and .hydra/overrides.yaml. */
cz_err *cz_rundir_write_hydra(const char *dir, const cz_ynode *composed,
                              char *const *overrides, size_t n_overrides);

#endif
