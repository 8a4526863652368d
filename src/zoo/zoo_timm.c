/* The zoo's timm models, each a timm block-string description (zoo_blocks.h)
 * with the settings timm 1.0.31's generator gives it (efficientnet.py:
 * _gen_mobilenet_v2, _gen_mnasnet_a1; mobilenetv3.py: _gen_mobilenet_v4).
 * BatchNorm is PyTorch's default (eps 1e-5, momentum 0.1) in all four. */
#include "zoo/zoo_blocks.h"
#include "zoo/zoo_family.h"

/* timm's mobilenetv2_*: ReLU6, EfficientNet head; num_features is
 * max(1280, round_channels(1280 * width)), 1280 for widths <= 1. */
#define MBV2_ARCH                                                                        \
  "ds_r1_k3_s1_c16 | ir_r2_k3_s2_e6_c24 | ir_r3_k3_s2_e6_c32 | ir_r4_k3_s2_e6_c64 | " \
  "ir_r3_k3_s1_e6_c96 | ir_r3_k3_s2_e6_c160 | ir_r1_k3_s1_e6_c320"

static const zb_model kMbv2_050 = {
    .arch = MBV2_ARCH, .width = 0.5, .stem = 32, .num_features = 1280, .act = ZL_RELU6,
    .head = ZB_HEAD_EFFNET, .bn_eps = 1e-5f, .bn_momentum = 0.1f};
static const zb_model kMbv2_100 = {
    .arch = MBV2_ARCH, .width = 1.0, .stem = 32, .num_features = 1280, .act = ZL_RELU6,
    .head = ZB_HEAD_EFFNET, .bn_eps = 1e-5f, .bn_momentum = 0.1f};

/* semnasnet_100 = MNASNet-A1 with squeeze-excite; ReLU. */
static const zb_model kSemnasnet100 = {
    .arch = "ds_r1_k3_s1_e1_c16_noskip | ir_r2_k3_s2_e6_c24 | ir_r3_k5_s2_e3_c40_se0.25 | "
            "ir_r4_k3_s2_e6_c80 | ir_r2_k3_s1_e6_c112_se0.25 | ir_r3_k5_s2_e6_c160_se0.25 | "
            "ir_r1_k3_s1_e6_c320",
    .width = 1.0, .stem = 32, .num_features = 1280, .act = ZL_RELU, .head = ZB_HEAD_EFFNET,
    .bn_eps = 1e-5f, .bn_momentum = 0.1f};

/* mobilenetv4_conv_small: ReLU, MobileNetV3 head with a normed conv_head
 * (no bias), SE ratios from the expanded channels (none used here). */
static const zb_model kMnv4ConvSmall = {
    .arch = "cn_r1_k3_s2_e1_c32 cn_r1_k1_s1_e1_c32 | cn_r1_k3_s2_e1_c96 cn_r1_k1_s1_e1_c64 | "
            "uir_r1_a5_k5_s2_e3_c96 uir_r4_a0_k3_s1_e2_c96 uir_r1_a3_k0_s1_e4_c96 | "
            "uir_r1_a3_k3_s2_e6_c128 uir_r1_a5_k5_s1_e4_c128 uir_r1_a0_k5_s1_e4_c128 "
            "uir_r1_a0_k5_s1_e3_c128 uir_r2_a0_k3_s1_e4_c128 | cn_r1_k1_s1_c960",
    .width = 1.0, .stem = 32, .num_features = 1280, .act = ZL_RELU, .head = ZB_HEAD_MNV3,
    .head_norm = true, .se_from_exp = true, .bn_eps = 1e-5f, .bn_momentum = 0.1f};

static cz_err *build(cz_graph *g, const cz_zoo_entry *e, const cz_zoo_opts *o, int input,
                     int *logits) {
  return zb_build(g, e->variant, o, input, logits);
}

/* timm's efficientnet_init_weights (_init_weight_goog): convs
 * normal(0, sqrt(2 / fan_out)) with fan_out divided by the groups, Linear
 * uniform(+-1/sqrt(out_features)), biases zero. */
static void init(cz_graph *g, uint64_t seed) {
  zl_init_weights(g, seed, ZL_INIT_HE_FANOUT_GROUP, ZL_INIT_UNIFORM_FANOUT);
}

/* group_matcher(coarse=False) of timm's EfficientNet (mobilenetv2_*,
 * semnasnet_*: the head conv and its norm join the last block) and
 * MobileNetV3 (mobilenetv4_*: the head is left to the unmatched layer). */
static const cz_zoo_group_rule kEffnetGroups[] = {
    {0, "^conv_stem|bn1", -1},
    {1, "^blocks\\.([0-9]+)\\.([0-9]+)", -1},
    {1, "conv_head|bn2", 99999},
    {0, NULL, 0},
};
static const cz_zoo_group_rule kMnv3Groups[] = {
    {0, "^conv_stem|bn1", -1},
    {1, "^blocks\\.([0-9]+)\\.([0-9]+)", -1},
    {0, NULL, 0},
};

#define TIMM(zoo, ref, model, groups) {zoo, "timm", ref, 3, 224, 224, build, &model, init, groups}

const cz_zoo_entry cz_zoo_family_timm[] = {
    TIMM("mobilenetv2_a050_pt", "mobilenetv2_050", kMbv2_050, kEffnetGroups),
    TIMM("mobilenetv2_a100_pt", "mobilenetv2_100", kMbv2_100, kEffnetGroups),
    TIMM("semnasnet100_pt", "semnasnet_100", kSemnasnet100, kEffnetGroups),
    TIMM("mobilenetv4small_pt", "mobilenetv4_conv_small", kMnv4ConvSmall, kMnv3Groups),
    {0},
};
