/* Conv + Clip fusion for inference (pass_fuse_act.h). The Conv node takes
 * over the Clip's output value (so graph output names stay), becomes a
 * FusedConv with the Clip's bounds as its min/max attributes, and the Clip
 * is left to the prune. */
#include "graph/pass_fuse_act.h"

#include <math.h>
#include <string.h>

#include "graph/graph_edit.h"
#include "ops/op.h"

static int uses(const cz_graph *g, int v) {
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] == v) n++;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) n++;
  return n;
}

/* A Clip bound: input slot i (a one-element float constant) or attribute
 * `name`, else `dflt`. False when the bound is not a known constant. */
static bool bound(const cz_graph *g, const cz_node *n, int i, const char *name, float dflt,
                  float *v) {
  const cz_attr *a = cz_node_attr(n, name);
  if (cz_has_in(n, i)) {
    const cz_value *b = &g->values[n->in[i]];
    if (a || b->kind != CZ_V_CONST || !b->data || b->dtype != CZ_F32 ||
        cz_shape_numel(&b->shape) != 1)
      return false;
    *v = *(const float *)b->data;
  } else if (a) {
    if (cz_attr_get_float(g, n, name, dflt, v)) return false; /* malformed: leave it */
  } else {
    *v = dflt;
  }
  return !isnan(*v);
}

static bool fuse_one(cz_graph *g, int ki, const cz_op *fused) {
  const cz_node *clip = &g->nodes[ki];
  if (strcmp(clip->op->name, "Clip") != 0 || clip->n_out != 1) return false;
  int x = clip->in[0];
  int ci = g->values[x].producer;
  if (ci < 0 || strcmp(g->nodes[ci].op->name, "Conv") != 0 || uses(g, x) != 1) return false;
  float lo, hi;
  if (!bound(g, clip, 1, "min", -INFINITY, &lo) || !bound(g, clip, 2, "max", INFINITY, &hi))
    return false;
  int y = clip->out[0];
  cz_node *c = &g->nodes[ci];
  c->op = fused;
  cz_node_set_float(g, ci, "min", lo);
  cz_node_set_float(g, ci, "max", hi);
  c = &g->nodes[ci]; /* setting attributes may move nodes */
  c->out[0] = y;
  g->values[y].producer = ci;
  g->values[x].producer = -1;
  g->nodes[ki].out[0] = x;
  return true;
}

cz_err *cz_pass_fuse_act(cz_graph *g, int *fused) {
  const cz_op *op = cz_op_find("FusedConv");
  int count = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (fuse_one(g, i, op)) count++;
  if (fused) *fused = count;
  cz_graph_prune(g);
  return cz_graph_infer(g);
}
