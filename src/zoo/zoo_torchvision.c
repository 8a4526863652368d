/* The zoo's torchvision models with torchvision's state_dict names:
 * MobileNetV2 (any width; ST's mobilenetv2_w035_pt is width 0.35),
 * MNASNet (mnasnet0_5) and ShuffleNetV2 (x0.5, x1.0). Architecture facts
 * from torchvision 0.14's mobilenetv2.py, mnasnet.py and shufflenetv2.py;
 * the code is czoo's own. The classifier dropout of MobileNetV2 and MNASNet
 * defaults to torchvision's 0.2; ShuffleNetV2 has none, and none of the
 * three has stochastic depth, so drop_path_rate is not used (the tool we
 * replace passes drop rates to timm models only). */
#include <stdio.h>

#include "zoo/zoo_blocks.h"
#include "zoo/zoo_family.h"
#include "zoo/zoo_layers.h"

typedef enum { TV_MBV2, TV_MNASNET, TV_SHUFFLE } tv_kind;

typedef struct {
  tv_kind kind;
  double width;      /* MobileNetV2 width_mult, MNASNet alpha */
  int repeats[3];    /* ShuffleNetV2 stages_repeats */
  int channels[5];   /* ShuffleNetV2 stages_out_channels */
} tv_variant;

static int conv_bn_act(zl_ctx *c, int x, zl_conv_spec s, zl_act a, const char *conv,
                       const char *bn) {
  x = zl_bn(c, zl_conv(c, x, s, "%s", conv), "%s", bn);
  return zl_act_node(c, x, a, "%s.act", bn);
}

static float dropout_of(const cz_zoo_opts *o) { return o->drop_rate < 0 ? 0.2f : o->drop_rate; }

/* MobileNetV2: features.0 stem (Conv2dNormActivation: .0 conv, .1 bn),
 * features.1.. InvertedResidual (t, c, n, s) blocks with `.conv.<i>`,
 * the last features.N 1x1 to max(1280, 1280 * width), classifier.0
 * Dropout, classifier.1 Linear. Channels rounded by _make_divisible(8). */
static cz_err *build_mbv2(zl_ctx *c, const tv_variant *v, const cz_zoo_opts *o, int x,
                          int *logits) {
  static const int table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int cin = zb_make_divisible(32 * v->width, 8);
  int last = zb_make_divisible(1280 * (v->width > 1.0 ? v->width : 1.0), 8);
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = cin, .k = 3, .stride = 2, .pad = 1}, ZL_RELU6,
                  "features.0.0", "features.0.1");
  int f = 1;
  char a[64], b[64];
  for (int s = 0; s < 7; s++) {
    int t = table[s][0], cout = zb_make_divisible(table[s][1] * v->width, 8);
    for (int i = 0; i < table[s][2]; i++, f++) {
      int stride = i == 0 ? table[s][3] : 1, hidden = cin * t, y = x, l = 0;
      if (t != 1) {
        snprintf(a, sizeof a, "features.%d.conv.0.0", f);
        snprintf(b, sizeof b, "features.%d.conv.0.1", f);
        y = conv_bn_act(c, y, (zl_conv_spec){.cout = hidden, .k = 1, .pad = 0}, ZL_RELU6, a, b);
        l = 1;
      }
      snprintf(a, sizeof a, "features.%d.conv.%d.0", f, l);
      snprintf(b, sizeof b, "features.%d.conv.%d.1", f, l);
      zl_conv_spec dw = {.cout = hidden, .k = 3, .stride = stride, .pad = 1, .groups = hidden};
      y = conv_bn_act(c, y, dw, ZL_RELU6, a, b);
      snprintf(a, sizeof a, "features.%d.conv.%d", f, l + 1);
      snprintf(b, sizeof b, "features.%d.conv.%d", f, l + 2);
      y = conv_bn_act(c, y, (zl_conv_spec){.cout = cout, .k = 1, .pad = 0}, ZL_NONE, a, b);
      x = stride == 1 && cin == cout ? zl_add(c, x, y) : y;
      cin = cout;
    }
  }
  snprintf(a, sizeof a, "features.%d.0", f);
  snprintf(b, sizeof b, "features.%d.1", f);
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = last, .k = 1, .pad = 0}, ZL_RELU6, a, b);
  x = zl_flatten(c, zl_global_avgpool(c, x));
  x = zl_dropout(c, x, dropout_of(o));
  *logits = zl_linear(c, x, o->num_classes, true, "classifier.1");
  return NULL;
}

