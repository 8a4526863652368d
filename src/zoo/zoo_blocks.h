/* timm's EfficientNet/MobileNet family described compactly: block strings
 * as timm writes them (`ir_r2_k3_s2_e6_c24`, `ds_r1_k3_s1_c16_noskip`,
 * `uir_r1_a5_k5_s2_e3_c96`, `cn_r1_k1_s1_c960`, `_se0.25`, `_nre`, ...),
 * decoded by zb_decode and assembled by zb_build into the graph with timm's
 * state_dict names (`conv_stem`, `bn1`, `blocks.<stage>.<i>.conv_pw`, ...,
 * `conv_head`, `bn2`/`norm_head`, `classifier`). Semantics follow timm
 * 1.0.31's models/_efficientnet_builder.py, _efficientnet_blocks.py,
 * efficientnet.py (EfficientNet) and mobilenetv3.py (MobileNetV3). */
#ifndef CZ_ZOO_ZOO_BLOCKS_H
#define CZ_ZOO_ZOO_BLOCKS_H
#include <stdbool.h>
#include <stddef.h>

#include "zoo/zoo.h"
#include "zoo/zoo_layers.h"

typedef enum { ZB_DS, ZB_DSA, ZB_IR, ZB_ER, ZB_CN, ZB_UIR } zb_type;

/* One decoded block string. */
typedef struct {
  zb_type type;
  int repeat, k, stride, cout;
  int a, p;   /* ir/er/ds: expansion / projection kernel (default 1);
               * uir: start / end depthwise kernel (default 0: none) */
  double exp; /* expansion ratio (1 where the type has none) */
  double se;  /* squeeze-excite ratio, 0: none */
  int skip;   /* -1: the type's rule, 0: `noskip`, 1: `skip` */
  zl_act act; /* ZL_NONE: the model's activation */
} zb_block;

/* Decodes one block string of `len` characters. Errors name the string and
 * the option (unknown type, missing r/k/s/c, an option czoo does not
 * build: mixed kernels, CondConv, grouped, attention, space-to-depth). */
cz_err *zb_decode(const char *s, size_t len, zb_block *b);

typedef enum {
  ZB_HEAD_EFFNET, /* conv_head, bn2 (+act), pool, dropout, classifier */
  ZB_HEAD_MNV3,   /* pool, conv_head, norm_head (+act) or bias + act2, dropout, classifier */
} zb_head;

/* A whole model. */
typedef struct {
  const char *arch;  /* stages separated by '|', blocks within by spaces */
  double width;      /* channel multiplier of round_channels */
  int stem;          /* stem channels before rounding */
  bool fix_stem;     /* keep the stem unrounded */
  int num_features;  /* head conv channels (as timm computes them) */
  zl_act act;        /* default activation */
  zb_head head;
  bool head_bias, head_norm; /* MNV3 head */
  bool se_from_exp;  /* SE reduction from the expanded channels (MNV3) or the input (EfficientNet) */
  float bn_eps, bn_momentum;
} zb_model;

/* timm's make_divisible(v, divisor, round_limit 0.9). */
int zb_make_divisible(double v, int divisor);
/* Builds the model; drop_rate < 0 means timm's default 0. */
cz_err *zb_build(cz_graph *g, const zb_model *m, const cz_zoo_opts *o, int input, int *logits);
#endif
