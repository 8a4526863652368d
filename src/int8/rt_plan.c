/* The int8 executor (see rt_plan.h): entry quantization, the steps, the
 * output dequantization; each step's rows split between threads. */
#include "int8/rt_plan.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/k_simd.h"

/* Multiply-adds that make a second thread worth its fork and barrier. */
#define RT_WORK_PER_THREAD 200000

/* ONNX QuantizeLinear: x / scale rounded half to even, plus the zero point,
 * saturated (the int8 domain: a uint8 tensor's range shifted by -128). */
static void quantize_in(const rt_tensor *t, const float *x, int64_t n, int8_t *q) {
  for (int64_t i = 0; i < n; i++) {
    float v = nearbyintf(x[i] / t->scale) + (float)t->zp;
    v = v < -128.f ? -128.f : v > 127.f ? 127.f : v;
    q[i] = (int8_t)v;
  }
}

static void run_step(const rt_plan *p, const rt_step *s, int n, int r0, int r1, void *scratch,
                     int ref) {
  const int8_t *a = p->tensors[s->in0].data;
  const int8_t *b = s->in1 >= 0 ? p->tensors[s->in1].data : NULL;
  int8_t *y = p->tensors[s->out].data;
  (void)n;
  switch (s->kind) {
  case RT_STEP_CONV:
    if (ref) rt_conv_ref(&s->conv.p, a, y, r0, r1);
    else rt_conv_fast_run(&s->conv, a, y, r0, r1, scratch);
    break;
  case RT_STEP_ADD:
    if (ref) rt_add_ref(&s->add, a, b, y, r0, r1);
    else rt_add_fast(&s->add, a, b, y, r0, r1);
    break;
  case RT_STEP_MUL: rt_mul_ref(&s->mul, a, b, y, r0, r1); break;
  case RT_STEP_LUT: rt_lut_ref(s->lut, s->lut_row, a, y, r0, r1); break;
  case RT_STEP_AVGPOOL: rt_avgpool_ref(&s->pool, a, y, r0, r1); break;
  case RT_STEP_MAXPOOL: rt_maxpool_ref(&s->pool, a, y, r0, r1); break;
  case RT_STEP_GAVGPOOL: rt_gavgpool_ref(&s->pool, a, y, (int32_t *)scratch, r0, r1); break;
  case RT_STEP_COPY: rt_requant_copy_ref(&s->copy, a, y + s->out_off, r0, r1); break;
  case RT_STEP_MOVE: rt_move_ref(&s->move, a, y, r0, r1); break;
  case RT_STEP_SOFTMAX: rt_softmax_ref(&s->softmax, a, y, r0, r1); break;
  }
}

static void run(rt_plan *p, const float *x, int n, float *out, int ref) {
  const rt_tensor *ti = &p->tensors[p->input];
  quantize_in(ti, x, (int64_t)n * ti->elems, p->tensors[p->input].data);
  for (int i = 0; i < p->n_steps; i++) {
    const rt_step *s = &p->steps[i];
    const int rows = n * s->rows;
    /* A parallel region costs a fork and a barrier: small steps (most of a
     * batch-1 run) stay on the calling thread. */
    const int64_t chunks = s->work * n / RT_WORK_PER_THREAD;
    const int nt = ref || chunks < 2 ? 1 : cz_k_threads(chunks < rows ? chunks : rows);
    if (nt <= 1) {
      run_step(p, s, n, 0, rows, p->scratch, ref);
      continue;
    }
#pragma omp parallel num_threads(nt)
    {
      const int t = omp_get_thread_num(), k = omp_get_num_threads();
      const int r0 = (int)((int64_t)rows * t / k), r1 = (int)((int64_t)rows * (t + 1) / k);
      if (r1 > r0)
        run_step(p, s, n, r0, r1, (char *)p->scratch + (size_t)t * p->scratch_slot, ref);
    }
  }
  const rt_tensor *to = &p->tensors[p->output];
  for (int64_t i = 0; i < (int64_t)n * to->elems; i++)
    out[i] = ((float)to->data[i] - (float)to->zp) * to->scale;
}

void rt_plan_run(rt_plan *p, const float *x, int n, float *out) { run(p, x, n, out, 0); }
void rt_plan_run_ref(rt_plan *p, const float *x, int n, float *out) { run(p, x, n, out, 1); }

const int8_t *rt_plan_output_q(const rt_plan *p) { return p->tensors[p->output].data; }

void rt_plan_free(rt_plan *p) {
  if (!p) return;
  for (int i = 0; i < p->n_tensors; i++) {
    free(p->tensors[i].name);
    free(p->tensors[i].data);
  }
  for (int i = 0; i < p->n_steps; i++) {
    rt_step *s = &p->steps[i];
    free(s->node);
    if (s->kind == RT_STEP_CONV) rt_conv_fast_free(&s->conv);
    free(s->pool_mult);
    free(s->pool_shift);
    for (int k = 0; k < 6; k++) free(s->own[k]);
  }
  free(p->tensors);
  free(p->steps);
  free(p->scratch);
  free(p);
}
