/* ST's own zoo models (st_resnet*_actrelu_pt, the VWW MobileNetV1s)
 * against their reference definitions, which are not installable: the
 * parameter counts are written below, and every state_dict key with its
 * shape, in order, is read from tests/data/zoo/st_state_dicts.txt (listed
 * from the reference's model.state_dict(); its header says how). czoo's
 * export must equal that list exactly, num_batches_tracked included, and
 * the VWW MobileNetV1's fixed AvgPool2d must accept exactly the input
 * sizes the reference does. CZOO_ZOO_MODELS=a,b limits the models (the
 * valgrind run does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_dict.h"
#include "util/mem.h"
#include "zoo/zoo.h"

/* Parameter counts at num_classes = 1000 (sum of p.numel() over the
 * reference's parameters()). st_resnetpico by hand from stresnet_pico.py:
 * stem 9 + 1176 + 256 + BN 64 + proj 2048 = 3553; layer1 12864 + 10112;
 * layer2 14784 + 5760; layer3 12992 + 10368; layer4 24768 + 19584 (e.g.
 * layer4.0: conv1 256*8 + 8*8*9 + 8*512 = 6720, conv2 8768, downsample
 * 6208, three BNs of 512 at 1024 each); fc 512*1000 + 1000 = 513000.
 * The other four ST ResNets follow the same sums over their tables. As a
 * cross-check, the int8 "Weights Flash" that ST's model zoo README
 * publishes for them (STM32N6, BatchNorm folded into the convolutions) is
 * 5900 to 6100 bytes below each count, the same for all five: 607.27 KiB
 * (pico), 992.04 (nano), 1534.12 (micro), 3059.81 (milli), 4060.57 KiB
 * (tiny). The MobileNetV1 counts
 * equal pytorchcv's published mobilenet_w1 / mobilenet_wd4 counts
 * (4231976, 470072: the same architecture); the 96px variant differs
 * from the 0.25 one only in its parameter-free pool. */
static const struct {
  const char *name;
  long long params;
} kExpected[] = {
    {"st_resnetpico_actrelu_pt", 627785},   {"st_resnetnano_actrelu_pt", 1021769},
    {"st_resnetmicro_actrelu_pt", 1576841}, {"st_resnetmilli_actrelu_pt", 3139297},
    {"st_resnettiny_actrelu_pt", 4164065},  {"mobilenet_v1_pt", 4231976},
    {"mobilenet_v1_0.25_pt", 470072},       {"mobilenet_v1_0.25_96px_pt", 470072},
};
#define N_MODELS (int)(sizeof kExpected / sizeof kExpected[0])

static bool selected(const char *name) {
  const char *sel = getenv("CZOO_ZOO_MODELS");
  if (!sel || !*sel) return true;
  size_t n = strlen(name);
  for (const char *p = sel; (p = strstr(p, name)) != NULL; p += n)
    if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
  return false;
}

/* The reference's list for one model: "key shape" lines. */
typedef struct {
  long long params;
  int n;
  char **keys, **shapes;
} ref_list;

static ref_list read_list(const char *model) {
  const char *dir = getenv("CZOO_TEST_DATA");
  char *path = cz_asprintf("%s/zoo/st_state_dicts.txt", dir ? dir : "tests/data");
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  ref_list r = {0};
  char line[256], name[128], shape[96];
  bool in = false;
  int want = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    long long p = 0;
    int count = 0;
    if (sscanf(line, "model %127s %lld %d", name, &p, &count) == 3) {
      in = strcmp(name, model) == 0;
      if (in) {
        r.params = p;
        want = count;
        r.keys = cz_xcalloc((size_t)want, sizeof *r.keys);
        r.shapes = cz_xcalloc((size_t)want, sizeof *r.shapes);
      }
      continue;
    }
    if (!in || sscanf(line, "%127s %95s", name, shape) != 2) continue;
    assert_true(r.n < want);
    r.keys[r.n] = cz_asprintf("%s", name);
    r.shapes[r.n++] = cz_asprintf("%s", shape);
  }
  fclose(f);
  free(path);
  if (!r.keys) fail_msg("model %s is not in st_state_dicts.txt", model);
  assert_int_equal(r.n, want);
  return r;
}

static void free_list(ref_list *r) {
  for (int i = 0; i < r->n; i++) free(r->keys[i]), free(r->shapes[i]);
  free(r->keys);
  free(r->shapes);
}

