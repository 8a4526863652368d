/* Small layer builders over the graph IR for tests and benchmarks
 * (the model zoo issue gives czoo its own): conv, batch norm, activations,
 * with PyTorch-style parameter names. */
#ifndef CZ_TEST_NET_BUILD_H
#define CZ_TEST_NET_BUILD_H
#include <stdbool.h>

#include "graph/graph.h"

typedef enum { NB_NONE, NB_RELU, NB_RELU6 } nb_act;

/* Conv (no bias) named `conv_name`.weight, followed by BatchNormalization
 * with `bn_name`.{weight,bias,running_mean,running_var} and an activation.
 * Weights are zero-filled (tests load or randomize them). Returns the
 * output value. */
int nb_conv_bn_act(cz_graph *g, int x, const char *conv_name, const char *bn_name, int cin,
                   int cout, int k, int stride, int groups, nb_act act);
/* Gemm with transB = 1: `name`.weight [out,in], `name`.bias [out]. */
int nb_linear(cz_graph *g, int x, const char *name, int in, int out);
int nb_unary(cz_graph *g, const char *op, int x, const char *name);
int nb_add(cz_graph *g, int a, int b, const char *name);
int nb_clip(cz_graph *g, int x, const char *name, float lo, float hi);
#endif
