/* ONNX import: (a) every zoo model exported by czoo (smallest accepted
 * input, 10 classes, BatchNorm statistics and biases randomized) imports
 * back and gives czoo's logits at batch 2 within 1e-5 relative
 * (max|d| / max|ref|); (b) the files torch.onnx.export wrote of the
 * torchvision (and timm) architectures (tests/oracle/gen_onnx_torch.py,
 * in CZOO_ONNX_TORCH_DIR; skipped when unset) give PyTorch's logits within
 * 1e-4 relative at batch 1 and 2; (c) bad files give exact error lines.
 * CZOO_ZOO_MODELS (comma-separated) narrows the zoo models and
 * CZOO_ONNX_TORCH_ONLY (a substring) the torch files (valgrind). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_proto.h"
#include "tensor_file.h"
#include "util/mem.h"
#include "zoo/zoo.h"

static char g_tmp[] = "/tmp/czoo_onnx_import_XXXXXX";

static bool selected(const char *name) {
  const char *sel = getenv("CZOO_ZOO_MODELS");
  if (!sel || !*sel) return true;
  size_t n = strlen(name);
  for (const char *p = sel; *p;) {
    const char *e = strchr(p, ',');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k == n && strncmp(p, name, n) == 0) return true;
    p += k + (e != NULL);
  }
  return false;
}

static float uniform(uint64_t *s, float lo, float hi) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (float)((*s >> 40) * (1.0 / 16777216.0));
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

static void perturb(cz_graph *g, uint64_t seed) {
  for (int i = 0; i < g->n_values; i++) {
    cz_value *v = &g->values[i];
    if (!v->data || v->dtype != CZ_F32 || (v->kind != CZ_V_PARAM && v->kind != CZ_V_BUFFER))
      continue;
    float lo, hi;
    if (ends_with(v->name, "running_var")) lo = 0.5f, hi = 1.5f;
    else if (ends_with(v->name, "running_mean") || ends_with(v->name, ".bias")) lo = -0.2f, hi = 0.2f;
    else continue;
    float *d = v->data;
    for (int64_t k = 0; k < cz_shape_numel(&v->shape); k++) d[k] = uniform(&seed, lo, hi);
  }
}

/* Eval-mode output 0 of g on x (NCHW, g's current batch), malloc'd. */
static float *run(cz_graph *g, const float *x, int64_t *n_out) {
  cz_exec_opts eo = {0};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, &eo, &ex);
  if (e) fail_msg("%s: %s", g->name, cz_err_msg(e));
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  *n_out = cz_numel(&y);
  float *r = cz_xmalloc((size_t)*n_out * sizeof *r);
  cz_relayout(y.data, y.layout, r, CZ_ROWMAJOR, &y.shape, sizeof(float));
  cz_exec_free(ex);
  return r;
}

static double rel_diff(const float *a, const float *ref, int64_t n) {
  double md = 0, mr = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - ref[i]);
    if (!(d <= md)) md = d; /* NaN propagates */
    if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
  }
  return md / (mr > 0 ? mr : 1);
}

static cz_graph *build_small(const cz_zoo_entry *z) {
  static const int sizes[] = {32, 65, 193, 213};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    cz_zoo_opts o = cz_zoo_default_opts(z);
    o.num_classes = 10;
    o.height = o.width = sizes[k];
    o.batch = 2;
    o.seed = 7;
    cz_graph *g = NULL;
    cz_err *e = cz_zoo_build(z->name, &o, &g);
    if (!e) return g;
    cz_err_free(e);
  }
  fail_msg("%s: builds at none of 32, 65, 193, 213", z->name);
  return NULL;
}

