/* The int8 executor (see rt_plan.h): entry quantization, the steps, the
 * output dequantization. A batch is split between threads by whole images
 * (no barrier between steps); a single image by the rows of its large steps. */
#include "int8/rt_plan.h"

#include <math.h>
#include <stdbool.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/k_simd.h"
#include "util/pool.h"

#if CZ_K_X86
#include <immintrin.h>
#endif

/* Multiply-adds that make a second thread worth its fork and barrier. */
#define RT_WORK_PER_THREAD 200000
/* Most images one job of a batch run takes. */
#define RT_IMAGES_PER_JOB 4

/* ONNX QuantizeLinear: x / scale rounded half to even, plus the zero point,
 * saturated (the int8 domain: a uint8 tensor's range shifted by -128). */
static void quantize_ref(const rt_tensor *t, const float *x, int64_t i, int64_t n, int8_t *q) {
  for (; i < n; i++) {
    float v = nearbyintf(x[i] / t->scale) + (float)t->zp;
    v = v < -128.f ? -128.f : v > 127.f ? 127.f : v;
    q[i] = (int8_t)v;
  }
}

#if CZ_K_X86
/* The same 8 at a time: the division is IEEE's either way, the rounding
 * the same mode, the rest exact on integers held as floats. */
CZ_K_TARGET_AVX2 static int64_t quantize_avx2(const rt_tensor *t, const float *x, int64_t n,
                                              int8_t *q) {
  const __m256 s = _mm256_set1_ps(t->scale), zp = _mm256_set1_ps((float)t->zp);
  const __m256 lo = _mm256_set1_ps(-128.f), hi = _mm256_set1_ps(127.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), s),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, zp), lo), hi);
    const __m256i w = _mm256_cvttps_epi32(v);
    const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
    _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(h, h));
  }
  return i;
}
#endif

static void quantize_in(const rt_tensor *t, const float *x, int64_t n, int8_t *q, int ref) {
  int64_t i = 0;
#if CZ_K_X86
  if (!ref && cz_k_isa() >= CZ_ISA_AVX2) i = quantize_avx2(t, x, n, q);
#endif
  quantize_ref(t, x, i, n, q);
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
  case RT_STEP_GAVGPOOL:
    if (ref) rt_gavgpool_ref(&s->pool, a, y, (int32_t *)scratch, r0, r1);
    else rt_gavgpool_fast(&s->pool, a, y, (int32_t *)scratch, r0, r1);
    break;
  case RT_STEP_COPY: rt_requant_copy_ref(&s->copy, a, y + s->out_off, r0, r1); break;
  }
}

/* One step's rows split into jobs of the kernels' pool (util/pool.h). */
typedef struct {
  const rt_plan *p;
  const rt_step *s;
  int n, rows, njobs;
} step_job;

/* A step with fewer rows than threads (a fully connected layer of one
 * image): its output channel blocks split instead. */
static void col_job_fn(void *ctx, int64_t j, int slot) {
  const step_job *c = ctx;
  const int nb = rt_conv_fast_col_blocks(&c->s->conv);
  const int j0 = (int)((int64_t)nb * j / c->njobs), j1 = (int)((int64_t)nb * (j + 1) / c->njobs);
  if (j1 > j0)
    rt_conv_fast_run_cols(&c->s->conv, c->p->tensors[c->s->in0].data,
                          c->p->tensors[c->s->out].data, 0, c->rows, j0, j1,
                          (char *)c->p->scratch + (size_t)slot * c->p->scratch_slot);
}

static void step_job_fn(void *ctx, int64_t j, int slot) {
  const step_job *c = ctx;
  const int r0 = (int)((int64_t)c->rows * j / c->njobs);
  const int r1 = (int)((int64_t)c->rows * (j + 1) / c->njobs);
  if (r1 > r0)
    run_step(c->p, c->s, c->n, r0, r1, (char *)c->p->scratch + (size_t)slot * c->p->scratch_slot,
             0);
}

static void run_rows(const rt_plan *p, int i, int i0, int i1, void *scratch, int ref) {
  const rt_step *s = &p->steps[i];
  const double t0 = p->prof ? omp_get_wtime() : 0;
  run_step(p, s, i1 - i0, i0 * s->rows, i1 * s->rows, scratch, ref);
  if (p->prof) p->prof[i] += omp_get_wtime() - t0;
}

/* Every step over images [i0, i1): kernel rows never cross an image, so
 * disjoint image ranges write disjoint rows of every tensor and need no
 * barrier between steps. The steps up to the closing run of one row per
 * image (pooled features, fully connected layers) go one image at a time,
 * so its activations stay in cache; that run takes the images together
 * (its weights are read once per tile of rows). */
static void run_images(const rt_plan *p, int i0, int i1, void *scratch, int ref) {
  int tail = p->n_steps;
  while (tail > 0 && p->steps[tail - 1].rows == 1) tail--;
  for (int b = i0; b < i1; b++)
    for (int i = 0; i < tail; i++) run_rows(p, i, b, b + 1, scratch, ref);
  for (int i = tail; i < p->n_steps; i++) run_rows(p, i, i0, i1, scratch, ref);
}

typedef struct {
  const rt_plan *p;
  int n, per;
} image_job;

static void image_job_fn(void *ctx, int64_t j, int slot) {
  const image_job *c = ctx;
  const int i0 = (int)j * c->per, i1 = i0 + c->per < c->n ? i0 + c->per : c->n;
  run_images(c->p, i0, i1, (char *)c->p->scratch + (size_t)slot * c->p->scratch_slot, 0);
}

static void run(rt_plan *p, const float *x, int n, float *out, int ref) {
  const rt_tensor *ti = &p->tensors[p->input];
  quantize_in(ti, x, (int64_t)n * ti->elems, p->tensors[p->input].data, ref);
  const int threads = ref ? 1 : cz_k_threads(CZ_K_SLOTS);
  const bool was = cz_pool_enable(true);
  if (threads <= 1 || p->prof) {
    run_images(p, 0, n, p->scratch, ref);
  } else if (n >= 2) {
    /* Whole images per job, a few at a time (the GEMM tiles and the fully
     * connected layer's weight reads span them), claimed dynamically: a
     * descheduled thread simply takes fewer. */
    int per = (n + threads - 1) / threads;
    if (per > RT_IMAGES_PER_JOB) per = RT_IMAGES_PER_JOB;
    image_job c = {p, n, per};
    cz_pool_run((n + per - 1) / per, threads, image_job_fn, &c);
  } else {
    for (int i = 0; i < p->n_steps; i++) {
      const rt_step *s = &p->steps[i];
      const int rows = n * s->rows;
      /* A pool call costs a wake-up and a wait: small steps (most of a
       * batch-1 run) stay on the calling thread. */
      const int64_t chunks = s->work * n / RT_WORK_PER_THREAD;
      const int cols = rows < threads && s->kind == RT_STEP_CONV
                           ? rt_conv_fast_col_blocks(&s->conv) : 1;
      const int units = cols > 1 ? cols : rows;
      int64_t nj = chunks < units ? chunks : units;
      if (nj > 2 * threads) nj = 2 * threads;
      if (nj < 2) {
        run_step(p, s, n, 0, rows, p->scratch, 0);
        continue;
      }
      step_job c = {p, s, n, rows, (int)nj};
      cz_pool_run(nj, threads, cols > 1 ? col_job_fn : step_job_fn, &c);
    }
  }
  cz_pool_enable(was);
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
