/* Initial weights of the ST and pytorchcv zoo models follow each
 * reference's own law (src/zoo/zoo_init.c lists them): for chosen
 * parameters, the sample standard deviation is within 10% of the law's
 * (every tensor checked has over 2000 elements, so the sampling error is
 * under 2%), uniform laws never exceed their bound and come within 2% of
 * it, and zero biases are zero. Different seeds give different weights.
 * CZOO_ZOO_MODELS=a,b limits the models (the valgrind run does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoo/zoo.h"

typedef enum { NORMAL, UNIFORM, ZERO } kind;

static bool selected(const char *name) {
  const char *sel = getenv("CZOO_ZOO_MODELS");
  if (!sel || !*sel) return true;
  size_t n = strlen(name);
  for (const char *p = sel; (p = strstr(p, name)) != NULL; p += n)
    if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
  return false;
}

typedef struct {
  const char *model, *param;
  kind k;
  double scale; /* normal: std; uniform: bound */
} law_case;

static void check(const cz_graph *g, const law_case *c) {
  int v = cz_graph_find_value(g, c->param);
  if (v < 0) fail_msg("%s has no parameter %s", c->model, c->param);
  const cz_value *x = &g->values[v];
  const float *d = x->data;
  int64_t n = cz_shape_numel(&x->shape);
  double s2 = 0, mx = 0;
  for (int64_t i = 0; i < n; i++) {
    s2 += (double)d[i] * d[i];
    mx = fmax(mx, fabs(d[i]));
  }
  double sd = sqrt(s2 / (double)n);
  double want_sd = c->k == NORMAL ? c->scale : c->k == UNIFORM ? c->scale / sqrt(3.0) : 0;
  printf("%-22s %-44s n=%-7lld std %.5f (law %.5f) max %.5f%s\n", c->model, c->param,
         (long long)n, sd, want_sd, mx, c->k == UNIFORM ? " (bound)" : "");
  if (c->k == ZERO) {
    assert_true(mx == 0.0);
    return;
  }
  assert_true(n > 2000);
  assert_true(fabs(sd - want_sd) <= 0.1 * want_sd);
  if (c->k == UNIFORM) {
    assert_true(mx <= c->scale);
    assert_true(mx >= 0.98 * c->scale);
  }
}

static void test_reference_laws(void **state) {
  (void)state;
  const law_case cases[] = {
      /* ST: PyTorch defaults, uniform(+-1/sqrt(fan_in)). */
      {"st_resnetpico_actrelu_pt", "fc.weight", UNIFORM, 1 / sqrt(512.0)},
      {"st_resnetpico_actrelu_pt", "layer4.0.conv1.2.weight", UNIFORM, 1 / sqrt(8.0)},
      {"st_resnettiny_actrelu_pt", "layer3.1.conv1.weight", UNIFORM, 1 / sqrt(256 * 9.0)},
      {"mobilenet_v1_pt", "model.13.3.weight", UNIFORM, 1 / sqrt(1024.0)},
      {"mobilenet_v1_pt", "model.12.0.weight", UNIFORM, 1 / sqrt(9.0)},
      /* pytorchcv MobileNet: dw fan_in, pw fan_out, output fan_out. */
      {"mobilenet_a025_pt", "features.stage5.unit2.dw_conv.conv.weight", NORMAL, sqrt(2 / 9.0)},
      {"mobilenet_a025_pt", "features.stage5.unit2.pw_conv.conv.weight", NORMAL, sqrt(2 / 256.0)},
      {"mobilenet_a025_pt", "output.weight", NORMAL, sqrt(2 / 1000.0)},
      {"mobilenet_a025_pt", "output.bias", ZERO, 0},
      {"fdmobilenet_a050_pt", "features.stage4.unit6.pw_conv.conv.weight", NORMAL, sqrt(2 / 512.0)},
      /* pytorchcv MobileNetV2 / ResNet: kaiming_uniform(fan_in). */
      {"mobilenetv2_a025_pt", "output.weight", UNIFORM, sqrt(6 / 1280.0)},
      {"resnet18wd4_pt", "features.stage4.unit2.body.conv2.conv.weight", UNIFORM, sqrt(6 / (512 * 9.0))},
      {"resnet18wd4_pt", "output.weight", UNIFORM, 1 / sqrt(512.0)}, /* Linear default */
      /* pytorchcv SqueezeNet. */
      {"squeezenetv10_pt", "features.init_block.conv.weight", UNIFORM, sqrt(6 / 147.0)},
      {"squeezenetv10_pt", "features.init_block.conv.bias", ZERO, 0},
      {"squeezenetv10_pt", "output.final_conv.weight", NORMAL, 0.01},
  };
  const char *built = NULL;
  cz_graph *g = NULL;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (!selected(cases[i].model)) continue;
    if (!built || strcmp(built, cases[i].model) != 0) {
      cz_graph_free(g);
      cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(cases[i].model));
      o.seed = 11;
      assert_null(cz_zoo_build(cases[i].model, &o, &g));
      built = cases[i].model;
    }
    check(g, &cases[i]);
  }
  cz_graph_free(g);
}

static void test_seed_changes_weights(void **state) {
  (void)state;
  const char *name = "mobilenet_v1_0.25_96px_pt";
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(name));
  cz_graph *a = NULL, *b = NULL, *c = NULL;
  assert_null(cz_zoo_build(name, &o, &a));
  assert_null(cz_zoo_build(name, &o, &b));
  o.seed = 1;
  assert_null(cz_zoo_build(name, &o, &c));
  int v = cz_graph_find_value(a, "fc.weight");
  size_t bytes = (size_t)cz_shape_numel(&a->values[v].shape) * sizeof(float);
  assert_memory_equal(a->values[v].data, b->values[v].data, bytes);
  assert_memory_not_equal(a->values[v].data, c->values[v].data, bytes);
  cz_graph_free(a);
  cz_graph_free(b);
  cz_graph_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_laws),
      cmocka_unit_test(test_seed_changes_weights),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
