/* BatchNormalization folding into Conv (pass_fold_bn.h). With
 * a = scale / sqrt(var + eps) per output channel m:
 *   W'[m] = a[m] * W[m],  b'[m] = a[m] * (b[m] - mean[m]) + B[m],
 * computed in double. Folded weights are new values, of the original
 * weight's kind, named after the BatchNormalization's output value (unique,
 * unlike node names): "<y>.folded_weight", "<y>.folded_bias"; the
 * originals stay intact for anyone else who reads them. The Conv takes
 * over the BatchNormalization's output value, so graph output names stay. */
#include "graph/pass_fold_bn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_edit.h"
#include "ops/op.h"
#include "util/mem.h"

static bool has_data(const cz_graph *g, int v) {
  return v >= 0 && g->values[v].data && g->values[v].dtype == CZ_F32 &&
         g->values[v].kind != CZ_V_ACT && g->values[v].kind != CZ_V_INPUT;
}

static int uses(const cz_graph *g, int v) {
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] == v) n++;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) n++;
  return n;
}

/* Folds BatchNormalization node `bi` into its producer Conv if eligible. */
static bool fold_one(cz_graph *g, int bi) {
  const cz_node *bn = &g->nodes[bi];
  if (strcmp(bn->op->name, "BatchNormalization") != 0 || bn->n_in != 5) return false;
  int x = bn->in[0];
  int ci = g->values[x].producer;
  if (ci < 0 || strcmp(g->nodes[ci].op->name, "Conv") != 0 || uses(g, x) != 1) return false;
  for (int k = 1; k < 5; k++)
    if (!has_data(g, bn->in[k])) return false;
  const cz_node *conv = &g->nodes[ci];
  int w = conv->in[1], b = cz_has_in(conv, 2) ? conv->in[2] : -1;
  if (!has_data(g, w) || (b >= 0 && !has_data(g, b))) return false;
  const cz_value *wv = &g->values[w];
  if (wv->shape.rank < 1 || wv->shape.d[0] <= 0) return false;
  int64_t M = wv->shape.d[0], per = cz_shape_numel(&wv->shape) / M;
  for (int k = 1; k < 5; k++)
    if (cz_shape_numel(&g->values[bn->in[k]].shape) != M) return false;
  if (b >= 0 && cz_shape_numel(&g->values[b].shape) != M) return false;
  float eps;
  cz_err *e = cz_attr_get_float(g, bn, "epsilon", 1e-5f, &eps);
  if (e) {
    cz_err_free(e);
    return false;
  }
  const float *scale = g->values[bn->in[1]].data, *shift = g->values[bn->in[2]].data;
  const float *mean = g->values[bn->in[3]].data, *var = g->values[bn->in[4]].data;
  const float *bias = b >= 0 ? g->values[b].data : NULL;
  const float *wdata = wv->data;
  float *nw = cz_xmalloc((size_t)(M * per) * sizeof *nw);
  float *nb = cz_xmalloc((size_t)M * sizeof *nb);
  for (int64_t m = 0; m < M; m++) {
    double a = scale[m] / sqrt((double)var[m] + eps);
    for (int64_t i = 0; i < per; i++) nw[m * per + i] = (float)(a * wdata[m * per + i]);
    nb[m] = (float)(a * ((bias ? bias[m] : 0.0) - mean[m]) + shift[m]);
  }
  int y = bn->out[0];
  char *wn = cz_asprintf("%s.folded_weight", g->values[y].name);
  char *bname = cz_asprintf("%s.folded_bias", g->values[y].name);
  cz_shape ws = wv->shape;
  bool param = wv->kind == CZ_V_PARAM;
  int nwv = param ? cz_graph_param(g, wn, ws, nw) : cz_graph_const(g, wn, CZ_F32, ws, nw);
  int nbv = param ? cz_graph_param(g, bname, cz_shape1(M), nb)
                  : cz_graph_const(g, bname, CZ_F32, cz_shape1(M), nb);
  free(wn), free(bname), free(nw), free(nb);
  cz_node *c = &g->nodes[ci];
  c->in[1] = nwv;
  c->in[2] = nbv;
  if (c->n_in < 3) c->n_in = 3;
  /* The Conv now produces the BatchNormalization's output value; the BN
   * and the Conv's old output are left to the prune. */
  c->out[0] = y;
  g->values[y].producer = ci;
  g->values[x].producer = -1;
  g->nodes[bi].out[0] = x;
  g->values[x].kind = CZ_V_ACT;
  return true;
}

cz_err *cz_pass_fold_bn(cz_graph *g, int *folded) {
  int count = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (fold_one(g, i)) count++;
  if (folded) *folded = count;
  cz_graph_prune(g);
  return cz_graph_infer(g);
}
