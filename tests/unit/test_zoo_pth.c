/* The zoo's models with the reference's own files: every `<model>.pth`
 * that an oracle fixture saved with torch.save (the reference model's
 * state_dict) is read through czoo's checkpoint reader (cz_weights_read:
 * zip + restricted unpickler) and must load strictly by name (nothing
 * skipped or missing), bit-identical to the bundle's copy of the same
 * tensors, and give the reference's logits within 1e-4 (max|d| / max|ref|).
 * czoo then writes the model's weights back (cz_zoo_save_weights) into
 * CZOO_ZOO_OUT, where tests/oracle/check_zoo_written.py loads them strictly
 * into the reference model. Folders: CZOO_ZOO_DIRS (colon-separated);
 * CZOO_ZOO_MODELS (comma-separated) narrows the models (valgrind). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "graph/graph_dict.h"
#include "io/weights_file.h"
#include "tensor_file.h"
#include "util/mem.h"
#include "zoo/zoo.h"
#include "zoo/zoo_pretrained.h"

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

/* The families' oracles name them "input"/"logits" (gen_zoo_pytorchcv.py)
 * or "x"/"pt32" (gen_zoo.py: PyTorch's float32 logits). */
static const ct_tensor *bundle_input(const ct_bundle *b) {
  const ct_tensor *t = ct_bundle_get(b, "input");
  return t ? t : ct_bundle_need(b, "x");
}
static const ct_tensor *bundle_logits(const ct_bundle *b) {
  const ct_tensor *t = ct_bundle_get(b, "logits");
  return t ? t : ct_bundle_need(b, "pt32");
}

static double logits_error(cz_graph *g, const ct_bundle *b) {
  cz_exec_opts eo = {0};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, &eo, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_exec_set_input(ex, 0, bundle_input(b)->data, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  const ct_tensor *ref = bundle_logits(b);
  assert_int_equal(cz_numel(&y), cz_shape_numel(&ref->shape));
  const float *a = cz_f32(&y), *r = ref->data;
  double d = 0, m = 0;
  for (int64_t i = 0; i < cz_numel(&y); i++) {
    d = fmax(d, fabs((double)a[i] - r[i]));
    m = fmax(m, fabs((double)r[i]));
  }
  cz_exec_free(ex);
  return d / m;
}

static void check_model(const char *dir, const char *name, const char *out_dir) {
  char *czt = cz_asprintf("%s/%s.czt", dir, name), *pth = cz_asprintf("%s/%s.pth", dir, name);
  ct_bundle *b = ct_bundle_read(czt);
  const ct_tensor *x = bundle_input(b), *lg = bundle_logits(b);
  const cz_zoo_entry *e = cz_zoo_find(name);
  if (!e) fail_msg("%s: no zoo model of that name", czt);
  cz_zoo_opts o = cz_zoo_default_opts(e);
  o.batch = (int)x->shape.d[0];
  o.channels = (int)x->shape.d[1];
  o.height = (int)x->shape.d[2];
  o.width = (int)x->shape.d[3];
  o.num_classes = (int)lg->shape.d[1];
  cz_graph *g = NULL;
  cz_err *err = cz_zoo_build(name, &o, &g);
  if (err) fail_msg("%s", cz_err_msg(err));

  cz_tensor_dict *d = NULL;
  if ((err = cz_weights_read(pth, &d))) fail_msg("%s", cz_err_msg(err));
  cz_load_report r;
  if ((err = cz_graph_load_dict(g, d, true, pth, &r))) fail_msg("%s", cz_err_msg(err));
  assert_int_equal(r.loaded, r.total);
  cz_load_report_free(&r);
  cz_tensor_dict *ref = ct_bundle_to_dict(b, "sd/");
  assert_int_equal(d->n, ref->n);
  for (int i = 0; i < ref->n; i++) {
    const cz_named_tensor *a = cz_tdict_get(d, ref->t[i].name);
    if (!a) fail_msg("%s: '%s' not read from %s", name, ref->t[i].name, pth);
    assert_true(cz_shape_eq(&a->shape, &ref->t[i].shape));
    assert_int_equal(a->dtype, ref->t[i].dtype);
    size_t bytes = (size_t)cz_shape_numel(&a->shape) * cz_dtype_size(a->dtype);
    assert_memory_equal(a->data, ref->t[i].data, bytes);
  }
  /* the config path: partial load with its log line */
  if ((err = cz_zoo_load_weights(g, pth))) fail_msg("%s", cz_err_msg(err));
  double rel = logits_error(g, b);
  printf("%-26s %3d tensors read from %s, logits max|d|/max|ref| %.2g (bound 1e-4)\n", name,
         d->n, pth, rel);
  assert_true(rel <= 1e-4);
  if (out_dir) {
    char *w = cz_asprintf("%s/%s.pth", out_dir, name);
    if ((err = cz_zoo_save_weights(g, w))) fail_msg("%s", cz_err_msg(err));
    free(w);
  }
  cz_tdict_free(ref);
  cz_tdict_free(d);
  cz_graph_free(g);
  ct_bundle_free(b);
  free(czt);
  free(pth);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_reference_files(void **state) {
  (void)state;
  const char *dirs = getenv("CZOO_ZOO_DIRS"), *out = getenv("CZOO_ZOO_OUT");
  if (!dirs || !*dirs) fail_msg("CZOO_ZOO_DIRS is not set (the oracle fixtures' folders)");
  if (out) mkdir(out, 0755);
  char *list = cz_xstrdup(dirs);
  int total = 0;
  for (char *save = NULL, *dir = strtok_r(list, ":", &save); dir;
       dir = strtok_r(NULL, ":", &save)) {
    DIR *dh = opendir(dir);
    if (!dh) fail_msg("cannot open oracle folder %s", dir);
    char *names[256];
    int n = 0;
    for (struct dirent *de; (de = readdir(dh)) && n < 256;) {
      size_t k = strlen(de->d_name);
      if (k > 4 && strcmp(de->d_name + k - 4, ".pth") == 0)
        names[n++] = cz_xstrndup(de->d_name, k - 4);
    }
    closedir(dh);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int here = 0;
    for (int i = 0; i < n; i++) {
      if (selected(names[i])) check_model(dir, names[i], out), here++, total++;
      free(names[i]);
    }
    if (!getenv("CZOO_ZOO_MODELS") && here == 0) fail_msg("no <model>.pth in %s", dir);
  }
  free(list);
  assert_true(total > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_reference_files)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
