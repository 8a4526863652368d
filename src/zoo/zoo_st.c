/* The zoo's ST models, as STMicroelectronics' stm32ai-modelzoo-services
 * (4.0.0, image_classification/pt/src/models/) defines them, read for the
 * architecture (nothing copied), with their state_dict names:
 *
 * - st_resnet{pico,nano,micro,milli,tiny}_actrelu_pt (stresnet/
 *   stresnet_*.py): a ResNet-18 layout (2 BasicBlocks per stage, 64 to 512
 *   channels, ReLU) in which chosen 3x3 convolutions and 1x1 downsamples
 *   are factorised Tucker-style into 1x1 -> kxk -> 1x1 Sequentials, with
 *   a factorised 7x7 stem (`conv1.0/1/2`) and, but in Tiny, a 1x1 `proj`
 *   to 64 channels after the max-pool; global average pool, Linear `fc`.
 *   Each variant is one table row below: the rank of every factorised
 *   slot, 0 for a plain convolution.
 * - mobilenet_v1_pt, mobilenet_v1_0.25_pt, mobilenet_v1_0.25_96px_pt
 *   (mobilenetv1/mobilenetv1.py, the VWW MobileNetV1): `model.0` a 3x3
 *   stride-2 conv + BN + ReLU, `model.1..13` depthwise-separable units
 *   (`.0` dw conv, `.1` BN, `.3` pw conv, `.4` BN, ReLUs at .2 and .5),
 *   AvgPool2d(last_pooling_size) (stride = kernel) then flatten and `fc`;
 *   channels int(c * width_mult), the input's 3 unscaled. The fixed pool
 *   makes the reference accept only inputs whose last map is 7 to 13
 *   (pool 7: inputs 193 to 416) or 3 to 5 (pool 3: 65 to 160); a map above
 *   the kernel is averaged over its top-left window, as PyTorch does.
 *
 * The references hard-code 3 input channels; czoo takes the configured
 * channels (the first conv's input). */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "zoo/zoo_family.h"
#include "zoo/zoo_layers.h"

/* ---- ST ResNets ---- */

#define ST_PLAIN 0    /* a plain convolution */
#define ST_NONE (-1)  /* no downsample branch */

typedef struct {
  int c1, c2, ds; /* conv1, conv2, downsample: Tucker rank, ST_PLAIN or ST_NONE */
} st_block;

typedef struct {
  int stem_mid, stem_out; /* conv1.1 (7x7) and conv1.2 (1x1) widths */
  bool proj;              /* 1x1 `proj` from stem_out to 64 */
  st_block blocks[8];     /* layer1.0, layer1.1, ..., layer4.1 */
} st_resnet;

/* A convolution slot of a block: one Conv2d `<name>` (rank ST_PLAIN) or a
 * Sequential `<name>.0/1/2` of 1x1 to rank, k x k (stride, padding k/2)
 * at rank, 1x1 to cout. */
static int st_slot(zl_ctx *c, int x, int rank, int cout, int k, int stride, const char *name) {
  if (rank == ST_PLAIN)
    return zl_conv(c, x, (zl_conv_spec){.cout = cout, .k = k, .stride = stride, .pad = -1}, "%s",
                   name);
  x = zl_conv(c, x, (zl_conv_spec){.cout = rank, .k = 1, .pad = 0}, "%s.0", name);
  x = zl_conv(c, x, (zl_conv_spec){.cout = rank, .k = k, .stride = stride, .pad = -1}, "%s.1",
              name);
  return zl_conv(c, x, (zl_conv_spec){.cout = cout, .k = 1, .pad = 0}, "%s.2", name);
}

