/* The zoo's pytorchcv models: MobileNet, FD-MobileNet, MobileNetV2,
 * SqueezeNet v1.0 and ResNet-18 x0.25 as pytorchcv 0.0.74 defines them
 * (pytorchcv/models/{mobilenet,fdmobilenet,mobilenetv2,squeezenet,
 * resnet}.py, read for the architecture; nothing copied), with its
 * state_dict names (`features.stage2.unit1.dw_conv.conv.weight`, ...).
 *
 * Each model is a width scale applied to one base table of stage widths.
 * pytorchcv ends every one of them with a fixed AvgPool2d (kernel 7, or 13
 * for SqueezeNet, stride 1) before a flatten, so the reference only makes
 * logits at input sizes whose last feature map is exactly that size (the
 * ST wrapper never passes in_size): 193 to 224 for the stride-32 networks,
 * 213 to 228 for SqueezeNet. Other sizes fail in PyTorch (smaller maps;
 * larger ones before a Linear) or give num_classes * n * n values that are
 * not logits (larger maps in MobileNetV2 and SqueezeNet, whose classifier
 * is a 1x1 conv); czoo rejects them all with an error naming the accepted
 * sizes. The reference fixes in_channels at 3 (the
 * wrapper never passes it); czoo takes the configured channels. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "zoo/zoo_family.h"
#include "zoo/zoo_layers.h"

typedef enum { PCV_MOBILENET, PCV_MOBILENETV2, PCV_SQUEEZENET, PCV_RESNET } pcv_arch;

typedef struct {
  pcv_arch arch;
  double width;     /* pytorchcv's width_scale: channels int(c * width) */
  bool fast_down;   /* FD-MobileNet: stride 2 in the first stage too */
} pcv_variant;

#define STRIDE32_SIZES "193 to 224 (224 is the model's in_size)"

static int scaled(int c, double w) { return (int)(c * w); }

/* conv + BatchNorm + activation: pytorchcv's ConvBlock (`<name>.conv`,
 * `<name>.bn`, `<name>.activ`), no bias. */
static int conv_block(zl_ctx *c, int x, int cout, int k, int stride, int groups, zl_act act,
                      const char *name) {
  x = zl_conv(c, x, (zl_conv_spec){.cout = cout, .k = k, .stride = stride, .pad = -1,
                                    .groups = groups},
              "%s.conv", name);
  x = zl_bn(c, x, "%s.bn", name);
  return zl_act_node(c, x, act, "%s.activ", name);
}

/* MobileNet / FD-MobileNet (mobilenet.py's MobileNet): a 3x3 stride-2
 * init block, then depthwise-separable units (dw 3x3 + BN + ReLU, pw 1x1 +
 * BN + ReLU), stride 2 at each stage's first unit (not the first stage's
 * unless fast_down), AvgPool2d(7, 1), Linear `output`. */
static cz_err *build_mobilenet(zl_ctx *c, const pcv_variant *v, int x, int *logits) {
  static const int mb[] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
  static const int mb_stage[] = {1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5};
  static const int fd[] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 1024};
  static const int fd_stage[] = {1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4};
  const int *ch = v->fast_down ? fd : mb, *st = v->fast_down ? fd_stage : mb_stage;
  int n = v->fast_down ? (int)(sizeof fd / sizeof *fd) : (int)(sizeof mb / sizeof *mb);
  x = conv_block(c, x, scaled(32, v->width), 3, 2, 1, ZL_RELU, "features.init_block");
  char name[64];
  for (int i = 0, unit = 0; i < n; i++) {
    unit = (i > 0 && st[i] == st[i - 1]) ? unit + 1 : 1;
    int stride = unit == 1 && (st[i] != 1 || v->fast_down) ? 2 : 1;
    int cin = zl_channels(c, x);
    snprintf(name, sizeof name, "features.stage%d.unit%d.dw_conv", st[i], unit);
    x = conv_block(c, x, cin, 3, stride, cin, ZL_RELU, name);
    snprintf(name, sizeof name, "features.stage%d.unit%d.pw_conv", st[i], unit);
    x = conv_block(c, x, scaled(ch[i], v->width), 1, 1, 1, ZL_RELU, name);
  }
  cz_err *e = zl_fixed_avgpool(c, x, 7, 1, STRIDE32_SIZES, &x);
  if (e) return e;
  *logits = zl_linear(c, zl_flatten(c, x), c->o->num_classes, true, "output");
  return NULL;
}

/* MobileNetV2 (mobilenetv2.py): ReLU6 throughout; units are 1x1 expand
 * (x6, x1 in the very first unit, which keeps its conv), 3x3 depthwise,
 * 1x1 linear projection, with a residual when shape is kept; the final
 * 1x1 block keeps 1280 channels below width 1; the classifier is a 1x1
 * conv without bias (`output.weight`) after AvgPool2d(7, 1). */
