/* The int8 engine (src/int8: lowering, plan, kernels) on onnxruntime's
 * quantize_static QDQ files of czoo-exported zoo models (the fixtures of
 * test_qdq: per channel / per tensor, int8 / uint8 activations): each file
 * lowers (ShuffleNet's Split and channel shuffle included), the fast
 * kernels give the reference kernels' int8 outputs bit for bit, and the
 * dequantized outputs are within one output
 * quantization step of onnxruntime's (its Q/DQ nodes run as written) on
 * most values. Needs CZOO_QDQ_DIR; prints the measured figures. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "int8/rt_lower.h"
#include "kernels/k_simd.h"
#include "onnx/onnx_import.h"
#include "tensor_file.h"
#include "util/mem.h"

static char *path_join(const char *d, const char *f) { return cz_asprintf("%s/%s", d, f); }

/* NCHW float images to NHWC. */
static float *to_nhwc(const float *x, int n, int c, int h, int w) {
  float *y = cz_xmalloc((size_t)n * c * h * w * sizeof *y);
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < h * w; i++) y[((size_t)b * h * w + i) * c + ch] = x[((size_t)b * c + ch) * h * w + i];
  return y;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_zoo_qdq(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_QDQ_DIR");
  if (!dir) fail_msg("CZOO_QDQ_DIR is not set (the QDQ files of the test_qdq fixtures)");
  DIR *dp = opendir(dir);
  if (!dp) fail_msg("cannot open %s", dir);
  char *names[256];
  int nn = 0;
  for (struct dirent *e; (e = readdir(dp)) && nn < 256;) {
    size_t l = strlen(e->d_name);
    /* onnxruntime's files only: test_qdq's check stage writes its round
     * trips beside them as <name>.rt.onnx, with no bundle of their own */
    if (strstr(e->d_name, "_qdq_") && l > 5 && strcmp(e->d_name + l - 5, ".onnx") == 0 &&
        !(l > 8 && strcmp(e->d_name + l - 8, ".rt.onnx") == 0))
      names[nn++] = cz_xstrdup(e->d_name);
  }
  closedir(dp);
  qsort(names, (size_t)nn, sizeof *names, cmp_str);
  assert_true(nn >= 8);
  int lowered = 0;
  for (int i = 0; i < nn; i++) {
    char *onnx = path_join(dir, names[i]);
    char *czt = cz_xstrdup(onnx);
    strcpy(czt + strlen(czt) - 5, ".czt");
    ct_bundle *b = ct_bundle_read(czt);
    const ct_tensor *x = ct_bundle_need(b, "input"), *ref = ct_bundle_need(b, "ort_fakequant");
    const float step = *(const float *)ct_bundle_need(b, "output_scale")->data;
    cz_graph *g = NULL;
    cz_err *e = cz_onnx_import(onnx, &g);
    if (e) fail_msg("%s: %s", onnx, cz_err_msg(e));
    const int n = (int)x->shape.d[0];
    rt_plan *p = NULL;
    e = rt_lower(g, n, names[i], &p);
    {
      if (e) fail_msg("%s", cz_err_msg(e));
      lowered++;
      float *xh = to_nhwc(x->data, n, (int)x->shape.d[1], (int)x->shape.d[2], (int)x->shape.d[3]);
      const int k = p->out_dims;
      float *y = cz_xmalloc((size_t)n * k * sizeof *y), *yr = cz_xmalloc((size_t)n * k * sizeof *yr);
      int8_t *q = cz_xmalloc((size_t)n * k);
      rt_plan_run_ref(p, xh, n, yr);
      memcpy(q, rt_plan_output_q(p), (size_t)n * k);
      for (int isa = CZ_ISA_GENERIC; isa <= CZ_ISA_AVX512; isa++) {
        cz_k_isa_cap((cz_isa)isa);
        rt_plan_run(p, xh, n, y);
        assert_memory_equal(q, rt_plan_output_q(p), (size_t)n * k);
      }
      cz_k_isa_cap(CZ_ISA_AVX512);
      int within = 0, exact = 0;
      double worst = 0;
      const float *o = ref->data;
      for (int j = 0; j < n * k; j++) {
        double d = fabs((double)y[j] - o[j]) / step;
        within += d <= 1.0 + 1e-3;
        exact += d < 1e-3;
        worst = d > worst ? d : worst;
      }
      printf("%-44s %d steps, outputs within one step of onnxruntime %d/%d (exact %d), "
             "worst %.1f steps\n", names[i], p->n_steps, within, n * k, exact, worst);
      /* Measured: every value equal (0 steps); one step allowed. */
      assert_true(within >= (int)(0.99 * n * k));
      free(xh), free(y), free(yr), free(q);
    }
    rt_plan_free(p);
    cz_graph_free(g);
    ct_bundle_free(b);
    free(onnx), free(czt), free(names[i]);
  }
  assert_true(lowered >= 12);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_zoo_qdq)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
