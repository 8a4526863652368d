/* Initial weights by the reference's own law (zoo_init.h). The laws, read
 * from the references' init code:
 * - ST's models set none, so PyTorch's module defaults apply: Conv2d and
 *   Linear weights uniform(+-1/sqrt(fan_in)) (kaiming_uniform, a=sqrt(5)),
 *   biases uniform(+-1/sqrt(fan_in)).
 * - pytorchcv MobileNet / FD-MobileNet (_init_params): depthwise convs
 *   kaiming_normal fan_in, the init block and pointwise convs
 *   kaiming_normal fan_out, the Linear `output` kaiming_normal fan_out with
 *   a zero bias.
 * - pytorchcv MobileNetV2, ResNet: every Conv2d kaiming_uniform (a=0,
 *   bound sqrt(6/fan_in)), zero conv biases; ResNet's Linear keeps
 *   PyTorch's default.
 * - pytorchcv SqueezeNet: convs kaiming_uniform, `final_conv` normal(0,
 *   0.01), zero biases.
 * BatchNorm stays weight 1, bias 0 (as the builders made it). Each
 * parameter draws from its own Philox stream keyed by its value id. */
#include "zoo/zoo_init.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "ops/op.h"
#include "util/rng.h"

typedef enum { LAW_KEEP, LAW_NORMAL, LAW_UNIFORM, LAW_ZERO } law_kind;

typedef struct {
  law_kind kind;
  double scale; /* normal: std; uniform: bound */
} law;

typedef enum { FAM_OTHER, FAM_TORCH_DEFAULT, FAM_PCV_MOBILENET, FAM_PCV_UNIFORM, FAM_PCV_SQUEEZE } fam;

static fam family_of(const cz_zoo_entry *e) {
  if (strcmp(e->source, "st") == 0) return FAM_TORCH_DEFAULT;
  if (strcmp(e->source, "pytorchcv") != 0) return FAM_OTHER;
  if (strncmp(e->reference, "squeezenet", 10) == 0) return FAM_PCV_SQUEEZE;
  if (strncmp(e->reference, "mobilenetv2", 11) == 0 || strncmp(e->reference, "resnet", 6) == 0)
    return FAM_PCV_UNIFORM;
  return FAM_PCV_MOBILENET;
}

/* Law of a Conv/Gemm weight (bias false) or bias (bias true). */
static law law_for(fam f, bool conv, const char *wname, bool bias, double fan_in,
                   double fan_out) {
  double torch_default = 1.0 / sqrt(fan_in);
  switch (f) {
    case FAM_TORCH_DEFAULT: return (law){LAW_UNIFORM, torch_default};
    case FAM_PCV_MOBILENET:
      if (bias) return (law){LAW_ZERO, 0};
      if (conv && strstr(wname, "dw_conv.conv")) return (law){LAW_NORMAL, sqrt(2.0 / fan_in)};
      return (law){LAW_NORMAL, sqrt(2.0 / fan_out)};
    case FAM_PCV_UNIFORM:
      if (!conv) return (law){LAW_UNIFORM, torch_default};
      return bias ? (law){LAW_ZERO, 0} : (law){LAW_UNIFORM, sqrt(6.0 / fan_in)};
    case FAM_PCV_SQUEEZE:
      if (bias) return (law){LAW_ZERO, 0};
      if (strstr(wname, "final_conv")) return (law){LAW_NORMAL, 0.01};
      return (law){LAW_UNIFORM, sqrt(6.0 / fan_in)};
    case FAM_OTHER: break;
  }
  return (law){LAW_KEEP, 0};
}

static void fill(cz_graph *g, int v, law l, uint64_t seed) {
  cz_value *x = &g->values[v];
  if (x->kind != CZ_V_PARAM || l.kind == LAW_KEEP) return;
  cz_rng r = cz_rng_make(seed, cz_rng_stream(0x5a4f4f49, (uint64_t)v, 0));
  float *d = x->data;
  for (int64_t i = 0; i < cz_shape_numel(&x->shape); i++) {
    double s = 0;
    if (l.kind == LAW_NORMAL) s = l.scale * cz_rng_normal(&r);
    if (l.kind == LAW_UNIFORM) s = l.scale * (2.0 * cz_rng_uniform(&r) - 1.0);
    d[i] = (float)s;
  }
}

void cz_zoo_reference_init(cz_graph *g, const cz_zoo_entry *e, uint64_t seed) {
  fam f = family_of(e);
  if (f == FAM_OTHER) return;
  for (int ni = 0; ni < g->n_nodes; ni++) {
    const cz_node *n = &g->nodes[ni];
    bool conv = strcmp(n->op->name, "Conv") == 0;
    if (!conv && strcmp(n->op->name, "Gemm") != 0) continue;
    const cz_value *w = &g->values[n->in[1]];
    if (w->kind != CZ_V_PARAM) continue;
    double rf = 1; /* receptive field */
    for (int i = 2; i < w->shape.rank; i++) rf *= (double)w->shape.d[i];
    double fan_in = (double)w->shape.d[1] * rf, fan_out = (double)w->shape.d[0] * rf;
    fill(g, n->in[1], law_for(f, conv, w->name, false, fan_in, fan_out), seed);
    if (n->n_in > 2 && n->in[2] >= 0)
      fill(g, n->in[2], law_for(f, conv, w->name, true, fan_in, fan_out), seed);
  }
}