static cz_err *build_mobilenetv2(zl_ctx *c, const pcv_variant *v, int x, int *logits) {
  static const struct { int stage, ch, n; } groups[] = {
      {1, 16, 1}, {2, 24, 2}, {3, 32, 3}, {4, 64, 4}, {4, 96, 3}, {5, 160, 3}, {5, 320, 1}};
  x = conv_block(c, x, scaled(32, v->width), 3, 2, 1, ZL_RELU6, "features.init_block");
  char name[64];
  int unit = 0, prev_stage = 0;
  for (size_t gi = 0; gi < sizeof groups / sizeof *groups; gi++)
    for (int r = 0; r < groups[gi].n; r++) {
      int s = groups[gi].stage;
      unit = s == prev_stage ? unit + 1 : 1;
      prev_stage = s;
      int cin = zl_channels(c, x), cout = scaled(groups[gi].ch, v->width);
      int stride = unit == 1 && s != 1 ? 2 : 1;
      int mid = s == 1 && unit == 1 ? cin : cin * 6;
      int in = x;
      snprintf(name, sizeof name, "features.stage%d.unit%d.conv1", s, unit);
      x = conv_block(c, x, mid, 1, 1, 1, ZL_RELU6, name);
      snprintf(name, sizeof name, "features.stage%d.unit%d.conv2", s, unit);
      x = conv_block(c, x, mid, 3, stride, mid, ZL_RELU6, name);
      snprintf(name, sizeof name, "features.stage%d.unit%d.conv3", s, unit);
      x = conv_block(c, x, cout, 1, 1, 1, ZL_NONE, name);
      if (cin == cout && stride == 1) x = zl_add(c, x, in);
    }
  int fin = v->width > 1.0 ? scaled(1280, v->width) : 1280;
  x = conv_block(c, x, fin, 1, 1, 1, ZL_RELU6, "features.final_block");
  cz_err *e = zl_fixed_avgpool(c, x, 7, 1, STRIDE32_SIZES, &x);
  if (e) return e;
  x = zl_conv(c, x, (zl_conv_spec){.cout = c->o->num_classes, .k = 1, .pad = 0}, "output");
  *logits = zl_flatten(c, x);
  return NULL;
}

/* SqueezeNet v1.0 (squeezenet.py, no residuals): 7x7 stride-2 conv with
 * bias, then stages each opening with MaxPool2d(3, 2, ceil_mode) and made
 * of Fire units (squeeze 1x1 to c/8, expand 1x1 and 3x3 to c/2 each,
 * concatenated; every conv with bias and ReLU); Dropout(0.5); a 1x1
 * `output.final_conv` with ReLU, AvgPool2d(13, 1), flatten. */
static cz_err *build_squeezenet(zl_ctx *c, int x, int *logits) {
  static const int stages[3][4] = {{128, 128, 256, 0}, {256, 384, 384, 512}, {512, 0, 0, 0}};
  x = zl_conv(c, x, (zl_conv_spec){.cout = 96, .k = 7, .stride = 2, .pad = 0, .bias = true},
              "features.init_block.conv");
  x = zl_act_node(c, x, ZL_RELU, "features.init_block.activ");
  for (int s = 0; s < 3; s++) {
    x = zl_maxpool(c, x, 3, 2, 0, true);
    for (int u = 0; u < 4 && stages[s][u]; u++) {
      int out = stages[s][u];
      int sq = zl_conv(c, x, (zl_conv_spec){.cout = out / 8, .k = 1, .pad = 0, .bias = true},
                       "features.stage%d.unit%d.squeeze.conv", s + 1, u + 1);
      sq = zl_act_node(c, sq, ZL_RELU, "features.stage%d.unit%d.squeeze.activ", s + 1, u + 1);
      int e[2];
      for (int b = 0; b < 2; b++) {
        int k = b ? 3 : 1;
        e[b] = zl_conv(c, sq, (zl_conv_spec){.cout = out / 2, .k = k, .pad = -1, .bias = true},
                       "features.stage%d.unit%d.expand%dx%d.conv", s + 1, u + 1, k, k);
        e[b] = zl_act_node(c, e[b], ZL_RELU, "features.stage%d.unit%d.expand%dx%d.activ", s + 1,
                           u + 1, k, k);
      }
      x = zl_concat(c, 2, e);
    }
  }
  x = zl_dropout(c, x, c->o->drop_rate >= 0 ? c->o->drop_rate : 0.5f);
  x = zl_conv(c, x, (zl_conv_spec){.cout = c->o->num_classes, .k = 1, .pad = 0, .bias = true},
              "output.final_conv");
  x = zl_act_node(c, x, ZL_RELU, "output.final_activ");
  cz_err *err = zl_fixed_avgpool(c, x, 13, 1, "213 to 228 (224 is the model's in_size)", &x);
  if (err) return err;
  *logits = zl_flatten(c, x);
  return NULL;
}

