/* ONNX message construction on an arena (onnx_proto.h). */
#include "onnx/onnx_proto.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void ox_arena_free(ox_arena *a) {
  for (size_t i = 0; i < a->n; i++) free(a->p[i]);
  free(a->p);
  a->p = NULL;
  a->n = a->cap = 0;
}

void *ox_alloc(ox_arena *a, size_t bytes) {
  if (a->n == a->cap) {
    a->cap = a->cap ? 2 * a->cap : 256;
    a->p = cz_xrealloc(a->p, a->cap * sizeof *a->p);
  }
  void *p = cz_xcalloc(1, bytes ? bytes : 1);
  a->p[a->n++] = p;
  return p;
}

char *ox_strdup(ox_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ox_alloc(a, n);
  memcpy(d, s, n);
  return d;
}

/* Arrays grow by doubling at powers of two, so the capacity is implied by n. */
void ox_push(ox_arena *a, size_t *n, void ***v, void *p) {
  if ((*n & (*n - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
    size_t cap = *n ? 2 * *n : 1;
    void **nv = ox_alloc(a, cap * sizeof *nv);
    if (*n) memcpy(nv, *v, *n * sizeof *nv);
    *v = nv;
  }
  (*v)[(*n)++] = p;
}

Onnx__NodeProto *ox_node(ox_arena *a, const char *op, const char *name, int n_in,
                         const char *const *in, int n_out, const char *const *out) {
  Onnx__NodeProto *n = ox_alloc(a, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = ox_strdup(a, op);
  n->name = ox_strdup(a, name);
  n->n_input = (size_t)n_in;
  n->input = ox_alloc(a, (size_t)n_in * sizeof *n->input);
  for (int i = 0; i < n_in; i++) n->input[i] = ox_strdup(a, in[i]);
  n->n_output = (size_t)n_out;
  n->output = ox_alloc(a, (size_t)n_out * sizeof *n->output);
  for (int i = 0; i < n_out; i++) n->output[i] = ox_strdup(a, out[i]);
  return n;
}

static Onnx__AttributeProto *new_attr(ox_arena *a, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType t) {
  Onnx__AttributeProto *at = ox_alloc(a, sizeof *at);
  onnx__attribute_proto__init(at);
  at->name = ox_strdup(a, name);
  at->has_type = 1;
  at->type = t;
  ox_push(a, &n->n_attribute, (void ***)&n->attribute, at);
  return at;
}

void ox_attr_int(ox_arena *a, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *at = new_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  at->has_i = 1;
  at->i = v;
}

void ox_attr_float(ox_arena *a, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *at = new_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  at->has_f = 1;
  at->f = v;
}

void ox_attr_ints(ox_arena *a, Onnx__NodeProto *n, const char *name, int count,
                  const int64_t *v) {
  Onnx__AttributeProto *at = new_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  at->n_ints = (size_t)count;
  at->ints = ox_alloc(a, (size_t)count * sizeof *at->ints);
  if (count) memcpy(at->ints, v, (size_t)count * sizeof *at->ints);
}

void ox_attr_floats(ox_arena *a, Onnx__NodeProto *n, const char *name, int count,
                    const float *v) {
  Onnx__AttributeProto *at =
      new_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  at->n_floats = (size_t)count;
  at->floats = ox_alloc(a, (size_t)count * sizeof *at->floats);
  if (count) memcpy(at->floats, v, (size_t)count * sizeof *at->floats);
}

void ox_attr_string(ox_arena *a, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *at =
      new_attr(a, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  at->has_s = 1;
  at->s.len = strlen(v);
  at->s.data = (uint8_t *)ox_strdup(a, v);
}

int32_t ox_data_type(cz_dtype dt) {
  switch (dt) {
  case CZ_F32: return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  case CZ_I64: return ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  case CZ_I32: return ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
  case CZ_I8: return ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
  case CZ_U8: return ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
  }
  return ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED;
}

Onnx__TensorProto *ox_tensor(ox_arena *a, const char *name, cz_dtype dt, const cz_shape *s,
                             const void *data) {
  Onnx__TensorProto *t = ox_alloc(a, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = ox_strdup(a, name);
  t->has_data_type = 1;
  t->data_type = ox_data_type(dt);
  t->n_dims = (size_t)s->rank;
  t->dims = ox_alloc(a, (size_t)s->rank * sizeof *t->dims);
  for (int i = 0; i < s->rank; i++) t->dims[i] = s->d[i];
  t->has_raw_data = 1;
  /* raw_data is little-endian; czoo's tensors are host order (x86, arm64). */
  t->raw_data.len = (size_t)cz_shape_numel(s) * cz_dtype_size(dt);
  t->raw_data.data = (uint8_t *)data;
  return t;
}

Onnx__ValueInfoProto *ox_value_info(ox_arena *a, const char *name, cz_dtype dt, int rank,
                                    const int64_t *dims, const char *param) {
  Onnx__ValueInfoProto *v = ox_alloc(a, sizeof *v);
  onnx__value_info_proto__init(v);
  v->name = ox_strdup(a, name);
  Onnx__TypeProto *tp = ox_alloc(a, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = ox_alloc(a, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = ox_data_type(dt);
  Onnx__TensorShapeProto *sh = ox_alloc(a, sizeof *sh);
  onnx__tensor_shape_proto__init(sh);
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = ox_alloc(a, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (dims[i] < 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = ox_strdup(a, param);
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    }
    ox_push(a, &sh->n_dim, (void ***)&sh->dim, d);
  }
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->type = tp;
  return v;
}
