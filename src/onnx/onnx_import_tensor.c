/* ONNX import: TensorProto (initializers, Constant values) to host
 * constants, following onnx.proto's TensorProto rules: raw_data holds
 * little-endian bytes and then the typed fields must be empty; otherwise
 * float_data / int64_data / int32_data / double_data hold exactly the
 * element count (INT8 / UINT8 elements in int32_data, one per value);
 * data_location EXTERNAL points at another file, which
 * czoo does not read. Also the name table (onnx_import_priv.h). */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_priv.h"
#include "util/mem.h"

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
  return h;
}

imp_name *imp_lookup(imp *m, const char *name) {
  if (!m->cap) return NULL;
  for (size_t i = hash_str(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->tab[i].name) return NULL;
    if (strcmp(m->tab[i].name, name) == 0) return &m->tab[i];
  }
}

static void grow(imp *m) {
  size_t oc = m->cap;
  imp_name *old = m->tab;
  m->cap = oc ? oc * 2 : 256;
  m->tab = cz_xcalloc(m->cap, sizeof *m->tab);
  for (size_t k = 0; k < oc; k++) {
    if (!old[k].name) continue;
    size_t i = hash_str(old[k].name) & (m->cap - 1);
    while (m->tab[i].name) i = (i + 1) & (m->cap - 1);
    m->tab[i] = old[k];
  }
  free(old);
}

imp_name *imp_intern(imp *m, const char *name) {
  imp_name *e = imp_lookup(m, name);
  if (e) return e;
  if ((m->count + 1) * 2 > m->cap) grow(m);
  size_t i = hash_str(name) & (m->cap - 1);
  while (m->tab[i].name) i = (i + 1) & (m->cap - 1);
  m->tab[i] = (imp_name){.name = cz_xstrdup(name), .value = -1};
  m->count++;
  return &m->tab[i];
}

void imp_const_free(imp_const *c) {
  if (!c) return;
  free(c->data);
  free(c->batch);
  free(c);
}

/* Constants are shared by aliases (Identity): the table frees each once. */
void imp_free_names(imp *m) {
  for (size_t i = 0; i < m->cap; i++) {
    imp_name *e = &m->tab[i];
    if (!e->name) continue;
    if (e->c) {
      imp_const *c = e->c;
      for (size_t k = i + 1; k < m->cap; k++)
        if (m->tab[k].name && m->tab[k].c == c) m->tab[k].c = NULL;
      imp_const_free(c);
    }
    free(e->name);
  }
  free(m->tab);
  m->tab = NULL;
  m->cap = m->count = 0;
}

imp_const *imp_const_new(cz_dtype dt, cz_shape s, bool tags) {
  imp_const *c = cz_xcalloc(1, sizeof *c);
  c->dt = dt;
  c->shape = s;
  size_t n = (size_t)cz_shape_numel(&s);
  c->data = cz_xcalloc(n ? n : 1, cz_dtype_size(dt));
  if (tags) c->batch = cz_xcalloc(n ? n : 1, 1);
  return c;
}

static cz_err *terr(const Onnx__TensorProto *t, const char *fmt, const char *detail) {
  return cz_err_new(CZ_EXIT_RUNTIME, "tensor '%s': %s%s", t->name ? t->name : "", fmt,
                    detail ? detail : "");
}

cz_err *imp_tensor(const Onnx__TensorProto *t, imp_const **out) {
  *out = NULL;
  const char *nm = t->name ? t->name : "";
  if ((t->has_data_location &&
       t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
      t->n_external_data > 0)
    return terr(t, "its data is in an external file (external data is not supported; save "
                   "the model with its weights inside)", NULL);
  if (t->segment) return terr(t, "is segmented (not supported)", NULL);
  if (t->n_dims > CZ_MAX_RANK)
    return cz_err_new(CZ_EXIT_RUNTIME, "tensor '%s': rank %zu, expected at most %d", nm,
                      t->n_dims, CZ_MAX_RANK);
  cz_shape s = {.rank = (int)t->n_dims};
  int64_t numel = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0 || t->dims[i] > IMP_MAX_ELEMS)
      return cz_err_new(CZ_EXIT_RUNTIME, "tensor '%s': dimension %zu is %lld, expected 0 to %lld",
                        nm, i, (long long)t->dims[i], (long long)IMP_MAX_ELEMS);
    s.d[i] = t->dims[i];
    numel *= t->dims[i];
    if (numel > IMP_MAX_ELEMS)
      return cz_err_new(CZ_EXIT_RUNTIME, "tensor '%s': more than %lld elements", nm,
                        (long long)IMP_MAX_ELEMS);
  }
  int32_t dt = t->has_data_type ? t->data_type : 0;
  size_t raw_es;
  cz_dtype cdt;
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: raw_es = 4, cdt = CZ_F32; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: raw_es = 8, cdt = CZ_F32; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: raw_es = 8, cdt = CZ_I64; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: raw_es = 4, cdt = CZ_I64; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: raw_es = 1, cdt = CZ_I8; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: raw_es = 1, cdt = CZ_U8; break;
  default:
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "tensor '%s': data type %d is not supported (expected FLOAT, DOUBLE, "
                      "INT64, INT32, INT8 or UINT8)",
                      nm, (int)dt);
  }
  size_t typed = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? t->n_float_data
                 : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                 : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? t->n_int64_data
                                                               : t->n_int32_data; /* int32/8 */
  bool raw = t->has_raw_data && t->raw_data.len > 0;
  if (raw && typed)
    return terr(t, "has both raw_data and typed data (onnx.proto allows one)", NULL);
  size_t n = (size_t)numel;
  if (raw ? t->raw_data.len != n * raw_es : typed != n)
    return cz_err_new(CZ_EXIT_RUNTIME, "tensor '%s': %zu %s for %lld elements of %zu bytes", nm,
                      raw ? t->raw_data.len : typed, raw ? "data bytes" : "data values",
                      (long long)numel, raw ? raw_es : (size_t)1);
  imp_const *c = imp_const_new(cdt, s, false);
  c->i32 = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = raw ? t->raw_data.data + i * raw_es : NULL;
    switch (dt) { /* raw_data is little-endian, as is every machine czoo runs on */
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
      float v;
      if (p) memcpy(&v, p, 4);
      else v = t->float_data[i];
      ((float *)c->data)[i] = v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
      double v;
      if (p) memcpy(&v, p, 8);
      else v = t->double_data[i];
      ((float *)c->data)[i] = (float)v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
      int64_t v;
      if (p) memcpy(&v, p, 8);
      else v = t->int64_data[i];
      ((int64_t *)c->data)[i] = v;
      break;
    }
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
      ((int8_t *)c->data)[i] = p ? (int8_t)*p : (int8_t)t->int32_data[i];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
      ((uint8_t *)c->data)[i] = p ? *p : (uint8_t)t->int32_data[i];
      break;
    default: {
      int32_t v;
      if (p) memcpy(&v, p, 4);
      else v = t->int32_data[i];
      ((int64_t *)c->data)[i] = v;
      break;
    }
    }
  }
  *out = c;
  return NULL;
}