static cz_err *build_st_resnet(cz_graph *g, const cz_zoo_entry *e, const cz_zoo_opts *o,
                               int input, int *logits) {
  const st_resnet *v = e->variant;
  zl_ctx c;
  zl_init(&c, g, o, input, 1e-5f, 0.1f); /* nn.BatchNorm2d defaults */
  int x = zl_conv(&c, input, (zl_conv_spec){.cout = 3, .k = 1, .pad = 0}, "conv1.0");
  x = zl_conv(&c, x, (zl_conv_spec){.cout = v->stem_mid, .k = 7, .stride = 2, .pad = 3},
              "conv1.1");
  x = zl_conv(&c, x, (zl_conv_spec){.cout = v->stem_out, .k = 1, .pad = 0}, "conv1.2");
  x = zl_act_node(&c, zl_bn(&c, x, "bn1"), ZL_RELU, "act1");
  x = zl_maxpool(&c, x, 3, 2, 1, false);
  if (v->proj) x = zl_conv(&c, x, (zl_conv_spec){.cout = 64, .k = 1, .pad = 0}, "proj");
  char name[48];
  for (int i = 0; i < 8; i++) {
    const st_block *b = &v->blocks[i];
    int layer = i / 2 + 1, blk = i % 2, cout = 64 << (i / 2);
    int stride = blk == 0 && layer > 1 ? 2 : 1, in = x;
    snprintf(name, sizeof name, "layer%d.%d.conv1", layer, blk);
    x = st_slot(&c, x, b->c1, cout, 3, stride, name);
    x = zl_act_node(&c, zl_bn(&c, x, "layer%d.%d.bn1", layer, blk), ZL_RELU, "layer%d.%d.act1",
                    layer, blk);
    snprintf(name, sizeof name, "layer%d.%d.conv2", layer, blk);
    x = st_slot(&c, x, b->c2, cout, 3, 1, name);
    x = zl_bn(&c, x, "layer%d.%d.bn2", layer, blk);
    if (b->ds != ST_NONE) {
      /* Sequential(conv, BN): `downsample.0` is the slot, `.1` the BN. */
      snprintf(name, sizeof name, "layer%d.%d.downsample.0", layer, blk);
      in = st_slot(&c, in, b->ds, cout, 1, stride, name);
      in = zl_bn(&c, in, "layer%d.%d.downsample.1", layer, blk);
    }
    x = zl_act_node(&c, zl_add(&c, x, in), ZL_RELU, "layer%d.%d.act2", layer, blk);
  }
  x = zl_flatten(&c, zl_global_avgpool(&c, x));
  *logits = zl_linear(&c, x, o->num_classes, true, "fc");
  zl_free(&c);
  return NULL;
}

/* Ranks read off stresnet_*.py: {conv1, conv2, downsample} per block. */
static const st_resnet kPico = {8, 32, true, {{24, 16, ST_NONE}, {24, 8, ST_NONE},
                                              {24, 8, 8}, {8, 8, ST_NONE},
                                              {8, 8, 8}, {8, 8, ST_NONE},
                                              {8, 8, 8}, {8, 8, ST_NONE}}};
static const st_resnet kNano = {8, 32, true, {{ST_PLAIN, 32, ST_NONE}, {ST_PLAIN, 40, ST_NONE},
                                              {ST_PLAIN, 32, ST_PLAIN}, {64, 16, ST_NONE},
                                              {48, 16, 8}, {48, 8, ST_NONE},
                                              {32, 8, 8}, {48, 8, ST_NONE}}};
static const st_resnet kMicro = {8, 32, true,
                                 {{ST_PLAIN, ST_PLAIN, ST_NONE}, {ST_PLAIN, ST_PLAIN, ST_NONE},
                                  {ST_PLAIN, 40, ST_PLAIN}, {88, 32, ST_NONE},
                                  {88, 72, 16}, {80, 32, ST_NONE},
                                  {80, 8, 24}, {72, 64, ST_NONE}}};
static const st_resnet kMilli = {16, 32, true,
                                 {{ST_PLAIN, ST_PLAIN, ST_NONE}, {ST_PLAIN, ST_PLAIN, ST_NONE},
                                  {ST_PLAIN, 96, ST_PLAIN}, {ST_PLAIN, 72, ST_NONE},
                                  {ST_PLAIN, 120, ST_PLAIN}, {168, 72, ST_NONE},
                                  {160, 72, 48}, {168, 96, ST_NONE}}};
