/* The config schema: one row per key (path, type, where it lives in
 * cz_config, default, range, allowed values). Loading, defaults,
 * validation, error suggestions and `--cfg job` printing are all driven by
 * this one table, so a key is added in one place. */
#ifndef CZ_CONFIG_CFG_SCHEMA_H
#define CZ_CONFIG_CFG_SCHEMA_H

#include <stddef.h>

typedef enum {
  CZ_KT_BOOL, CZ_KT_INT, CZ_KT_FLOAT, CZ_KT_STR, CZ_KT_ENUM,
  CZ_KT_INTS, CZ_KT_FLOATS, CZ_KT_STRS
} cz_ktype;

enum {
  CZ_K_MIN_EXCL = 1u << 0,  /* value must be > min (else >= min) */
  CZ_K_MAX_EXCL = 1u << 1,  /* value must be < max (else <= max) */
  CZ_K_NOCASE = 1u << 2,    /* choices compare case-insensitively */
  CZ_K_NO_EFFECT = 1u << 3, /* accepted for compatibility; warn when not default */
  CZ_K_LOOKAHEAD = 1u << 4, /* optimizer name: a "lookahead_" prefix is allowed */
  CZ_K_PATH = 1u << 5,      /* a file-system path */
};

typedef struct {
  const char *path;             /* dotted key path, e.g. "training.epochs" */
  const char *alias;            /* another accepted spelling (full path) or NULL */
  cz_ktype type;
  size_t off;                   /* offset of the value in cz_config */
  const char *def;              /* default as YAML text, or NULL for none */
  double min, max;              /* numeric range of the value or of each element */
  int len_min, len_max;         /* list length bounds (0 = no bound) */
  const char *const *choices;   /* allowed values (NULL-terminated) for STR/ENUM */
  unsigned flags;
  const char *note;             /* why a NO_EFFECT key does nothing */
} cz_key;

extern const cz_key cz_keys[];
extern const size_t cz_n_keys;

/* The row whose path or alias is path, or NULL. *via_alias tells which. */
const cz_key *cz_schema_find(const char *path, int *via_alias);
/* True when some key lives below path (path is a section). */
int cz_schema_is_section(const char *path);

#endif
