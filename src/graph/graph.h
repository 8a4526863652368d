/* The graph IR: values (tensors with a logical shape, an element type,
 * optional data and quantization parameters) and nodes (an ONNX op with
 * attributes). Every service is a pass over this one structure. Ownership:
 * the graph owns every value's name, data and qparams, and every node's
 * name, attributes and parsed private state. */
#ifndef CZ_GRAPH_GRAPH_H
#define CZ_GRAPH_GRAPH_H
#include <stdbool.h>
#include <stdint.h>

#include "tensor/tensor.h"
#include "util/err.h"

typedef struct cz_op cz_op;

typedef enum {
  CZ_V_INPUT,  /* fed by the caller each step (images, labels) */
  CZ_V_PARAM,  /* trained: has data, receives a gradient */
  CZ_V_BUFFER, /* state with data but no gradient (BatchNorm running stats) */
  CZ_V_CONST,  /* fixed data (shapes, constants of imported models) */
  CZ_V_ACT,    /* computed by a node */
} cz_vkind;

/* Per-tensor (n == 1) or per-axis quantization parameters. */
typedef struct {
  int n;
  int axis;
  cz_dtype qtype; /* CZ_I8 or CZ_U8 (CZ_I32 for biases) */
  float *scale;
  int32_t *zero_point;
} cz_qparams;

typedef struct {
  char *name;
  cz_vkind kind;
  cz_dtype dtype;
  cz_shape shape;   /* logical, ONNX order */
  cz_layout layout; /* NHWC for rank-4 float inputs/activations, else ROWMAJOR */
  void *data;       /* PARAM/BUFFER/CONST: owned, ROWMAJOR; else NULL */
  cz_qparams *q;    /* optional */
  int producer;     /* node index, or -1 */
  bool requires_grad; /* PARAM: true by default; INPUT: false unless set */
} cz_value;

typedef enum { CZ_A_INT, CZ_A_FLOAT, CZ_A_INTS, CZ_A_FLOATS, CZ_A_STRING } cz_atype;

typedef struct {
  char *name;
  cz_atype type;
  int64_t i;
  float f;
  int n;           /* element count of ints/floats */
  int64_t *ints;
  float *floats;
  char *s;
} cz_attr;

#define CZ_MAX_IO 8

typedef struct {
  char *name;
  const cz_op *op;
  int n_in, n_out;
  int in[CZ_MAX_IO];  /* value ids; -1: optional input left out */
  int out[CZ_MAX_IO];
  int n_attr;
  cz_attr *attr;
  void *priv; /* the op's parsed attributes (set by its infer), owned */
} cz_node;

typedef struct {
  char *name;
  cz_value *values;
  int n_values, cap_values;
  cz_node *nodes;
  int n_nodes, cap_nodes;
  int inputs[CZ_MAX_IO], n_inputs;
  int outputs[CZ_MAX_IO], n_outputs;
  bool training; /* train mode (BatchNorm batch statistics, dropout on) */
} cz_graph;

cz_graph *cz_graph_new(const char *name);
void cz_graph_free(cz_graph *g);

/* Values. Each returns the new value's id. Names must be unique (asserted:
 * builders choose them). Data is copied; NULL data means zeros. */
int cz_graph_input(cz_graph *g, const char *name, cz_dtype dt, cz_shape shape);
int cz_graph_param(cz_graph *g, const char *name, cz_shape shape, const float *data);
int cz_graph_buffer(cz_graph *g, const char *name, cz_shape shape, const float *data);
int cz_graph_const(cz_graph *g, const char *name, cz_dtype dt, cz_shape shape, const void *data);
void cz_graph_mark_output(cz_graph *g, int value);
int cz_graph_find_value(const cz_graph *g, const char *name);

/* Nodes. `op_name` must be in the op table (asserted: builders and the
 * ONNX importer check with cz_op_find first). Output values are created
 * with the given names, or "<node>.out<i>" / "<node>" when out_names is
 * NULL. Shapes are filled by cz_graph_infer. Returns the node id. */
int cz_graph_node(cz_graph *g, const char *op_name, const char *name, int n_in, const int *in,
                  int n_out, const char *const *out_names);
/* Output value id `i` of node `n`. */
static inline int cz_node_out(const cz_graph *g, int n, int i) { return g->nodes[n].out[i]; }

/* Attributes (replace an existing one of the same name). */
void cz_node_set_int(cz_graph *g, int node, const char *name, int64_t v);
void cz_node_set_float(cz_graph *g, int node, const char *name, float v);
void cz_node_set_ints(cz_graph *g, int node, const char *name, int n, const int64_t *v);
void cz_node_set_floats(cz_graph *g, int node, const char *name, int n, const float *v);
void cz_node_set_string(cz_graph *g, int node, const char *name, const char *v);
const cz_attr *cz_node_attr(const cz_node *n, const char *name);

/* The memory layout of value v once its dtype and shape are known: NHWC
 * for rank-4 float32/int8/uint8 graph inputs and computed values, except
 * a dequantized stored tensor (DequantizeLinear of an initializer: a
 * weight), which stays row-major like the weights; row-major otherwise. */
cz_layout cz_graph_layout_of(const cz_graph *g, int v);

/* True when a node is QuantizeLinear or DequantizeLinear: a quantized (QDQ)
 * graph, the test onnxruntime's quantizer makes (has_QDQ_nodes). */
bool cz_graph_has_qdq(const cz_graph *g);
/* True when a stored tensor (initializer) is int8 or uint8: the test the
 * tool we replace uses (model_is_quantized) to call a model quantized. */
bool cz_graph_is_quantized(const cz_graph *g);
/* Elements of the stored tensors DequantizeLinear nodes read: int8/uint8
 * (weights) and int32 (biases). */
void cz_graph_quantized_counts(const cz_graph *g, int64_t *w8, int64_t *b32);

/* Runs every op's shape rule in topological order (nodes must already be
 * in topological order: cz_graph_toposort makes them so). Errors name the
 * node, its op and the offending shapes or attribute values. */
cz_err *cz_graph_infer(cz_graph *g);
/* Reorders nodes topologically (stable: builder order where it is valid);
 * error on a cycle or an input that nothing produces. */
cz_err *cz_graph_toposort(cz_graph *g);
/* Changes the batch (dim 0) of every graph input, then re-infers. */
cz_err *cz_graph_set_batch(cz_graph *g, int64_t batch);
void cz_graph_set_training(cz_graph *g, bool on);

/* Parameter and buffer counts (elements). */
int64_t cz_graph_param_count(const cz_graph *g);
int64_t cz_graph_buffer_count(const cz_graph *g);
/* Multiply-accumulates of one forward pass at the current shapes. */
int64_t cz_graph_macc(const cz_graph *g);

/* An error about node `n`: "node 'name' (Op): <message>". */
cz_err *cz_node_err(const cz_graph *g, const cz_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attribute readers for an op's shape rule; each returns an error naming
 * the node when the attribute has the wrong type or count. */
cz_err *cz_attr_get_int(const cz_graph *g, const cz_node *n, const char *name, int64_t dflt,
                        int64_t *out);
cz_err *cz_attr_get_float(const cz_graph *g, const cz_node *n, const char *name, float dflt,
                          float *out);
/* ints: *count elements into out[0..max); absent: *count = 0. */
cz_err *cz_attr_get_ints(const cz_graph *g, const cz_node *n, const char *name, int max,
                         int64_t *out, int *count);
cz_err *cz_attr_get_string(const cz_graph *g, const cz_node *n, const char *name,
                           const char *dflt, const char **out);

#endif
