/* Python value trees (pyval.h). */
#include "io/pyval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static cz_pyval *make(cz_pykind k) {
  cz_pyval *v = cz_xcalloc(1, sizeof *v);
  v->kind = k;
  v->refs = 1;
  v->height = 1;
  return v;
}

cz_pyval *cz_py_none(void) { return make(CZ_PY_NONE); }
cz_pyval *cz_py_bool(bool b) {
  cz_pyval *v = make(CZ_PY_BOOL);
  v->b = b;
  return v;
}
cz_pyval *cz_py_int(int64_t i) {
  cz_pyval *v = make(CZ_PY_INT);
  v->i = i;
  return v;
}
cz_pyval *cz_py_float(double f) {
  cz_pyval *v = make(CZ_PY_FLOAT);
  v->f = f;
  return v;
}
cz_pyval *cz_py_strn(const char *s, size_t n, cz_pykind kind) {
  cz_pyval *v = make(kind);
  v->str.s = cz_xmalloc(n + 1);
  if (n) memcpy(v->str.s, s, n);
  v->str.s[n] = 0;
  v->str.len = n;
  return v;
}
cz_pyval *cz_py_str(const char *s) { return cz_py_strn(s, strlen(s), CZ_PY_STR); }
cz_pyval *cz_py_list(void) { return make(CZ_PY_LIST); }
cz_pyval *cz_py_tuple(void) { return make(CZ_PY_TUPLE); }
cz_pyval *cz_py_dict(bool ordered) {
  cz_pyval *v = make(CZ_PY_DICT);
  v->ordered = ordered;
  return v;
}

cz_pyval *cz_py_tensor_owned(cz_dtype dt, cz_shape shape, void *data) {
  cz_pyval *v = make(CZ_PY_TENSOR);
  v->tensor = (cz_named_tensor){NULL, dt, shape, data};
  return v;
}

cz_pyval *cz_py_tensor(const cz_named_tensor *t) {
  size_t bytes = (size_t)cz_shape_numel(&t->shape) * cz_dtype_size(t->dtype);
  void *copy = cz_xmalloc(bytes ? bytes : 1);
  if (bytes) memcpy(copy, t->data, bytes);
  return cz_py_tensor_owned(t->dtype, t->shape, copy);
}

cz_pyval *cz_py_from_tdict(const cz_tensor_dict *d) {
  cz_pyval *o = cz_py_dict(true);
  for (int i = 0; i < d->n; i++) cz_py_set_str(o, d->t[i].name, cz_py_tensor(&d->t[i]));
  return o;
}

cz_pyval *cz_py_ref(cz_pyval *v) {
  v->refs++;
  return v;
}

void cz_py_free(cz_pyval *v) {
  if (!v || --v->refs > 0) return;
  switch (v->kind) {
    case CZ_PY_STR:
    case CZ_PY_BYTES:
      free(v->str.s);
      break;
    case CZ_PY_LIST:
    case CZ_PY_TUPLE:
      for (int i = 0; i < v->seq.n; i++) cz_py_free(v->seq.items[i]);
      free(v->seq.items);
      break;
    case CZ_PY_DICT:
      for (int i = 0; i < v->dict.n; i++) {
        cz_py_free(v->dict.keys[i]);
        cz_py_free(v->dict.vals[i]);
      }
      free(v->dict.keys);
      free(v->dict.vals);
      cz_py_free(v->attrs);
      break;
    case CZ_PY_TENSOR:
      free(v->tensor.data);
      break;
    default:
      break;
  }
  free(v);
}

const char *cz_py_add_check(const cz_pyval *c, const cz_pyval *item, int max_height) {
  if (c->frozen) return "a container is changed after being placed in another";
  if (c == item) return "a container is placed inside itself";
  if (item->height + 1 > max_height) return "values nest too deeply";
  return NULL;
}

static void adopt(cz_pyval *c, cz_pyval *item) {
  const char *why = cz_py_add_check(c, item, 1 << 30);
  if (why) {
    fprintf(stderr, "czoo: internal error: %s\n", why);
    abort();
  }
  item->frozen = true;
  if (item->kind >= CZ_PY_GLOBAL_ || item->internal_inside) c->internal_inside = true;
  if (item->height + 1 > c->height) c->height = item->height + 1;
}

void cz_py_append(cz_pyval *seq, cz_pyval *item) {
  adopt(seq, item);
  if (seq->seq.n == seq->seq.cap) {
    seq->seq.cap = seq->seq.cap ? 2 * seq->seq.cap : 4;
    seq->seq.items = cz_xrealloc(seq->seq.items, (size_t)seq->seq.cap * sizeof(cz_pyval *));
  }
  seq->seq.items[seq->seq.n++] = item;
}

void cz_py_set(cz_pyval *d, cz_pyval *key, cz_pyval *val) {
  adopt(d, key);
  adopt(d, val);
  if (d->dict.n == d->dict.cap) {
    d->dict.cap = d->dict.cap ? 2 * d->dict.cap : 8;
    d->dict.keys = cz_xrealloc(d->dict.keys, (size_t)d->dict.cap * sizeof(cz_pyval *));
    d->dict.vals = cz_xrealloc(d->dict.vals, (size_t)d->dict.cap * sizeof(cz_pyval *));
  }
  d->dict.keys[d->dict.n] = key;
  d->dict.vals[d->dict.n++] = val;
}

void cz_py_set_str(cz_pyval *d, const char *key, cz_pyval *val) { cz_py_set(d, cz_py_str(key), val); }

const cz_pyval *cz_py_get(const cz_pyval *d, const char *key) {
  if (!d || d->kind != CZ_PY_DICT) return NULL;
  for (int i = d->dict.n - 1; i >= 0; i--) {
    const cz_pyval *k = d->dict.keys[i];
    if (k->kind == CZ_PY_STR && strcmp(k->str.s, key) == 0) return d->dict.vals[i];
  }
  return NULL;
}

const char *cz_py_kind_name(cz_pykind k) {
  static const char *const names[] = {"None", "bool",  "int",    "float",  "str",    "bytes",
                                      "list", "tuple", "dict",   "tensor", "global", "storage"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

void cz_py_set_attrs(cz_pyval *odict, cz_pyval *attrs) {
  cz_py_free(odict->attrs);
  odict->attrs = attrs;
  attrs->frozen = true;
  if (attrs->height + 1 > odict->height) odict->height = attrs->height + 1;
}
