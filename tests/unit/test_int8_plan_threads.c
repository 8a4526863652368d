/* The int8 executor's thread splits (src/int8/rt_plan.c): a batch split
 * by whole images between the pool's threads, a single image by the rows
 * of its large steps. On onnxruntime's QDQ files of two zoo models (the
 * test_qdq fixtures, 3x32x32), a plan for 32 images runs batches of 1, 3
 * and 32 on 1 and 2 threads at every instruction-set level, and each int8
 * output equals the reference kernels' run of the same batch bit for bit.
 * Needs CZOO_QDQ_DIR. */
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
#include "util/mem.h"
#include "util/rng.h"
#include "util/threads.h"

#define MAX_BATCH 32

static void check_model(const char *dir, const char *name) {
  char *path = cz_asprintf("%s/%s", dir, name);
  cz_graph *g = NULL;
  cz_err *e = cz_onnx_import(path, &g);
  if (e) fail_msg("%s: %s", path, cz_err_msg(e));
  rt_plan *p = NULL;
  e = rt_lower(g, MAX_BATCH, name, &p);
  if (e) fail_msg("%s: %s", path, cz_err_msg(e));
  const size_t img = (size_t)p->in_c * p->in_h * p->in_w, k = (size_t)p->out_dims;
  float *x = cz_xmalloc(MAX_BATCH * img * sizeof *x), *y = cz_xmalloc(MAX_BATCH * k * sizeof *y);
  int8_t *ref = cz_xmalloc(MAX_BATCH * k);
  cz_rng r = cz_rng_make(11, 0);
  for (size_t i = 0; i < MAX_BATCH * img; i++) x[i] = 3.f * cz_rng_uniformf(&r) - 1.5f;
  static const int batches[] = {1, 3, MAX_BATCH};
  for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++) {
    const int n = batches[bi];
    rt_plan_run_ref(p, x, n, y);
    memcpy(ref, rt_plan_output_q(p), (size_t)n * k);
    /* Images differ: a split that mixed them up would show. */
    if (n > 1) assert_true(memcmp(ref, ref + k, k) != 0);
    for (int threads = 1; threads <= 2; threads++) {
      cz_threads_set(threads);
      for (int isa = CZ_ISA_GENERIC; isa <= CZ_ISA_AVX512; isa++) {
        cz_k_isa_cap((cz_isa)isa);
        memset(p->tensors[p->output].data, 0x55, (size_t)n * k);
        rt_plan_run(p, x, n, y);
        if (memcmp(ref, rt_plan_output_q(p), (size_t)n * k) != 0)
          fail_msg("%s: batch %d, %d threads, %s: int8 outputs differ from the reference run",
                   name, n, threads, cz_k_isa_name(cz_k_isa()));
      }
      cz_k_isa_cap(CZ_ISA_AVX512);
    }
    printf("%-40s batch %2d: 1 and 2 threads, every ISA level, bit-exact\n", name, n);
  }
  cz_threads_set(0);
  free(x), free(y), free(ref), free(path);
  rt_plan_free(p);
  cz_graph_free(g);
}

static void test_plan_threads(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_QDQ_DIR");
  if (!dir) fail_msg("CZOO_QDQ_DIR is not set (the QDQ files of the test_qdq fixtures)");
  check_model(dir, "mobilenetv2_w035_pt_qdq_pc.onnx");
  check_model(dir, "st_resnetpico_actrelu_pt_qdq_pt_u8.onnx");
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_plan_threads)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
