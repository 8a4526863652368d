/* Graph summary table (graph_summary.h). */
#include "graph/graph_summary.h"

#include <stdio.h>
#include <string.h>

#include "ops/op.h"
#include "util/strbuf.h"

static void thousands(char *buf, size_t size, int64_t v) {
  char raw[32];
  int n = snprintf(raw, sizeof raw, "%lld", (long long)v), k = 0;
  for (int i = 0; i < n && (size_t)k + 2 < size; i++) {
    if (i > 0 && (n - i) % 3 == 0 && raw[0] != '-') buf[k++] = ',';
    buf[k++] = raw[i];
  }
  buf[k] = '\0';
}

char *cz_graph_summary(const cz_graph *g) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  size_t w = 5;
  for (int i = 0; i < g->n_nodes; i++) {
    size_t l = strlen(g->nodes[i].name);
    if (l > w) w = l;
  }
  if (w > 48) w = 48;
  cz_sb_printf(&sb, "%-*s  %-20s %-20s %12s %14s\n", (int)w, "layer", "op", "output shape",
               "params", "MACC");
  int64_t tp = 0, tm = 0;
  char shape[CZ_SHAPE_STR_MAX], p[32], m[32];
  for (int i = 0; i < g->n_nodes; i++) {
    const cz_node *n = &g->nodes[i];
    int64_t params = 0;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && g->values[n->in[k]].kind == CZ_V_PARAM)
        params += cz_shape_numel(&g->values[n->in[k]].shape);
    int64_t macc = n->op->macc ? n->op->macc(g, n) : 0;
    tp += params;
    tm += macc;
    thousands(p, sizeof p, params);
    thousands(m, sizeof m, macc);
    cz_sb_printf(&sb, "%-*.*s  %-20s %-20s %12s %14s\n", (int)w, (int)w, n->name, n->op->name,
                 cz_shape_str(&g->values[n->out[0]].shape, shape, sizeof shape), p, m);
  }
  (void)tp;
  thousands(p, sizeof p, cz_graph_param_count(g));
  thousands(m, sizeof m, tm);
  char b[32];
  thousands(b, sizeof b, cz_graph_buffer_count(g));
  cz_sb_printf(&sb, "total: %s parameters, %s buffer elements, %s MACC\n", p, b, m);
  return cz_sb_take(&sb);
}