static cz_graph *import_ok(const char *path) {
  cz_graph *g = NULL;
  cz_err *e = cz_onnx_import(path, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  return g;
}

static void test_zoo_roundtrip(void **state) {
  (void)state;
  int done = 0;
  for (int i = 0; i < cz_zoo_count(); i++) {
    const cz_zoo_entry *z = cz_zoo_at(i);
    if (!selected(z->name)) continue;
    cz_graph *g = build_small(z);
    perturb(g, 1000 + (uint64_t)i);
    cz_graph_set_training(g, false);
    const cz_value *iv = &g->values[g->inputs[0]];
    int64_t n_in = cz_shape_numel(&iv->shape);
    float *x = cz_xmalloc((size_t)n_in * sizeof *x);
    uint64_t s = 12345 + (uint64_t)i;
    for (int64_t k = 0; k < n_in; k++) x[k] = uniform(&s, -1.0f, 1.0f);
    int64_t n_ref, n_got;
    float *ref = run(g, x, &n_ref);
    char *path = cz_asprintf("%s/%s.onnx", g_tmp, z->name);
    cz_err *e = cz_onnx_export(g, NULL, path);
    if (e) fail_msg("%s", cz_err_msg(e));
    cz_graph *h = import_ok(path);
    if ((e = cz_graph_set_batch(h, 2))) fail_msg("%s: %s", z->name, cz_err_msg(e));
    float *got = run(h, x, &n_got);
    assert_int_equal(n_got, n_ref);
    double r = rel_diff(got, ref, n_ref);
    printf("%-28s %3d nodes -> %3d nodes, max|d|/max|ref| = %.2e (tolerance 1e-5)\n", z->name,
           g->n_nodes, h->n_nodes, r);
    if (!(r <= 1e-5)) fail_msg("%s: relative difference %.3e > 1e-5", z->name, r);
    unlink(path);
    free(path), free(x), free(ref), free(got);
    cz_graph_free(g), cz_graph_free(h);
    done++;
  }
  assert_true(done > 0);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_torch_exports(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_ONNX_TORCH_DIR");
  if (!dir || !*dir) {
    printf("CZOO_ONNX_TORCH_DIR unset: torch.onnx.export files not checked\n");
    return;
  }
  DIR *d = opendir(dir);
  if (!d) fail_msg("cannot open %s", dir);
  char *names[64];
  int n = 0;
  const char *only = getenv("CZOO_ONNX_TORCH_ONLY"); /* a substring (valgrind) */
  for (struct dirent *de; (de = readdir(d)) && n < 64;)
    if (ends_with(de->d_name, ".onnx") && (!only || strstr(de->d_name, only)))
      names[n++] = cz_xstrdup(de->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  assert_true(n > 0);
  for (int i = 0; i < n; i++) {
    char *path = cz_asprintf("%s/%s", dir, names[i]);
    char *czt = cz_asprintf("%s/%.*s.czt", dir, (int)(strlen(names[i]) - 5), names[i]);
    ct_bundle *b = ct_bundle_read(czt);
    const ct_tensor *x = ct_bundle_need(b, "input"), *y = ct_bundle_need(b, "logits");
    cz_graph *g = import_ok(path);
    for (int64_t batch = 1; batch <= 2; batch++) {
      cz_err *e = cz_graph_set_batch(g, batch);
      if (e) fail_msg("%s: %s", names[i], cz_err_msg(e));
      int64_t ng;
      float *got = run(g, x->data, &ng);
      int64_t classes = y->shape.d[1];
      assert_int_equal(ng, batch * classes);
      double r = rel_diff(got, y->data, ng);
      printf("%-36s batch %lld: max|d|/max|ref| = %.2e (tolerance 1e-4)\n", names[i],
             (long long)batch, r);
      if (!(r <= 1e-4)) fail_msg("%s batch %lld: relative difference %.3e > 1e-4", names[i],
                                (long long)batch, r);
      free(got);
    }
    cz_graph_free(g);
    ct_bundle_free(b);
    free(path), free(czt), free(names[i]);
  }
}

/* ---- bad files ---- */

typedef enum { M_OK, M_UNKNOWN_OP, M_MISSING_INIT, M_CYCLE, M_HUGE_DIM, M_BAD_ATTR, M_SHAPES } mini_kind;

/* input [batch,3,4,4] -> Conv (1x1, 2 filters, "w") -> Relu -> output,
 * with the defect of `kind`. */
static void write_mini(const char *path, mini_kind kind) {
  ox_arena a = {0};
  Onnx__ModelProto m;
  onnx__model_proto__init(&m);
  m.has_ir_version = 1, m.ir_version = 8;
  Onnx__OperatorSetIdProto os;
  onnx__operator_set_id_proto__init(&os);
  os.domain = "", os.has_version = 1, os.version = 17;
  Onnx__OperatorSetIdProto *osp = &os;
  m.n_opset_import = 1, m.opset_import = &osp;
  Onnx__GraphProto gp;
  onnx__graph_proto__init(&gp);
  gp.name = "mini";
  m.graph = &gp;
  int64_t in_d[4] = {-1, 3, kind == M_HUGE_DIM ? (int64_t)1 << 40 : 4, 4}, out_d[4] = {-1, 2, 4, 4};
  ox_push(&a, &gp.n_input, (void ***)&gp.input, ox_value_info(&a, "input", CZ_F32, 4, in_d, "batch"));
  ox_push(&a, &gp.n_output, (void ***)&gp.output, ox_value_info(&a, "output", CZ_F32, 4, out_d, "batch"));
  float w[8] = {1, 2, 3, -1, -2, -3, 0, 0};
  cz_shape ws = cz_shape4(2, kind == M_SHAPES ? 4 : 3, 1, 1);
  ox_push(&a, &gp.n_initializer, (void ***)&gp.initializer, ox_tensor(&a, "w", CZ_F32, &ws, w));
  const char *cin[2] = {"input", kind == M_MISSING_INIT ? "w_missing" : "w"};
  const char *c_out = "c", *r_out = "output";
  const char *r_in = kind == M_CYCLE ? "r2out" : "c";
  ox_push(&a, &gp.n_node, (void ***)&gp.node, ox_node(&a, "Conv", "conv", 2, cin, 1, &c_out));
  Onnx__NodeProto *r1 = ox_node(&a, kind == M_UNKNOWN_OP ? "FancyOp" : "Relu",
                                kind == M_UNKNOWN_OP ? "mystery" : "r1", 1, &r_in, 1, &r_out);
  if (kind == M_BAD_ATTR) ox_attr_float(&a, r1, "alpha", 0.1f);
  ox_push(&a, &gp.n_node, (void ***)&gp.node, r1);
  if (kind == M_CYCLE) {
    const char *i2 = "output", *o2 = "r2out";
    ox_push(&a, &gp.n_node, (void ***)&gp.node, ox_node(&a, "Relu", "r2", 1, &i2, 1, &o2));
  }
  size_t n = onnx__model_proto__get_packed_size(&m);
  uint8_t *buf = cz_xmalloc(n);
  onnx__model_proto__pack(&m, buf);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, n, f), n);
  fclose(f);
  free(buf);
  ox_arena_free(&a);
}

static void write_bytes(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* The import fails with exactly `want` (a '*' at its end: a prefix). */
static void expect(const char *path, const char *want) {
  cz_graph *g = NULL;
  cz_err *e = cz_onnx_import(path, &g);
  if (!e) fail_msg("%s imported, expected: %s", path, want);
  const char *msg = cz_err_msg(e);
  printf("expected error: %s\n", msg);
  size_t wl = strlen(want);
  bool ok = want[wl - 1] == '*' ? strncmp(msg, want, wl - 1) == 0 : strcmp(msg, want) == 0;
  if (!ok) fail_msg("got '%s', expected '%s'", msg, want);
  assert_null(g);
  cz_err_free(e);
}

static void test_bad_files(void **state) {
  (void)state;
  char *p = cz_asprintf("%s/mini.onnx", g_tmp), *w = NULL;
  write_mini(p, M_OK); /* the defect-free file imports and computes */
  cz_graph *g = import_ok(p);
  float x[48], *y;
  for (int i = 0; i < 48; i++) x[i] = (float)(i % 7) - 3.0f;
  int64_t ny;
  y = run(g, x, &ny);
  assert_int_equal(ny, 32);
  for (int k = 0; k < 16; k++) {
    float c0 = x[k] + 2 * x[16 + k] + 3 * x[32 + k];
    assert_float_equal(y[k], c0 > 0 ? c0 : 0, 0); /* exact: small integers */
    assert_float_equal(y[16 + k], -c0 > 0 ? -c0 : 0, 0);
  }
  free(y);
  cz_graph_free(g);

  /* truncated: the first 60 bytes of the good file */
  FILE *f = fopen(p, "rb");
  uint8_t buf[60];
  assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof buf);
  fclose(f);
  char *t = cz_asprintf("%s/truncated.onnx", g_tmp);
  write_bytes(t, buf, sizeof buf);
  expect(t, w = cz_asprintf("ONNX '%s': not a valid ONNX protobuf (truncated or not an ONNX "
                            "model)", t));
  free(w), free(t);

  uint8_t rnd[512];
  uint64_t s = 77;
  for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (uint8_t)(uniform(&s, 0, 256));
  t = cz_asprintf("%s/random.onnx", g_tmp);
  write_bytes(t, rnd, sizeof rnd);
  expect(t, w = cz_asprintf("ONNX '%s': not a valid ONNX protobuf (truncated or not an ONNX "
                            "model)", t));
  free(w), free(t);

  t = cz_asprintf("%s/empty.onnx", g_tmp);
  write_bytes(t, NULL, 0);
  expect(t, w = cz_asprintf("ONNX '%s': the file is empty", t));
  free(w), free(t);

  write_mini(p, M_UNKNOWN_OP);
  expect(p, w = cz_asprintf("ONNX '%s': node 'mystery' (FancyOp): op 'FancyOp' is not "
                            "supported (supported: Add, AveragePool, *", p));
  free(w);
  write_mini(p, M_MISSING_INIT);
  expect(p, w = cz_asprintf("ONNX '%s': node 'conv' (Conv): input 'w_missing' is not an "
                            "initializer, a graph input or any node's output", p));
  free(w);
  write_mini(p, M_CYCLE);
  expect(p, w = cz_asprintf("ONNX '%s': the nodes form a cycle (through node 'r1' (Relu))", p));
  free(w);
  write_mini(p, M_HUGE_DIM);
  expect(p, w = cz_asprintf("ONNX '%s': graph input 'input': dimension 2 is 1099511627776, "
                            "expected 1 to 1048576", p));
  free(w);
  write_mini(p, M_BAD_ATTR);
  expect(p, w = cz_asprintf("ONNX '%s': node 'r1' (Relu): attribute 'alpha' is not supported "
                            "(supported: none)", p));
  free(w);
  write_mini(p, M_SHAPES);
  expect(p, w = cz_asprintf("ONNX '%s': node 'conv' (Conv): weight 'w' has shape [2,4,1,1]: "
                            "expected 3 input channels per group (C/group = 3/1) for input "
                            "'input' [1,3,4,4]", p));
  free(w);
  t = cz_asprintf("%s/absent.onnx", g_tmp);
  expect(t, w = cz_asprintf("ONNX '%s': cannot open: No such file or directory", t));
  free(w), free(t);
  free(p);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char *cmd = cz_asprintf("rm -rf '%s'", g_tmp);
  int rc = system(cmd);
  free(cmd);
  return rc == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_zoo_roundtrip),
      cmocka_unit_test(test_torch_exports),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
