/* A small tree of Python values: what the restricted unpickler produces
 * from a PyTorch checkpoint and what the checkpoint writer pickles. Only the
 * kinds checkpoints hold; a dict keeps insertion order (an OrderedDict is a
 * dict flagged `ordered`). Nodes are reference counted because a pickle may
 * refer to one object from several places (its memo). */
#ifndef CZ_IO_PYVAL_H
#define CZ_IO_PYVAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/tensor_dict.h"

typedef enum {
  CZ_PY_NONE,
  CZ_PY_BOOL,
  CZ_PY_INT,
  CZ_PY_FLOAT,
  CZ_PY_STR,
  CZ_PY_BYTES,
  CZ_PY_LIST,
  CZ_PY_TUPLE,
  CZ_PY_DICT,
  CZ_PY_TENSOR,
  /* Only while unpickling, never in a finished tree. */
  CZ_PY_GLOBAL_,
  CZ_PY_STORAGE_,
} cz_pykind;

typedef struct cz_pyval cz_pyval;
struct cz_pyval {
  cz_pykind kind;
  int refs;
  bool frozen;  /* placed inside another container: no longer modified */
  bool ordered; /* DICT: an OrderedDict */
  cz_pyval *attrs; /* ordered DICT: instance attributes (a dict), written as
                      BUILD state, e.g. a state_dict's `_metadata`; owned */
  bool namespace_; /* DICT: made from an argparse/types namespace (unpickler) */
  bool internal_inside; /* holds a GLOBAL_ or STORAGE_ somewhere */
  int height;   /* 1 for a leaf, 1 + the tallest child for a container */
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      char *s; /* NUL-terminated (bytes may hold NULs too) */
      size_t len;
    } str;
    struct {
      int n, cap;
      cz_pyval **items;
    } seq; /* LIST, TUPLE */
    struct {
      int n, cap;
      cz_pyval **keys, **vals;
    } dict;
    cz_named_tensor tensor; /* name unused (NULL); data owned, contiguous */
    int global;             /* GLOBAL_: index in the unpickler's allow-list */
    struct {
      int dtype; /* the unpickler's storage dtype */
      int64_t numel;
      const uint8_t *bytes; /* not owned: the archive's record */
    } storage;
  };
};

cz_pyval *cz_py_none(void);
cz_pyval *cz_py_bool(bool b);
cz_pyval *cz_py_int(int64_t i);
cz_pyval *cz_py_float(double f);
cz_pyval *cz_py_str(const char *s);
cz_pyval *cz_py_strn(const char *s, size_t n, cz_pykind kind); /* STR or BYTES */
cz_pyval *cz_py_list(void);
cz_pyval *cz_py_tuple(void);
cz_pyval *cz_py_dict(bool ordered);
/* Copies t's shape, dtype and data. */
cz_pyval *cz_py_tensor(const cz_named_tensor *t);
/* Takes `data` (malloc'd, numel * dtype size bytes). */
cz_pyval *cz_py_tensor_owned(cz_dtype dt, cz_shape shape, void *data);
/* A dict (ordered) of every tensor of d, copied, in order. */
cz_pyval *cz_py_from_tdict(const cz_tensor_dict *d);

cz_pyval *cz_py_ref(cz_pyval *v); /* one more reference; returns v */
void cz_py_free(cz_pyval *v);     /* drops one reference */

/* Builders take ownership of the values given (the caller's reference).
 * Adding to a frozen container or a container to itself aborts: the
 * builders are for trees the program makes, not for untrusted input. */
void cz_py_append(cz_pyval *seq, cz_pyval *item);
void cz_py_set(cz_pyval *dict, cz_pyval *key, cz_pyval *val);
void cz_py_set_str(cz_pyval *dict, const char *key, cz_pyval *val);
/* Gives an ordered dict its instance attributes (a dict, taken over). */
void cz_py_set_attrs(cz_pyval *odict, cz_pyval *attrs);

/* Why `item` may not go into `container` (NULL: it may): the container
 * is frozen, is the item itself, or would nest deeper than max_height. */
const char *cz_py_add_check(const cz_pyval *container, const cz_pyval *item, int max_height);

/* Dict lookup by string key (the last entry with that key); NULL if absent
 * or d is not a dict. */
const cz_pyval *cz_py_get(const cz_pyval *d, const char *key);
const char *cz_py_kind_name(cz_pykind k);
#endif
