/* Shared state of the ONNX importer (onnx_import*.c): the names of the
 * file's values (initializers, graph inputs, node outputs) mapped to what
 * czoo knows about each: a graph value, a constant held on the host (shape
 * arithmetic is folded on these), or both. Not a public interface. */
#ifndef CZ_ONNX_ONNX_IMPORT_PRIV_H
#define CZ_ONNX_ONNX_IMPORT_PRIV_H
#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "onnx.pb-c.h"
#include "util/err.h"

/* Bounds on what a file may declare (hostile input). */
#define IMP_MAX_FILE_BYTES ((size_t)1 << 31)
#define IMP_MAX_NODES 100000
#define IMP_MAX_TENSORS 100000
#define IMP_MAX_NODE_IO 64         /* inputs of one node (Concat of shape pieces) */
#define IMP_MAX_ELEMS ((int64_t)1 << 31)
#define IMP_MAX_INPUT_DIM ((int64_t)1 << 20)
#define IMP_MAX_INPUT_ELEMS ((int64_t)1 << 28) /* one sample */
#define IMP_MAX_ATTR_INT ((int64_t)1 << 24)     /* |integer attribute|, pads, split sizes */
#define IMP_MAX_FOLD_ELEMS ((int64_t)1 << 24)  /* a folded (shape-arithmetic) result */
#define IMP_OPSET_MIN 7
#define IMP_OPSET_MAX 20

/* A host constant: f32 or i64 (int8 / uint8 for quantized tensors, which
 * only QuantizeLinear / DequantizeLinear may read), row-major. batch[i] != 0 marks an i64
 * element that stands for the symbolic batch dimension (it came from
 * Shape of a computed value), so Reshape can keep the batch dynamic. */
typedef struct {
  cz_dtype dt;
  cz_shape shape;
  void *data;
  uint8_t *batch; /* NULL: no element is the batch */
  bool i32;       /* an INT32 tensor held as i64 (a DequantizeLinear bias wants it back) */
} imp_const;

typedef struct {
  char *name;
  int value;      /* graph value id, or -1 */
  imp_const *c;   /* host constant, or NULL */
  bool from_init; /* an initializer: float ones become parameters */
} imp_name;

typedef struct {
  cz_graph *g;
  int opset;
  imp_name *tab; /* open-addressing hash table of names */
  size_t cap, count;
  int inferred; /* nodes [0, inferred) have been shape-inferred */
  int n_made; /* counter for names the importer makes up */
} imp;

imp_name *imp_lookup(imp *m, const char *name);
/* The entry for `name`, created empty (value -1, c NULL) when absent. */
imp_name *imp_intern(imp *m, const char *name);
void imp_free_names(imp *m);
void imp_const_free(imp_const *c);
imp_const *imp_const_new(cz_dtype dt, cz_shape s, bool tags);

/* A TensorProto as a host constant; errors name the tensor (bounded:
 * dims, element count, data length, raw vs typed data, external data). */
cz_err *imp_tensor(const Onnx__TensorProto *t, imp_const **out);

/* Imports one node (inputs already known: nodes arrive in dependency
 * order). */
cz_err *imp_node(imp *m, const Onnx__NodeProto *np, int index);
/* Runs shape inference if nodes were added since the last run. */
cz_err *imp_infer(imp *m);
#endif