/* ResNet-18 (resnet.py, basic blocks): 7x7 stride-2 init block with BN and
 * ReLU, MaxPool2d(3, 2, 1); units `body.conv1` (3x3, stride at a stage's
 * first unit but the first stage's) and `body.conv2` (3x3, no
 * activation), an `identity_conv` 1x1 + BN where channels or stride
 * change, add, ReLU; AvgPool2d(7, 1), Linear `output`. The width scale
 * spares the very last unit, which keeps 512 channels. */
static cz_err *build_resnet18(zl_ctx *c, const pcv_variant *v, int x, int *logits) {
  static const int ch[4] = {64, 128, 256, 512};
  x = conv_block(c, x, scaled(64, v->width), 7, 2, 1, ZL_RELU, "features.init_block.conv");
  x = zl_maxpool(c, x, 3, 2, 1, false);
  char name[64];
  for (int s = 0; s < 4; s++)
    for (int u = 0; u < 2; u++) {
      int cout = s == 3 && u == 1 ? ch[s] : scaled(ch[s], v->width);
      int cin = zl_channels(c, x), stride = u == 0 && s > 0 ? 2 : 1, in = x;
      snprintf(name, sizeof name, "features.stage%d.unit%d.body.conv1", s + 1, u + 1);
      x = conv_block(c, x, cout, 3, stride, 1, ZL_RELU, name);
      snprintf(name, sizeof name, "features.stage%d.unit%d.body.conv2", s + 1, u + 1);
      x = conv_block(c, x, cout, 3, 1, 1, ZL_NONE, name);
      if (cin != cout || stride != 1) {
        snprintf(name, sizeof name, "features.stage%d.unit%d.identity_conv", s + 1, u + 1);
        in = conv_block(c, in, cout, 1, stride, 1, ZL_NONE, name);
      }
      x = zl_add(c, x, in);
      x = zl_act_node(c, x, ZL_RELU, "features.stage%d.unit%d.activ", s + 1, u + 1);
    }
  cz_err *e = zl_fixed_avgpool(c, x, 7, 1, STRIDE32_SIZES, &x);
  if (e) return e;
  *logits = zl_linear(c, zl_flatten(c, x), c->o->num_classes, true, "output");
  return NULL;
}

static cz_err *build(cz_graph *g, const cz_zoo_entry *e, const cz_zoo_opts *o, int input,
                     int *logits) {
  const pcv_variant *v = e->variant;
  zl_ctx c;
  zl_init(&c, g, o, input, 1e-5f, 0.1f); /* nn.BatchNorm2d defaults */
  cz_err *err = NULL;
  switch (v->arch) {
    case PCV_MOBILENET: err = build_mobilenet(&c, v, input, logits); break;
    case PCV_MOBILENETV2: err = build_mobilenetv2(&c, v, input, logits); break;
    case PCV_SQUEEZENET: err = build_squeezenet(&c, input, logits); break;
    case PCV_RESNET: err = build_resnet18(&c, v, input, logits); break;
  }
  zl_free(&c);
  return err;
}

static const pcv_variant kMb025 = {PCV_MOBILENET, 0.25, false},
                         kMb050 = {PCV_MOBILENET, 0.5, false},
                         kMb075 = {PCV_MOBILENET, 0.75, false},
                         kFd025 = {PCV_MOBILENET, 0.25, true}, kFd050 = {PCV_MOBILENET, 0.5, true},
                         kFd075 = {PCV_MOBILENET, 0.75, true},
                         kV2025 = {PCV_MOBILENETV2, 0.25, false},
                         kV2075 = {PCV_MOBILENETV2, 0.75, false},
                         kSq10 = {PCV_SQUEEZENET, 1.0, false}, kR18wd4 = {PCV_RESNET, 0.25, false};

#define PCV(zoo, ref, var) {zoo, "pytorchcv", ref, 3, 224, 224, build, &var, NULL, NULL}
const cz_zoo_entry cz_zoo_family_pytorchcv[] = {
    PCV("mobilenet_a025_pt", "mobilenet_wd4", kMb025),
    PCV("mobilenet_a050_pt", "mobilenet_wd2", kMb050),
    PCV("mobilenet_a075_pt", "mobilenet_w3d4", kMb075),
    PCV("fdmobilenet_a025_pt", "fdmobilenet_wd4", kFd025),
    PCV("fdmobilenet_a050_pt", "fdmobilenet_wd2", kFd050),
    PCV("fdmobilenet_a075_pt", "fdmobilenet_w3d4", kFd075),
    PCV("mobilenetv2_a025_pt", "mobilenetv2_wd4", kV2025),
    PCV("mobilenetv2_a075_pt", "mobilenetv2_w3d4", kV2075),
    PCV("squeezenetv10_pt", "squeezenet_v1_0", kSq10),
    PCV("resnet18wd4_pt", "resnet18_wd4", kR18wd4),
    {0},
};