static const st_resnet kTiny = {16, 64, false,
                                {{ST_PLAIN, ST_PLAIN, ST_NONE}, {ST_PLAIN, ST_PLAIN, ST_NONE},
                                 {ST_PLAIN, 96, ST_PLAIN}, {ST_PLAIN, 80, ST_NONE},
                                 {ST_PLAIN, 192, ST_PLAIN}, {ST_PLAIN, 96, ST_NONE},
                                 {208, 88, ST_PLAIN}, {192, 112, ST_NONE}}};

/* ---- VWW MobileNetV1 ---- */

typedef struct {
  double width;
  int last_pool;
  const char *sizes; /* input sizes the fixed pool accepts */
} st_mbv1;

static cz_err *build_st_mbv1(cz_graph *g, const cz_zoo_entry *e, const cz_zoo_opts *o, int input,
                             int *logits) {
  /* conv_dw(inp, oup, stride) rows after conv_bn(3, 32, 2). */
  static const struct { int out, stride; } dw[13] = {
      {64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
      {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  const st_mbv1 *v = e->variant;
  zl_ctx c;
  zl_init(&c, g, o, input, 1e-5f, 0.1f);
  int x = zl_conv(&c, input,
                  (zl_conv_spec){.cout = (int)(32 * v->width), .k = 3, .stride = 2, .pad = 1},
                  "model.0.0");
  x = zl_act_node(&c, zl_bn(&c, x, "model.0.1"), ZL_RELU, "model.0.2");
  for (int i = 0; i < 13; i++) {
    int cin = zl_channels(&c, x);
    x = zl_conv(&c, x,
                (zl_conv_spec){.cout = cin, .k = 3, .stride = dw[i].stride, .pad = 1,
                               .groups = cin},
                "model.%d.0", i + 1);
    x = zl_act_node(&c, zl_bn(&c, x, "model.%d.1", i + 1), ZL_RELU, "model.%d.2", i + 1);
    x = zl_conv(&c, x, (zl_conv_spec){.cout = (int)(dw[i].out * v->width), .k = 1, .pad = 0},
                "model.%d.3", i + 1);
    x = zl_act_node(&c, zl_bn(&c, x, "model.%d.4", i + 1), ZL_RELU, "model.%d.5", i + 1);
  }
  cz_err *err = zl_fixed_avgpool(&c, x, v->last_pool, v->last_pool, v->sizes, &x);
  if (!err) *logits = zl_linear(&c, zl_flatten(&c, x), o->num_classes, true, "fc");
  zl_free(&c);
  return err;
}

static const st_mbv1 kMbv1 = {1.0, 7, "193 to 416"}, kMbv1q = {0.25, 7, "193 to 416"},
                     kMbv1q96 = {0.25, 3, "65 to 160"};

const cz_zoo_entry cz_zoo_family_st[] = {
    {"st_resnetpico_actrelu_pt", "st", "STResNetPico", 3, 224, 224, build_st_resnet, &kPico, NULL, NULL},
    {"st_resnetnano_actrelu_pt", "st", "STResNetNano", 3, 224, 224, build_st_resnet, &kNano, NULL, NULL},
    {"st_resnetmicro_actrelu_pt", "st", "STResNetMicro", 3, 224, 224, build_st_resnet, &kMicro, NULL, NULL},
    {"st_resnetmilli_actrelu_pt", "st", "STResNetMilli", 3, 224, 224, build_st_resnet, &kMilli, NULL, NULL},
    {"st_resnettiny_actrelu_pt", "st", "STResNetTiny", 3, 224, 224, build_st_resnet, &kTiny, NULL, NULL},
    {"mobilenet_v1_pt", "st", "MobileNetV1(width_mult=1.0)", 3, 224, 224, build_st_mbv1, &kMbv1, NULL, NULL},
    {"mobilenet_v1_0.25_pt", "st", "MobileNetV1(width_mult=0.25)", 3, 224, 224, build_st_mbv1,
     &kMbv1q, NULL, NULL},
    {"mobilenet_v1_0.25_96px_pt", "st", "MobileNetV1(width_mult=0.25,last_pooling_size=3)", 3,
     96, 96, build_st_mbv1, &kMbv1q96, NULL, NULL},
    {0},
};
