/* Building ONNX protobuf messages (the protoc-c bindings generated from the
 * system's onnx.proto): every message, string and array the exporter makes
 * comes from one arena, freed at once after packing, so building a model
 * never has to unwind partial trees. Tensor data is referenced, not
 * copied: the arena must not outlive the graph it describes. */
#ifndef CZ_ONNX_ONNX_PROTO_H
#define CZ_ONNX_ONNX_PROTO_H
#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "tensor/tensor.h"

typedef struct {
  void **p;
  size_t n, cap;
} ox_arena;

void ox_arena_free(ox_arena *a);
/* Zeroed memory owned by the arena. */
void *ox_alloc(ox_arena *a, size_t bytes);
char *ox_strdup(ox_arena *a, const char *s);

/* A node with op_type, name and its input/output names (copied); "" names
 * an absent optional input. Attributes are appended with ox_attr_*. */
Onnx__NodeProto *ox_node(ox_arena *a, const char *op, const char *name, int n_in,
                         const char *const *in, int n_out, const char *const *out);
void ox_attr_int(ox_arena *a, Onnx__NodeProto *n, const char *name, int64_t v);
void ox_attr_float(ox_arena *a, Onnx__NodeProto *n, const char *name, float v);
void ox_attr_ints(ox_arena *a, Onnx__NodeProto *n, const char *name, int count,
                  const int64_t *v);
void ox_attr_floats(ox_arena *a, Onnx__NodeProto *n, const char *name, int count,
                    const float *v);
void ox_attr_string(ox_arena *a, Onnx__NodeProto *n, const char *name, const char *v);

/* An initializer holding `data` (row-major, little-endian raw_data; not
 * copied). */
Onnx__TensorProto *ox_tensor(ox_arena *a, const char *name, cz_dtype dt, const cz_shape *s,
                             const void *data);
/* A tensor value_info; dims[i] < 0 writes the symbolic dimension `param`. */
Onnx__ValueInfoProto *ox_value_info(ox_arena *a, const char *name, cz_dtype dt, int rank,
                                    const int64_t *dims, const char *param);
/* The ONNX TensorProto.DataType of a czoo element type. */
int32_t ox_data_type(cz_dtype dt);

/* Appends p to a (size_t n, T **v) array held in the arena. */
void ox_push(ox_arena *a, size_t *n, void ***v, void *p);
#endif
