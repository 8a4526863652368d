/* Layer builders shared by the zoo's families: each adds the ONNX nodes of
 * one PyTorch module to the graph, with the module's state_dict names
 * (`<name>.weight`, `<name>.running_mean`, ...), and records the channel
 * count of every value it makes so builders never pass `in_channels`.
 * Names are printf formats. Activation and pooling nodes have no
 * parameters; their node names only need to be unique. */
#ifndef CZ_ZOO_ZOO_LAYERS_H
#define CZ_ZOO_ZOO_LAYERS_H
#include <stdbool.h>

#include "graph/graph.h"
#include "zoo/zoo.h"

typedef struct {
  cz_graph *g;
  const cz_zoo_opts *o;
  float bn_eps;      /* PyTorch's eps for every zl_bn */
  float bn_momentum; /* PyTorch's momentum (ONNX's is 1 - this) */
  int *ch;           /* channels of each value id (0: unknown) */
  int ch_cap;
  int uniq;          /* counter for generated node names */
  char namebuf[96];
} zl_ctx;

/* bn_eps/bn_momentum: the family's defaults, replaced by o's when set. */
void zl_init(zl_ctx *c, cz_graph *g, const cz_zoo_opts *o, int input, float bn_eps,
             float bn_momentum);
void zl_free(zl_ctx *c);
int zl_channels(const zl_ctx *c, int value);
void zl_set_channels(zl_ctx *c, int value, int ch);

typedef struct {
  int cout;
  int k;        /* square kernel */
  int stride;   /* 0 means 1 */
  int pad;      /* < 0: ((k - 1) / 2) * dilation, PyTorch's "same" for odd k */
  int groups;   /* 0 means 1 */
  int dilation; /* 0 means 1 */
  bool bias;
} zl_conv_spec;

typedef enum { ZL_NONE, ZL_RELU, ZL_RELU6, ZL_HSWISH, ZL_HSIGMOID, ZL_SIGMOID, ZL_SILU } zl_act;

/* Conv2d `<name>.weight` [cout, cin/groups, k, k] (+ `<name>.bias`). */
int zl_conv(zl_ctx *c, int x, zl_conv_spec s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* BatchNorm2d `<name>.{weight,bias,running_mean,running_var}`. */
int zl_bn(zl_ctx *c, int x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Activation node named `<name>` (ZL_NONE returns x). Hardsigmoid is
 * PyTorch's (alpha 1/6), ReLU6 a Clip(0, 6). */
int zl_act_node(zl_ctx *c, int x, zl_act a, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Linear `<name>.weight` [out, in], `<name>.bias` [out] (Gemm, transB). */
int zl_linear(zl_ctx *c, int x, int out, bool bias, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int zl_add(zl_ctx *c, int a, int b);
int zl_mul(zl_ctx *c, int a, int b); /* broadcasting, e.g. squeeze-excite */
int zl_concat(zl_ctx *c, int n, const int *xs); /* along channels */
int zl_global_avgpool(zl_ctx *c, int x);        /* [N,C,1,1] */
int zl_flatten(zl_ctx *c, int x);               /* [N,C] */
int zl_maxpool(zl_ctx *c, int x, int k, int stride, int pad, bool ceil_mode);
int zl_avgpool(zl_ctx *c, int x, int k, int stride, int pad, bool ceil_mode,
               bool count_include_pad);
/* Dropout with ratio p (p <= 0 returns x). */
int zl_dropout(zl_ctx *c, int x, float p);
/* timm's stochastic depth on a residual branch (p <= 0 returns x). */
int zl_drop_path(zl_ctx *c, int x, float p);
/* A unique node name "<stem>_<n>" owned by the graph's caller: returns a
 * pointer into a static-size buffer inside the context. */
const char *zl_name(zl_ctx *c, const char *stem);

/* Weight-initialization laws of the references, for a family's
 * cz_zoo_entry.init. Conv laws apply to every Conv weight, linear laws to
 * every Gemm weight; biases are zero unless the law says otherwise;
 * BatchNorm keeps weight 1, bias 0, mean 0, var 1. */
typedef enum {
  ZL_INIT_HE_FANOUT,        /* normal(0, sqrt(2 / (out*kh*kw))): kaiming_normal_(fan_out) */
  ZL_INIT_HE_FANOUT_GROUP,  /* normal(0, sqrt(2 / (out*kh*kw / groups))): timm's _init_weight_goog */
  ZL_INIT_TORCH_DEFAULT,    /* weight and bias uniform(+-1/sqrt(fan_in)): PyTorch's reset_parameters */
  ZL_INIT_NORMAL_001,       /* normal(0, 0.01) (torchvision's Linear) */
  ZL_INIT_UNIFORM_FANOUT,   /* uniform(+-1/sqrt(out)): timm's Linear */
  ZL_INIT_UNIFORM_3_FANOUT, /* uniform(+-sqrt(3/out)): kaiming_uniform_(fan_out, sigmoid) */
} zl_init_law;

/* Draws every Conv and Gemm parameter of g by the given laws, one Philox
 * stream per parameter keyed by its value id (so a model's initial weights
 * depend only on its seed). */
void zl_init_weights(cz_graph *g, uint64_t seed, zl_init_law conv, zl_init_law linear);
#endif

/* ---- Fixed-size pooling heads (pytorchcv, ST's MobileNetV1). ---- */

/* The spatial size [h, w] of value x, from shape inference over the graph
 * built so far (builders add nodes in topological order). */
cz_err *zl_spatial(zl_ctx *c, int x, int *h, int *w);
/* PyTorch's AvgPool2d(k, stride) feeding a flatten that expects one value
 * per channel, as pytorchcv's `final_pool` and ST's MobileNetV1 use: the
 * reference only works where the pool leaves a 1x1 map (k <= map < k +
 * stride; a larger map averages its top-left k x k window, as PyTorch
 * does). Any other map is an error naming the map, the pool and
 * `accepted`, the input sizes the reference model takes. */
cz_err *zl_fixed_avgpool(zl_ctx *c, int x, int k, int stride, const char *accepted, int *out);
