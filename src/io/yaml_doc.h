/* A YAML document as a tree of maps, sequences and scalars, read with
 * libyaml (YAML 1.1/1.2 syntax), every node remembering where it came from
 * so that config errors can name file, line and column. */
#ifndef CZ_IO_YAML_DOC_H
#define CZ_IO_YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef enum { CZ_Y_SCALAR, CZ_Y_SEQ, CZ_Y_MAP } cz_ykind;

typedef struct cz_ynode cz_ynode;

typedef struct {
  char *key;      /* owned */
  cz_ynode *val;  /* owned */
  int line, col;  /* of the key, 1-based */
} cz_yentry;

struct cz_ynode {
  cz_ykind kind;
  char *src;        /* owned: file name, or e.g. "command line 'a.b=1'" */
  int line, col;    /* 1-based; 0 when not from a file */
  char *tag;        /* owned explicit tag ("tag:yaml.org,2002:float") or NULL */
  /* scalar */
  char *text;       /* owned */
  bool quoted;      /* written quoted or as a block scalar: never null/bool */
  /* sequence */
  cz_ynode **items;
  size_t n_items;
  /* mapping */
  cz_yentry *entries;
  size_t n_entries;
};

/* Parses a whole file. A missing, unreadable, empty (nothing but comments),
 * non-UTF-8 or directory path, a syntax error, a duplicate key, a non-scalar
 * key, several documents or a top level that is not a mapping are each one
 * error naming the file (and line:column where there is one). */
cz_err *cz_yaml_load_file(const char *path, cz_ynode **out);
/* Parses text; src names it in errors. An empty text gives an empty map
 * when allow_empty, an error otherwise. top_map requires a mapping. */
cz_err *cz_yaml_load_string(const char *text, size_t len, const char *src,
                            bool top_map, cz_ynode **out);

cz_ynode *cz_ynode_new_scalar(const char *text, bool quoted, const char *src);
cz_ynode *cz_ynode_new_map(const char *src);
cz_ynode *cz_ynode_clone(const cz_ynode *n);
void cz_ynode_free(cz_ynode *n);

/* True for a plain scalar that YAML (plus the model-zoo extension None)
 * reads as no value: empty, ~, null, Null, NULL, None. Quoted "" too. */
bool cz_ynode_is_null(const cz_ynode *n);

/* Map access. */
cz_yentry *cz_ymap_find(const cz_ynode *map, const char *key);
/* Sets key to val (taking ownership), replacing an existing value. */
void cz_ymap_set(cz_ynode *map, const char *key, cz_ynode *val);
bool cz_ymap_remove(cz_ynode *map, const char *key);

/* The node at a dotted path of map keys ("training.optimizer.opt"), or NULL. */
cz_ynode *cz_ynode_at(const cz_ynode *root, const char *dotted);
/* The map that holds the last part of dotted, creating sections (maps named
 * src) where they are missing or null; *leaf points at the last part.
 * NULL when a non-map value is in the way. */
cz_ynode *cz_ymap_make_path(cz_ynode *root, const char *dotted, const char *src,
                            const char **leaf);

/* Writes the tree as block-style YAML (flow style for sequences of
 * scalars), through libyaml's emitter. */
cz_err *cz_yaml_write(const cz_ynode *root, char **out_text);

/* Checks that text is UTF-8; on failure sets *bad_offset. */
bool cz_utf8_valid(const char *text, size_t len, size_t *bad_offset);

#endif
