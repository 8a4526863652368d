/* Split (ONNX): cuts the input along `axis` into the node's outputs. Sizes
 * come from the constant int64 input `split` (opset 13+), or the `split`
 * attribute (before 13), or num_outputs (opset 18: parts of ceil(d/n), the
 * last smaller), or else equal parts. Backward concatenates the output
 * gradients. MACC 0: pure data movement. */
#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"
#include "util/mem.h"

typedef struct {
  int axis;
} split_priv;

static cz_err *split_sizes(const cz_graph *g, const cz_node *n, int a, int64_t *sz) {
  const cz_value *x = cz_in_value(g, n, 0);
  int64_t d = x->shape.d[a], v[CZ_MAX_IO], num = 0;
  int count, k = n->n_out;
  char s[CZ_SHAPE_STR_MAX], l[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x->shape, s, sizeof s);
  cz_err *e = cz_op_const_ints(g, n, 1, "split", CZ_MAX_IO, v, &count);
  if (e) return e;
  bool has_attr = cz_node_attr(n, "split") != NULL;
  bool has_num = cz_node_attr(n, "num_outputs") != NULL;
  if (has_attr) {
    if (count >= 0)
      return cz_node_err(g, n, "split is given both as an input and as an attribute");
    e = cz_attr_get_ints(g, n, "split", CZ_MAX_IO, v, &count);
    if (e) return e;
  }
  if (count >= 0 && has_num)
    return cz_node_err(g, n, "split and num_outputs are both given");
  if (count >= 0) {
    cz_op_ints_str(v, count, l, sizeof l);
    if (count != k) return cz_node_err(g, n, "split %s has %d values for %d outputs", l, count, k);
    int64_t sum = 0;
    for (int i = 0; i < k; i++) {
      if (v[i] < 0) return cz_node_err(g, n, "split %s has a negative size", l);
      sum += v[i];
      sz[i] = v[i];
    }
    if (sum != d)
      return cz_node_err(g, n, "split %s sums to %lld, but axis %d of input '%s' of shape %s is %lld",
                         l, (long long)sum, a, x->name, s, (long long)d);
    return NULL;
  }
  if (has_num) {
    e = cz_attr_get_int(g, n, "num_outputs", 0, &num);
    if (e) return e;
    if (num != k)
      return cz_node_err(g, n, "num_outputs is %lld, but the node has %d outputs", (long long)num,
                         k);
    int64_t chunk = (d + k - 1) / k, last = d - chunk * (k - 1);
    if (last < 0)
      return cz_node_err(g, n, "axis %d of input '%s' of shape %s (%lld) is too short for %d parts of %lld",
                         a, x->name, s, (long long)d, k, (long long)chunk);
    for (int i = 0; i < k; i++) sz[i] = i == k - 1 ? last : chunk;
    return NULL;
  }
  if (d % k != 0)
    return cz_node_err(g, n, "axis %d of input '%s' of shape %s (%lld) does not split into %d equal parts",
                       a, x->name, s, (long long)d, k);
  for (int i = 0; i < k; i++) sz[i] = d / k;
  return NULL;
}

static cz_err *split_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  int64_t axis, sz[CZ_MAX_IO];
  int a;
  cz_err *e = cz_attr_get_int(g, n, "axis", 0, &axis);
  if (!e) e = cz_op_axis(g, n, 0, "axis", axis, false, &a);
  if (!e) e = split_sizes(g, n, a, sz);
  if (e) return e;
  for (int i = 0; i < n->n_out; i++) {
    cz_value *y = cz_out_value(g, n, i);
    y->dtype = x->dtype;
    y->shape = x->shape;
    y->shape.d[a] = sz[i];
  }
  split_priv *p = cz_xcalloc(1, sizeof *p);
  p->axis = a;
  n->priv = p;
  return NULL;
}

static void split_forward(cz_kctx *k) {
  const split_priv *p = k->node->priv;
  cz_mv_parts(&k->in[0], k->out, k->node->n_out, p->axis, false, NULL, k->reference);
}

/* The input gradient is the concatenation of the output gradients. */
static void split_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  const split_priv *p = k->node->priv;
  bool add[CZ_MAX_IO];
  for (int i = 0; i < k->node->n_out; i++) add[i] = k->gin_acc[0];
  cz_mv_parts(&k->gin[0], k->gout, k->node->n_out, p->axis, true, add, k->reference);
}

static const char *const split_attrs[] = {"axis", "split", "num_outputs", NULL};

const cz_op cz_op_Split = {
    .name = "Split", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = CZ_MAX_IO,
    .attrs = split_attrs, .infer = split_infer, .forward = split_forward,
    .backward = split_backward,
};