/* MNASNet (B1): one Sequential `layers` (stem conv/bn/relu, depthwise
 * conv/bn/relu, 1x1 conv/bn, six stacks of _InvertedResidual whose own
 * `layers` are conv/bn/relu, dw conv/bn/relu, conv/bn, then a 1x1 conv to
 * 1280, bn, relu), mean over H,W, classifier.0 Dropout, classifier.1
 * Linear. Depths rounded by _round_to_multiple_of(8, bias 0.9). */
static cz_err *build_mnasnet(zl_ctx *c, const tv_variant *v, const cz_zoo_opts *o, int x,
                             int *logits) {
  static const int base[8] = {32, 16, 24, 40, 80, 96, 192, 320};
  static const int stacks[6][4] = {{3, 2, 3, 3}, {5, 2, 3, 3}, {5, 2, 6, 3},
                                   {3, 1, 6, 2}, {5, 2, 6, 4}, {3, 1, 6, 1}}; /* k, s, e, n */
  int d[8];
  for (int i = 0; i < 8; i++) d[i] = zb_make_divisible(base[i] * v->width, 8);
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = d[0], .k = 3, .stride = 2, .pad = 1}, ZL_RELU,
                  "layers.0", "layers.1");
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = d[0], .k = 3, .pad = 1, .groups = d[0]}, ZL_RELU,
                  "layers.3", "layers.4");
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = d[1], .k = 1, .pad = 0}, ZL_NONE, "layers.6",
                  "layers.7");
  char p[64], a[80], b[80];
  for (int s = 0; s < 6; s++) {
    int k = stacks[s][0], e = stacks[s][2];
    for (int i = 0; i < stacks[s][3]; i++) {
      int cin = zl_channels(c, x), cout = d[s + 2], stride = i == 0 ? stacks[s][1] : 1;
      int mid = cin * e;
      snprintf(p, sizeof p, "layers.%d.%d.layers", 8 + s, i);
      snprintf(a, sizeof a, "%s.0", p), snprintf(b, sizeof b, "%s.1", p);
      int y = conv_bn_act(c, x, (zl_conv_spec){.cout = mid, .k = 1, .pad = 0}, ZL_RELU, a, b);
      snprintf(a, sizeof a, "%s.3", p), snprintf(b, sizeof b, "%s.4", p);
      zl_conv_spec dw = {.cout = mid, .k = k, .stride = stride, .pad = k / 2, .groups = mid};
      y = conv_bn_act(c, y, dw, ZL_RELU, a, b);
      snprintf(a, sizeof a, "%s.6", p), snprintf(b, sizeof b, "%s.7", p);
      y = conv_bn_act(c, y, (zl_conv_spec){.cout = cout, .k = 1, .pad = 0}, ZL_NONE, a, b);
      x = cin == cout && stride == 1 ? zl_add(c, y, x) : y;
    }
  }
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = 1280, .k = 1, .pad = 0}, ZL_RELU, "layers.14",
                  "layers.15");
  x = zl_flatten(c, zl_global_avgpool(c, x));
  x = zl_dropout(c, x, dropout_of(o));
  *logits = zl_linear(c, x, o->num_classes, true, "classifier.1");
  return NULL;
}

/* ShuffleNetV2's channel_shuffle(x, 2) on [N, C, H, W]: view as
 * [N, 2, C/2, H, W], swap axes 1 and 2, view back. */
