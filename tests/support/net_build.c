/* Layer builders for test and benchmark networks (net_build.h). */
#include "net_build.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/mem.h"

int nb_unary(cz_graph *g, const char *op, int x, const char *name) {
  return cz_node_out(g, cz_graph_node(g, op, name, 1, &x, 1, NULL), 0);
}

int nb_add(cz_graph *g, int a, int b, const char *name) {
  int in[2] = {a, b};
  return cz_node_out(g, cz_graph_node(g, "Add", name, 2, in, 1, NULL), 0);
}

int nb_clip(cz_graph *g, int x, const char *name, float lo, float hi) {
  char *a = cz_asprintf("%s.min", name), *b = cz_asprintf("%s.max", name);
  int in[3] = {x, cz_graph_const(g, a, CZ_F32, (cz_shape){0}, &lo),
               cz_graph_const(g, b, CZ_F32, (cz_shape){0}, &hi)};
  free(a);
  free(b);
  return cz_node_out(g, cz_graph_node(g, "Clip", name, 3, in, 1, NULL), 0);
}

int nb_conv_bn_act(cz_graph *g, int x, const char *conv_name, const char *bn_name, int cin,
                   int cout, int k, int stride, int groups, nb_act act) {
  char *wn = cz_asprintf("%s.weight", conv_name);
  int w = cz_graph_param(g, wn, cz_shape4(cout, cin / groups, k, k), NULL);
  int in[2] = {x, w};
  int c = cz_graph_node(g, "Conv", conv_name, 2, in, 1, NULL);
  int64_t ks[2] = {k, k}, st[2] = {stride, stride}, p = (k - 1) / 2, pads[4] = {p, p, p, p};
  cz_node_set_ints(g, c, "kernel_shape", 2, ks);
  cz_node_set_ints(g, c, "strides", 2, st);
  cz_node_set_ints(g, c, "pads", 4, pads);
  cz_node_set_int(g, c, "group", groups);
  free(wn);
  float *ones = cz_xmalloc((size_t)cout * sizeof *ones);
  for (int i = 0; i < cout; i++) ones[i] = 1.0f;
  char *n1 = cz_asprintf("%s.weight", bn_name), *n2 = cz_asprintf("%s.bias", bn_name),
       *n3 = cz_asprintf("%s.running_mean", bn_name), *n4 = cz_asprintf("%s.running_var", bn_name);
  int bin[5] = {cz_node_out(g, c, 0), cz_graph_param(g, n1, cz_shape1(cout), ones),
                cz_graph_param(g, n2, cz_shape1(cout), NULL),
                cz_graph_buffer(g, n3, cz_shape1(cout), NULL),
                cz_graph_buffer(g, n4, cz_shape1(cout), ones)};
  int bn = cz_graph_node(g, "BatchNormalization", bn_name, 5, bin, 1, NULL);
  cz_node_set_float(g, bn, "epsilon", 1e-5f);
  cz_node_set_float(g, bn, "momentum", 0.9f);
  free(n1), free(n2), free(n3), free(n4), free(ones);
  int y = cz_node_out(g, bn, 0);
  char *an = cz_asprintf("%s.act", bn_name);
  if (act == NB_RELU) y = nb_unary(g, "Relu", y, an);
  if (act == NB_RELU6) y = nb_clip(g, y, an, 0.0f, 6.0f);
  free(an);
  return y;
}

int nb_linear(cz_graph *g, int x, const char *name, int in, int out) {
  char *wn = cz_asprintf("%s.weight", name), *bn = cz_asprintf("%s.bias", name);
  int ins[3] = {x, cz_graph_param(g, wn, cz_shape2(out, in), NULL),
                cz_graph_param(g, bn, cz_shape1(out), NULL)};
  int n = cz_graph_node(g, "Gemm", name, 3, ins, 1, NULL);
  cz_node_set_int(g, n, "transB", 1);
  free(wn);
  free(bn);
  return cz_node_out(g, n, 0);
}