static void shape_text(const cz_shape *s, char *buf, size_t cap) {
  if (s->rank == 0) {
    snprintf(buf, cap, "scalar");
    return;
  }
  size_t k = 0;
  for (int i = 0; i < s->rank; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "x" : "", (long long)s->d[i]);
}

static void test_names_and_counts(void **state) {
  (void)state;
  for (int m = 0; m < N_MODELS; m++) {
    const char *name = kExpected[m].name;
    if (!selected(name)) continue;
    cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(name));
    cz_graph *g = NULL;
    cz_err *e = cz_zoo_build(name, &o, &g);
    if (e) fail_msg("%s", cz_err_msg(e));
    ref_list r = read_list(name);
    cz_tensor_dict *d = cz_graph_to_dict(g);
    long long params = (long long)cz_graph_param_count(g);
    printf("%-26s input %dx%d: %lld parameters (expected %lld, reference list %lld), "
           "%d state_dict entries (reference %d)\n",
           name, o.height, o.width, params, kExpected[m].params, r.params, d->n, r.n);
    assert_true(params == kExpected[m].params);
    assert_true(r.params == kExpected[m].params);
    for (int i = 0; i < d->n && i < r.n; i++) {
      char sh[96];
      shape_text(&d->t[i].shape, sh, sizeof sh);
      if (strcmp(d->t[i].name, r.keys[i]) != 0 || strcmp(sh, r.shapes[i]) != 0)
        fail_msg("%s state_dict entry %d: czoo '%s' %s, reference '%s' %s", name, i,
                 d->t[i].name, sh, r.keys[i], r.shapes[i]);
    }
    assert_int_equal(d->n, r.n);
    cz_tdict_free(d);
    free_list(&r);
    cz_graph_free(g);
  }
}

/* The sizes the reference MobileNetV1 (VWW) accepts, found by running it
 * at each: its AvgPool2d(7) (or 3) with stride = kernel needs a last map
 * of 7 to 13 (3 to 5), the stride-32 net's ceil(size / 32). */
static void test_mbv1_input_sizes(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int size;
    bool ok;
  } cases[] = {{"mobilenet_v1_pt", 192, false},           {"mobilenet_v1_pt", 193, true},
               {"mobilenet_v1_pt", 256, true},            {"mobilenet_v1_pt", 416, true},
               {"mobilenet_v1_pt", 417, false},           {"mobilenet_v1_0.25_pt", 224, true},
               {"mobilenet_v1_0.25_96px_pt", 64, false},  {"mobilenet_v1_0.25_96px_pt", 65, true},
               {"mobilenet_v1_0.25_96px_pt", 160, true},  {"mobilenet_v1_0.25_96px_pt", 161, false},
               {"st_resnetpico_actrelu_pt", 64, true}, /* global pool: any size */
               {"st_resnettiny_actrelu_pt", 300, true}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (!selected(cases[i].name)) continue;
    cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(cases[i].name));
    o.height = o.width = cases[i].size;
    cz_graph *g = NULL;
    cz_err *e = cz_zoo_build(cases[i].name, &o, &g);
    if (cases[i].ok != (e == NULL))
      fail_msg("%s at %d: expected %s, got %s", cases[i].name, cases[i].size,
               cases[i].ok ? "a model" : "an error", e ? cz_err_msg(e) : "a model");
    if (e) {
      printf("%s at %d: %s\n", cases[i].name, cases[i].size, cz_err_msg(e));
      assert_non_null(strstr(cz_err_msg(e), "input heights and widths"));
      assert_int_equal(cz_err_code(e), CZ_EXIT_USAGE);
    }
    cz_err_free(e);
    cz_graph_free(g);
  }
}

/* The 96px model defaults to 96x96 input; the others to 224x224. */
static void test_default_shapes(void **state) {
  (void)state;
  const cz_zoo_entry *e = cz_zoo_find("mobilenet_v1_0.25_96px_pt");
  assert_non_null(e);
  assert_int_equal(e->default_h, 96);
  assert_int_equal(e->default_w, 96);
  for (int m = 0; m < N_MODELS - 1; m++) {
    e = cz_zoo_find(kExpected[m].name);
    assert_non_null(e);
    assert_string_equal(e->source, "st");
    assert_int_equal(e->default_c, 3);
    assert_int_equal(e->default_h, 224);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_counts),
      cmocka_unit_test(test_mbv1_input_sizes),
      cmocka_unit_test(test_default_shapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