static int channel_shuffle(zl_ctx *c, int x, int h, int w, const char *name) {
  int ch = zl_channels(c, x);
  int64_t s5[5] = {0, 2, ch / 2, h, w}, s4[4] = {0, ch, h, w}, perm[5] = {0, 2, 1, 3, 4};
  char n[96];
  snprintf(n, sizeof n, "%s.shuffle.shape5", name);
  int in[2] = {x, cz_graph_const(c->g, n, CZ_I64, cz_shape1(5), s5)};
  snprintf(n, sizeof n, "%s.shuffle.view", name);
  int y = cz_node_out(c->g, cz_graph_node(c->g, "Reshape", n, 2, in, 1, NULL), 0);
  snprintf(n, sizeof n, "%s.shuffle.transpose", name);
  int t = cz_graph_node(c->g, "Transpose", n, 1, &y, 1, NULL);
  cz_node_set_ints(c->g, t, "perm", 5, perm);
  snprintf(n, sizeof n, "%s.shuffle.shape4", name);
  in[0] = cz_node_out(c->g, t, 0);
  in[1] = cz_graph_const(c->g, n, CZ_I64, cz_shape1(4), s4);
  snprintf(n, sizeof n, "%s.shuffle", name);
  y = cz_node_out(c->g, cz_graph_node(c->g, "Reshape", n, 2, in, 1, NULL), 0);
  zl_set_channels(c, y, ch);
  return y;
}

/* PyTorch's output size of a k3 / stride 2 / pad 1 conv or pool. */
static int half(int v) { return (v + 2 - 3) / 2 + 1; }

/* ShuffleNetV2: conv1 (.0 conv, .1 bn, relu), maxpool 3/2/1, stage2..4 of
 * InvertedResidual blocks (stride 2: branch1 = dw conv, bn, 1x1 conv, bn,
 * relu on the whole input; branch2 = 1x1, bn, relu, dw, bn, 1x1, bn, relu;
 * stride 1: the input is split in two channel halves and branch2 runs on
 * the second), concat, channel shuffle; conv5 (.0, .1, relu), mean, fc. */
static cz_err *build_shuffle(zl_ctx *c, const tv_variant *v, const cz_zoo_opts *o, int x,
                             int *logits) {
  int h = half(o->height), w = half(o->width);
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = v->channels[0], .k = 3, .stride = 2, .pad = 1},
                  ZL_RELU, "conv1.0", "conv1.1");
  x = zl_maxpool(c, x, 3, 2, 1, false);
  h = half(h), w = half(w);
  char p[48], a[80], b[80];
  for (int s = 0; s < 3; s++) {
    int out = v->channels[s + 1], bf = out / 2;
    for (int i = 0; i < v->repeats[s]; i++) {
      int stride = i == 0 ? 2 : 1, left, right;
      snprintf(p, sizeof p, "stage%d.%d", s + 2, i);
      if (stride == 2) {
        int cin = zl_channels(c, x);
        h = half(h), w = half(w);
        snprintf(a, sizeof a, "%s.branch1.0", p), snprintf(b, sizeof b, "%s.branch1.1", p);
        zl_conv_spec dw = {.cout = cin, .k = 3, .stride = 2, .pad = 1, .groups = cin};
        left = conv_bn_act(c, x, dw, ZL_NONE, a, b);
        snprintf(a, sizeof a, "%s.branch1.2", p), snprintf(b, sizeof b, "%s.branch1.3", p);
        left = conv_bn_act(c, left, (zl_conv_spec){.cout = bf, .k = 1, .pad = 0}, ZL_RELU, a, b);
        right = x;
      } else {
        snprintf(a, sizeof a, "%s.split", p);
        int n = cz_graph_node(c->g, "Split", a, 1, &x, 2, NULL);
        cz_node_set_int(c->g, n, "axis", 1);
        left = cz_node_out(c->g, n, 0), right = cz_node_out(c->g, n, 1);
        zl_set_channels(c, left, bf), zl_set_channels(c, right, bf);
      }
      snprintf(a, sizeof a, "%s.branch2.0", p), snprintf(b, sizeof b, "%s.branch2.1", p);
      right = conv_bn_act(c, right, (zl_conv_spec){.cout = bf, .k = 1, .pad = 0}, ZL_RELU, a, b);
      snprintf(a, sizeof a, "%s.branch2.3", p), snprintf(b, sizeof b, "%s.branch2.4", p);
      zl_conv_spec dw = {.cout = bf, .k = 3, .stride = stride, .pad = 1, .groups = bf};
      right = conv_bn_act(c, right, dw, ZL_NONE, a, b);
      snprintf(a, sizeof a, "%s.branch2.5", p), snprintf(b, sizeof b, "%s.branch2.6", p);
      right = conv_bn_act(c, right, (zl_conv_spec){.cout = bf, .k = 1, .pad = 0}, ZL_RELU, a, b);
      int parts[2] = {left, right};
      x = channel_shuffle(c, zl_concat(c, 2, parts), h, w, p);
    }
  }
  x = conv_bn_act(c, x, (zl_conv_spec){.cout = v->channels[4], .k = 1, .pad = 0}, ZL_RELU,
                  "conv5.0", "conv5.1");
  x = zl_flatten(c, zl_global_avgpool(c, x));
  *logits = zl_linear(c, x, o->num_classes, true, "fc");
  return NULL;
}

