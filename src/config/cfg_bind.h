/* Binding: a composed, interpolated YAML tree -> the typed cz_config, with
 * defaults filled in and each key checked against the schema. */
#ifndef CZ_CONFIG_CFG_BIND_H
#define CZ_CONFIG_CFG_BIND_H

#include "config/cfg.h"
#include "io/yaml_doc.h"
#include "util/err.h"

/* Fills cfg (zeroed by the caller) from root. On error cfg holds what was
 * bound so far; free it with cz_config_free either way. */
cz_err *cz_config_bind(const cz_ynode *root, cz_config *cfg);

/* The closest known key name under section (NULL for top level) to name,
 * or NULL when none is close; used for "did you mean" hints. */
const char *cz_schema_suggest(const char *section, const char *name);

#endif
