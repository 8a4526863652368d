/* Tests of where pretrained weights are searched (cz_zoo_find_weights: the
 * explicit path, $CZOO_WEIGHTS, each tool's cache under a fake HOME) and of
 * moving weights between a graph and a state_dict (cz_graph_load_dict,
 * cz_graph_to_dict) on a small conv-bn-linear network. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph/graph_dict.h"
#include "util/mem.h"
#include "zoo/zoo_layers.h"
#include "zoo/zoo_pretrained.h"

static char g_tmp[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/czoo_zp_XXXXXX");
  if (!mkdtemp(g_tmp)) return -1;
  setenv("HOME", g_tmp, 1);
  unsetenv("CZOO_WEIGHTS"), unsetenv("TORCH_HOME"), unsetenv("XDG_CACHE_HOME");
  unsetenv("HF_HOME"), unsetenv("HF_HUB_CACHE");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates g_tmp/rel (and its folders); returns the full path (malloc'd). */
static char *touch(const char *rel) {
  char *p = cz_asprintf("%s/%s", g_tmp, rel);
  for (char *s = p + strlen(g_tmp) + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fputs("x", f);
  fclose(f);
  return p;
}

#define ENTRY(n, s, r) {.name = n, .source = s, .reference = r}
static const cz_zoo_entry kSt = ENTRY("st_resnetpico_actrelu_pt", "st", "STResNetPico");
static const cz_zoo_entry kTimm = ENTRY("mobilenetv2_a100_pt", "timm", "mobilenetv2_100");
static const cz_zoo_entry kCv = ENTRY("mobilenet_a025_pt", "pytorchcv", "mobilenet_wd4");
static const cz_zoo_entry kTv = ENTRY("shufflenetv2_x050_pt", "torchvision", "shufflenet_v2_x0_5");

static void expect_found(const cz_zoo_entry *e, const char *explicit_path, const char *want) {
  char *got = NULL;
  cz_err *err = cz_zoo_find_weights(e, explicit_path, &got);
  if (err) fail_msg("%s", cz_err_msg(err));
  assert_string_equal(got, want);
  free(got);
}

static void test_caches_in_order(void **state) {
  (void)state;
  char *hf = touch(".cache/huggingface/hub/models--timm--mobilenetv2_100.ra_in1k/snapshots/abc/"
                   "model.safetensors");
  expect_found(&kTimm, NULL, hf);
  /* torch hub's checkpoints come before the Hugging Face cache */
  char *th = touch(".cache/torch/hub/checkpoints/mobilenetv2_100_ra-b33bc2c4.pth");
  expect_found(&kTimm, NULL, th);
  char *st = touch(".cache/model_weights/st_resnetpico_actrelu_pt_224.pth.tar");
  expect_found(&kSt, NULL, st);
  char *cv = touch(".torch/models/mobilenet_wd4-2524-a2468611.pth");
  expect_found(&kCv, NULL, cv);
  char *tv = touch(".cache/torch/hub/checkpoints/shufflenetv2_x0.5-f707e7126e.pth");
  expect_found(&kTv, NULL, tv);
  /* $CZOO_WEIGHTS (a folder) before the caches, the explicit path first */
  char *env = touch("w/mobilenetv2_a100_pt.safetensors");
  char *dir = cz_asprintf("%s/w", g_tmp);
  setenv("CZOO_WEIGHTS", dir, 1);
  expect_found(&kTimm, NULL, env);
  char *mine = touch("mine.pth");
  expect_found(&kTimm, mine, mine);
  unsetenv("CZOO_WEIGHTS");
  free(hf), free(th), free(st), free(cv), free(tv), free(env), free(dir), free(mine);
}

static void test_not_found_lists_places(void **state) {
  (void)state;
  char *got = NULL;
  cz_err *err = cz_zoo_find_weights(&kSt, NULL, &got);
  assert_non_null(err);
  assert_null(got);
  const char *m = cz_err_msg(err);
  assert_non_null(strstr(m, "no weights file for st_resnetpico_actrelu_pt"));
  assert_non_null(strstr(m, "/.cache/model_weights/{st_resnetpico_actrelu_pt.pth.tar"));
  assert_non_null(strstr(m, "st_resnetpico_actrelu_pt_*.pth.tar"));
  assert_non_null(strstr(m, "/.cache/torch/hub/checkpoints/{"));
  assert_non_null(strstr(m, "model.pretrained: False"));
  assert_int_equal(cz_err_code(err), CZ_EXIT_USAGE);
  cz_err_free(err);
  err = cz_zoo_find_weights(&kSt, "/nonexistent/w.pth", &got);
  assert_non_null(err);
  assert_string_equal(cz_err_msg(err),
                      "model.pretrained_path = '/nonexistent/w.pth': no such file or folder "
                      "(expected a weights file for st_resnetpico_actrelu_pt, or a folder "
                      "holding one)");
  cz_err_free(err);
}

/* input -> conv1 (3->4, k3) -> bn1 -> relu -> gap -> flatten -> fc (4->classes) */
static cz_graph *tiny(int classes) {
  cz_graph *g = cz_graph_new("tiny");
  cz_zoo_opts o = {.num_classes = classes, .channels = 3, .height = 8, .width = 8};
  zl_ctx c;
  int x = cz_graph_input(g, "input", CZ_F32, cz_shape4(1, 3, 8, 8));
  zl_init(&c, g, &o, x, 1e-5f, 0.1f);
  x = zl_conv(&c, x, (zl_conv_spec){.cout = 4, .k = 3, .pad = -1}, "conv1");
  x = zl_bn(&c, x, "bn1");
  x = zl_act_node(&c, x, ZL_RELU, "relu1");
  x = zl_flatten(&c, zl_global_avgpool(&c, x));
  x = zl_linear(&c, x, classes, true, "fc");
  cz_graph_mark_output(g, x);
  zl_free(&c);
  assert_null(cz_graph_toposort(g));
  assert_null(cz_graph_infer(g));
  return g;
}

static void test_graph_dict_roundtrip(void **state) {
  (void)state;
  cz_graph *a = tiny(10);
  float *w = a->values[cz_graph_find_value(a, "conv1.weight")].data;
  for (int i = 0; i < 4 * 3 * 9; i++) w[i] = (float)i;
  cz_tensor_dict *d = cz_graph_to_dict(a);
  static const char *const names[] = {"conv1.weight", "bn1.weight", "bn1.bias",
                                      "bn1.running_mean", "bn1.running_var",
                                      "bn1.num_batches_tracked", "fc.weight", "fc.bias"};
  assert_int_equal(d->n, 8);
  for (int i = 0; i < 8; i++) assert_string_equal(d->t[i].name, names[i]);
  assert_int_equal(d->t[5].dtype, CZ_I64);
  assert_int_equal(d->t[5].shape.rank, 0);

  cz_graph *b = tiny(10);
  cz_load_report r;
  assert_null(cz_graph_load_dict(b, d, true, "a.pth", &r));
  assert_int_equal(r.loaded, 7);
  assert_int_equal(r.total, 7);
  assert_int_equal(r.skipped + r.missing, 0);
  cz_load_report_free(&r);
  assert_memory_equal(b->values[cz_graph_find_value(b, "conv1.weight")].data, w, 4 * 27 * 4);

  /* another class count: strict fails and copies nothing; partial skips fc */
  cz_graph *c = tiny(3);
  cz_err *err = cz_graph_load_dict(c, d, true, "a.pth", NULL);
  assert_non_null(err);
  assert_string_equal(cz_err_msg(err),
                      "a.pth does not fit model tiny: 2 tensor(s) skipped [fc.weight [10,4] "
                      "(the model has [3,4]), fc.bias [10] (the model has [3])], 2 missing "
                      "[fc.weight, fc.bias]");
  cz_err_free(err);
  assert_float_equal(((float *)c->values[cz_graph_find_value(c, "conv1.weight")].data)[5], 0.0f,
                     0);
  assert_null(cz_graph_load_dict(c, d, false, "a.pth", &r));
  assert_int_equal(r.loaded, 5);
  assert_int_equal(r.skipped, 2);
  assert_int_equal(r.missing, 2);
  assert_string_equal(r.missing_names, "fc.weight, fc.bias");
  cz_load_report_free(&r);
  assert_float_equal(((float *)c->values[cz_graph_find_value(c, "conv1.weight")].data)[5], 5.0f,
                     0);

  /* an unknown name is skipped; a float tensor stored as int64 is an error */
  assert_null(cz_tdict_add(d, "extra.weight", CZ_F32, cz_shape1(2), NULL));
  assert_null(cz_graph_load_dict(b, d, false, "a.pth", &r));
  assert_int_equal(r.skipped, 1);
  assert_string_equal(r.skipped_names, "extra.weight (not in the model)");
  cz_load_report_free(&r);
  cz_tensor_dict *bad = cz_tdict_new();
  assert_null(cz_tdict_add(bad, "fc.bias", CZ_I64, cz_shape1(10), NULL));
  err = cz_graph_load_dict(b, bad, false, "b.pth", NULL);
  assert_non_null(err);
  assert_string_equal(cz_err_msg(err), "b.pth: tensor 'fc.bias' is int64, expected float32");
  cz_err_free(err);
  cz_tdict_free(bad);
  cz_tdict_free(d);
  cz_graph_free(a), cz_graph_free(b), cz_graph_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_caches_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_found_lists_places, setup, teardown),
      cmocka_unit_test(test_graph_dict_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