static cz_err *build(cz_graph *g, const cz_zoo_entry *e, const cz_zoo_opts *o, int input,
                     int *logits) {
  const tv_variant *v = e->variant;
  zl_ctx c;
  /* BatchNorm: PyTorch's defaults, but MNASNet's momentum 1 - 0.9997. */
  zl_init(&c, g, o, input, 1e-5f, v->kind == TV_MNASNET ? (float)(1 - 0.9997) : 0.1f);
  cz_err *err = v->kind == TV_MBV2      ? build_mbv2(&c, v, o, input, logits)
                : v->kind == TV_MNASNET ? build_mnasnet(&c, v, o, input, logits)
                                        : build_shuffle(&c, v, o, input, logits);
  zl_free(&c);
  return err;
}

static const tv_variant kMbv2_035 = {.kind = TV_MBV2, .width = 0.35};
static const tv_variant kMnasnet05 = {.kind = TV_MNASNET, .width = 0.5};
static const tv_variant kShuffle05 = {.kind = TV_SHUFFLE, .repeats = {4, 8, 4},
                                      .channels = {24, 48, 96, 192, 1024}};
static const tv_variant kShuffle10 = {.kind = TV_SHUFFLE, .repeats = {4, 8, 4},
                                      .channels = {24, 116, 232, 464, 1024}};

/* MobileNetV2 keeps cz_zoo_build's default, which is torchvision's
 * (kaiming_normal_ fan_out convs, Linear normal(0, 0.01)). MNASNet:
 * kaiming_normal_ fan_out convs, Linear kaiming_uniform_(fan_out,
 * sigmoid). ShuffleNetV2 sets none: PyTorch's reset_parameters. */
/* torchvision's MobileNetV2: kaiming_normal fan_out convs, normal(0, 0.01)
 * Linear. */
static void init_mbv2(cz_graph *g, uint64_t seed) {
  zl_init_weights(g, seed, ZL_INIT_HE_FANOUT, ZL_INIT_NORMAL_001);
}
static void init_mnasnet(cz_graph *g, uint64_t seed) {
  zl_init_weights(g, seed, ZL_INIT_HE_FANOUT, ZL_INIT_UNIFORM_3_FANOUT);
}
static void init_shuffle(cz_graph *g, uint64_t seed) {
  zl_init_weights(g, seed, ZL_INIT_TORCH_DEFAULT, ZL_INIT_TORCH_DEFAULT);
}

#define TV(zoo, ref, v, init) {zoo, "torchvision", ref, 3, 224, 224, build, &v, init, NULL}

const cz_zoo_entry cz_zoo_family_torchvision[] = {
    /* ST lists it among its own models (its checkpoints and loading rules). */
    {"mobilenetv2_w035_pt", "st", "torchvision.mobilenet_v2(width_mult=0.35)", 3, 224, 224, build,
     &kMbv2_035, init_mbv2, NULL},
    TV("mnasnet_d050_pt", "mnasnet0_5", kMnasnet05, init_mnasnet),
    TV("shufflenetv2_x050_pt", "shufflenet_v2_x0_5", kShuffle05, init_shuffle),
    TV("shufflenetv2_x100_pt", "shufflenet_v2_x1_0", kShuffle10, init_shuffle),
    {0},
};
