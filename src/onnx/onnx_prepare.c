/* Inference form for ONNX export (onnx_prepare.h). */
#include "onnx/onnx_prepare.h"

#include <stdlib.h>
#include <string.h>

#include "graph/graph_edit.h"
#include "graph/pass_fold_bn.h"
#include "ops/op.h"
#include "util/mem.h"

/* Dropout and DropPath are identities in inference: their users read the
 * input directly. */
static void drop_identities(cz_graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    const char *op = g->nodes[i].op->name;
    if (strcmp(op, "Dropout") == 0 || strcmp(op, "DropPath") == 0)
      cz_graph_replace_uses(g, g->nodes[i].out[0], g->nodes[i].in[0]);
  }
  cz_graph_prune(g);
}

static void rename_value(cz_graph *g, int v, const char *name) {
  free(g->values[v].name);
  g->values[v].name = cz_xstrdup(name);
}

/* The bias name a bias-less Conv would have had: "<w>.weight" -> "<w>.bias". */
static char *bias_name(const char *wname) {
  size_t n = strlen(wname);
  if (n > 7 && strcmp(wname + n - 7, ".weight") == 0)
    return cz_asprintf("%.*s.bias", (int)(n - 7), wname);
  return cz_asprintf("%s.bias", wname);
}

typedef struct {
  char *node, *weight, *bias; /* bias NULL: the Conv had none */
} conv_names;

cz_err *cz_onnx_prepare(const cz_graph *src, cz_graph **out) {
  *out = NULL;
  cz_graph *g = cz_graph_clone(src);
  cz_graph_set_training(g, false);
  drop_identities(g);
  conv_names *cv = cz_xcalloc((size_t)g->n_nodes + 1, sizeof *cv);
  int nc = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const cz_node *n = &g->nodes[i];
    if (strcmp(n->op->name, "Conv") != 0 || !cz_has_in(n, 1)) continue;
    cv[nc].node = cz_xstrdup(n->name);
    cv[nc].weight = cz_xstrdup(g->values[n->in[1]].name);
    cv[nc].bias = cz_has_in(n, 2) ? cz_xstrdup(g->values[n->in[2]].name) : NULL;
    nc++;
  }
  cz_err *e = cz_graph_infer(g);
  if (!e) e = cz_pass_fold_bn(g, NULL);
  /* Folded weights come as new values "<bn output>.folded_weight"; once
   * the originals are pruned, the Conv's own names are free again. */
  for (int k = 0; !e && k < nc; k++) {
    for (int i = 0; i < g->n_nodes; i++) {
      cz_node *n = &g->nodes[i];
      if (strcmp(n->name, cv[k].node) != 0 || strcmp(n->op->name, "Conv") != 0) continue;
      if (strcmp(g->values[n->in[1]].name, cv[k].weight) != 0 &&
          cz_graph_find_value(g, cv[k].weight) < 0)
        rename_value(g, n->in[1], cv[k].weight);
      if (cz_has_in(n, 2)) {
        char *bn = cv[k].bias ? cz_xstrdup(cv[k].bias) : bias_name(cv[k].weight);
        if (strcmp(g->values[n->in[2]].name, bn) != 0 && cz_graph_find_value(g, bn) < 0)
          rename_value(g, n->in[2], bn);
        free(bn);
      }
      break;
    }
  }
  for (int k = 0; k < nc; k++) free(cv[k].node), free(cv[k].weight), free(cv[k].bias);
  free(cv);
  if (e) {
    cz_graph_free(g);
    return cz_err_prefix(e, "ONNX export of '%s'", src->name);
  }
  *out = g;
  return NULL;
}
