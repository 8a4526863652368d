/* The int8 kernel library (src/int8): the requantization against its
 * definition in exact arithmetic, each reference kernel against an
 * independent formulation, and every fast variant bit-exact with its
 * reference over random shapes, values, zero points at the int8 edges,
 * multipliers above 1 and saturating outputs, split into row ranges as the
 * executor's threads call them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "int8/rt_avx2.h"
#include "int8/rt_fast.h"
#include "int8/rt_fast_priv.h"
#include "int8/rt_kernels.h"
#include "int8/rt_qmult.h"
#include "int8/rt_requant.h"
#include "kernels/k_simd.h"
#include "util/mem.h"
#include "util/rng.h"

static cz_rng g_rng;
static int rnd(int lo, int hi) { return lo + (int)(cz_rng_u32(&g_rng) % (uint32_t)(hi - lo + 1)); }
static void fill8(int8_t *p, long n) {
  for (long i = 0; i < n; i++) p[i] = (int8_t)rnd(-128, 127);
}
/* A zero point: the int8 edges a quarter of the time each way. */
static int32_t zp8(void) {
  int k = rnd(0, 7);
  return k == 0 ? -128 : k == 1 ? 127 : rnd(-128, 127);
}

/* acc * mult / 2^(31 - shift) rounded half up, in long double (64-bit
 * mantissa: the 62-bit product and the power-of-two division are exact). */
static int32_t requant_exact(int32_t acc, int32_t mult, int32_t shift) {
  long double v = (long double)acc * (long double)mult;
  for (int i = 0; i < 31 - shift; i++) v /= 2;
  long double f = v + 0.5L;
  long double r = (long double)(long long)f; /* truncation, then floor */
  if (r > f) r -= 1;
  if (r > INT32_MAX) r = INT32_MAX;
  if (r < INT32_MIN) r = INT32_MIN;
  return (int32_t)r;
}

static void test_requant_definition(void **state) {
  (void)state;
  const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 30,
                          -(1 << 30), 12345678, -12345678};
  for (int t = 0; t < 200000; t++) {
    int32_t a = t < 196 ? edge[t % 14] : (int32_t)cz_rng_u32(&g_rng);
    int32_t m = t < 196 ? (1 << 30) + (edge[t / 14] & 0x3FFFFFFF) : (int32_t)((1u << 30) | (cz_rng_u32(&g_rng) >> 2));
    if (t % 3 == 0) a >>= rnd(0, 30);
    int32_t sh = rnd(-31, 30);
    assert_int_equal(rt_requant(a, m, sh), requant_exact(a, m, sh));
  }
  /* Exact halves round up (toward +infinity). */
  assert_int_equal(rt_requant(1, 1 << 30, 0), 1);   /* 0.5 */
  assert_int_equal(rt_requant(-1, 1 << 30, 0), 0);  /* -0.5 */
  assert_int_equal(rt_requant(-3, 1 << 30, 0), -1); /* -1.5 */
  /* rt_qmult: mult * 2^(shift-31) reproduces the real to 2^-31 relative. */
  for (int t = 0; t < 10000; t++) {
    double real = (double)cz_rng_uniform(&g_rng) * (t % 2 ? 1e-6 : 4.0) + 1e-12;
    int32_t m, s;
    rt_qmult(real, &m, &s);
    double back = (double)m * ((s - 31) >= 0 ? (double)(1LL << (s - 31 >= 0 ? s - 31 : 0))
                                              : 1.0 / (double)(1ULL << (31 - s)));
    assert_true(m >= (1 << 30));
    assert_true(back / real > 1 - 1e-9 && back / real < 1 + 1e-9);
  }
}

#if CZ_K_X86
CZ_K_TARGET_AVX2 static void requant8(const int32_t *x, const int32_t *m, const int32_t *r,
                                      int32_t *out) {
  __m256i v = rt_avx2_requant(_mm256_loadu_si256((const __m256i *)x),
                              _mm256_loadu_si256((const __m256i *)m),
                              _mm256_loadu_si256((const __m256i *)r));
  _mm256_storeu_si256((__m256i *)out, v);
}
#endif

#if CZ_K_X86
CZ_K_TARGET_AVX2 static void requant8k(const int32_t *x, const int32_t *m, const int64_t *k64,
                                       const int32_t *sub, int32_t *out) {
  _mm256_storeu_si256((__m256i *)out,
                      rt_avx2_requant_k(_mm256_loadu_si256((const __m256i *)x), m, k64, sub));
}
#endif

/* The 8-lane requantization equals the scalar one on every lane, over the
 * whole int32 range, every right shift and multiplier. */
static void test_requant_vector(void **state) {
  (void)state;
#if CZ_K_X86
  if (cz_k_isa() < CZ_ISA_AVX2) skip();
  const int32_t edge[] = {0, 1, -1, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 30, -(1 << 30)};
  for (int t = 0; t < 100000; t++) {
    int32_t x[8], m[8], r[8], out[8];
    for (int i = 0; i < 8; i++) {
      x[i] = t < 8 ? edge[(t + i) % 8] : (int32_t)cz_rng_u32(&g_rng) >> rnd(0, 31);
      m[i] = (1 << 30) + (int32_t)(cz_rng_u32(&g_rng) >> 2);
      if (i == 7) m[i] = INT32_MAX;
      r[i] = rnd(0, 31);
    }
    requant8(x, m, r, out);
    for (int i = 0; i < 8; i++) assert_int_equal(out[i], rt_requant(x[i], m[i], -r[i]));
    /* The form with constants packed at plan time. */
    int64_t k64[16];
    int32_t sub[8];
    if (t % 7 == 0)
      for (int i = 0; i < 8; i++) r[i] = t % 14 ? 0 : 31;
    rt_rq_pack(r, 8, k64, sub);
    requant8k(x, m, k64, sub, out);
    for (int i = 0; i < 8; i++) assert_int_equal(out[i], rt_requant(x[i], m[i], -r[i]));
  }
#else
  skip();
#endif
}

/* Independent conv: NCHW-style loops over the same buffers, accumulation in
 * int64, then the one shared requantization. */
static void conv_naive(const rt_conv_p *p, const int8_t *x, int8_t *y) {
  const int cg = p->c / p->groups, og = p->oc / p->groups;
  for (int b = 0; b < p->n; b++)
    for (int o = 0; o < p->oc; o++)
      for (int oy = 0; oy < p->oh; oy++)
        for (int ox = 0; ox < p->ow; ox++) {
          int64_t acc = p->bias ? p->bias[o] : 0;
          for (int ci = 0; ci < cg; ci++)
            for (int ky = 0; ky < p->kh; ky++)
              for (int kx = 0; kx < p->kw; kx++) {
                int iy = oy * p->sh - p->pad_t + ky * p->dh, ix = ox * p->sw - p->pad_l + kx * p->dw;
                int32_t xv = (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
                                 ? p->in_zp
                                 : x[(((long)b * p->h + iy) * p->w + ix) * p->c + (o / og) * cg + ci];
                int32_t wv = p->weight[(((long)o * p->kh + ky) * p->kw + kx) * cg + ci];
                acc += (int64_t)(xv - p->in_zp) * (wv - (p->w_zp ? p->w_zp[o] : 0));
              }
          int idx = p->rq.per_channel ? o : 0;
          y[(((long)b * p->oh + oy) * p->ow + ox) * p->oc + o] =
              rt_requant_out((int32_t)acc, p->rq.mult[idx], p->rq.shift[idx], p->rq.out_zp,
                             p->rq.act_min, p->rq.act_max);
        }
}

typedef struct {
  int c, oc, k, s, d, pad, groups, h;
} conv_case;

static void run_conv_case(const conv_case *cc, int variant) {
  rt_conv_p p = {0};
  p.n = rnd(1, 3);
  p.h = cc->h;
  p.w = cc->h + rnd(0, 3);
  p.c = cc->c;
  p.oc = cc->oc;
  p.kh = p.kw = cc->k;
  p.sh = p.sw = cc->s;
  p.dh = p.dw = cc->d;
  p.pad_t = p.pad_l = cc->pad;
  p.groups = cc->groups;
  p.oh = (p.h + 2 * cc->pad - cc->d * (cc->k - 1) - 1) / cc->s + 1;
  p.ow = (p.w + 2 * cc->pad - cc->d * (cc->k - 1) - 1) / cc->s + 1;
  p.in_zp = zp8();
  const int cg = p.c / p.groups;
  const long nw = (long)p.oc * p.kh * p.kw * cg, nx = (long)p.n * p.h * p.w * p.c,
             ny = (long)p.n * p.oh * p.ow * p.oc;
  int8_t *w = cz_xmalloc((size_t)nw), *x = cz_xmalloc((size_t)nx);
  int8_t *y0 = cz_xmalloc((size_t)ny), *y1 = cz_xmalloc((size_t)ny), *y2 = cz_xmalloc((size_t)ny);
  fill8(w, nw);
  fill8(x, nx);
  int32_t *bias = cz_xmalloc((size_t)p.oc * 4), *wz = cz_xcalloc((size_t)p.oc, 4);
  int32_t *mult = cz_xmalloc((size_t)p.oc * 4), *shift = cz_xmalloc((size_t)p.oc * 4);
  const int asym_w = variant % 3 == 2;
  for (int o = 0; o < p.oc; o++) {
    bias[o] = rnd(-20000, 20000);
    if (asym_w) wz[o] = rnd(-128, 127);
    /* Multipliers that map the accumulator range onto about 8 bits, some
     * far larger (saturation; a left shift above 1). */
    double kk = (double)p.kh * p.kw * cg;
    double real = (0.5 + cz_rng_uniform(&g_rng)) / (kk * 128.0);
    if (variant % 5 == 3) real *= 400.0;
    if (variant % 7 == 4 && o % 2) real = 3.5;
    rt_qmult(real, &mult[o], &shift[o]);
  }
  p.weight = w;
  p.w_zp = asym_w ? wz : (variant % 2 ? NULL : wz);
  p.bias = variant % 4 == 1 ? NULL : bias;
  p.rq.mult = mult;
  p.rq.shift = shift;
  p.rq.per_channel = variant % 6 != 5;
  p.rq.out_zp = zp8();
  p.rq.act_min = -128;
  p.rq.act_max = 127;
  if (variant % 4 == 2) { /* a fused ReLU6-like clamp */
    p.rq.act_min = p.rq.out_zp < -128 ? -128 : p.rq.out_zp;
    p.rq.act_max = p.rq.act_min + rnd(0, 127 - p.rq.act_min);
  }
  const int rows = p.n * p.oh;
  conv_naive(&p, x, y0);
  rt_conv_ref(&p, x, y1, 0, rows);
  assert_memory_equal(y0, y1, (size_t)ny);
  rt_conv_fast f;
  rt_conv_fast_init(&f, &p);
  void *scratch = cz_xmalloc(rt_conv_fast_scratch(&f));
  memset(y2, 0x55, (size_t)ny);
  int cut = rnd(0, rows); /* two "threads" */
  rt_conv_fast_run(&f, x, y2, 0, cut, scratch);
  rt_conv_fast_run(&f, x, y2, cut, rows, scratch);
  if (memcmp(y1, y2, (size_t)ny) != 0) {
    for (long i = 0; i < ny; i++)
      if (y1[i] != y2[i]) {
        fail_msg("conv c%d oc%d k%d s%d d%d p%d g%d h%d var%d kind %d isa %s: element %ld: "
                 "ref %d fast %d", cc->c, cc->oc, cc->k, cc->s, cc->d, cc->pad, cc->groups, cc->h,
                 variant, f.kind, cz_k_isa_name(cz_k_isa()), i, y1[i], y2[i]);
      }
  }
  /* The same split by output channel blocks (a single image's fully
   * connected layer between threads). */
  const int nb = rt_conv_fast_col_blocks(&f), cutj = rnd(0, nb);
  memset(y2, 0x55, (size_t)ny);
  rt_conv_fast_run_cols(&f, x, y2, 0, rows, cutj, nb, scratch);
  rt_conv_fast_run_cols(&f, x, y2, 0, rows, 0, cutj, scratch);
  if (memcmp(y1, y2, (size_t)ny) != 0)
    fail_msg("conv c%d oc%d k%d g%d var%d isa %s: split at channel block %d of %d differs",
             cc->c, cc->oc, cc->k, cc->groups, variant, cz_k_isa_name(cz_k_isa()), cutj, nb);
  free(scratch);
  rt_conv_fast_free(&f);
  free(w), free(x), free(y0), free(y1), free(y2), free(bias), free(wz), free(mult), free(shift);
}

static const conv_case kConv[] = {
    {16, 32, 1, 1, 1, 0, 1, 7},   {24, 20, 1, 1, 1, 0, 1, 5},  {17, 33, 1, 2, 1, 0, 1, 8},
    {3, 16, 3, 2, 1, 1, 1, 9},    {1, 8, 3, 1, 1, 1, 1, 6},    {8, 24, 3, 1, 1, 1, 1, 6},
    {5, 7, 5, 1, 2, 4, 1, 9},     {32, 32, 3, 1, 1, 1, 32, 6}, {48, 48, 3, 2, 1, 1, 48, 7},
    {20, 20, 5, 1, 1, 2, 20, 6},  {7, 7, 3, 1, 2, 2, 7, 6},    {16, 32, 3, 1, 1, 1, 2, 5},
    {12, 12, 3, 2, 1, 0, 4, 7},   {64, 10, 1, 1, 1, 0, 1, 1},  {130, 40, 1, 1, 1, 0, 1, 2},
    /* Maps wide enough for the fast paths' interior runs (contiguous tap
     * rows, depthwise pointers by row), channels off the blocks of 16, a
     * plain 1x1 with even and odd channel counts, the first layer's
     * 3-channel 3x3 stride 2, a 5x5 depthwise (its generic tap loop). */
    {40, 40, 3, 1, 1, 1, 40, 12}, {16, 16, 3, 2, 1, 1, 16, 13}, {8, 48, 1, 1, 1, 0, 1, 11},
    {7, 19, 1, 1, 1, 0, 1, 10},   {3, 16, 3, 2, 1, 1, 1, 17},   {24, 20, 3, 1, 2, 2, 1, 12},
    {32, 32, 5, 1, 1, 2, 32, 11}, {48, 8, 1, 1, 1, 0, 1, 9},    {21, 21, 3, 1, 1, 0, 21, 10},
};

static void test_conv_fast_exact(void **state) {
  (void)state;
  for (int isa = CZ_ISA_GENERIC; isa <= CZ_ISA_AVX512; isa++) {
    cz_k_isa_cap((cz_isa)isa);
    for (size_t i = 0; i < sizeof kConv / sizeof *kConv; i++)
      for (int v = 0; v < 12; v++) run_conv_case(&kConv[i], v);
  }
  cz_k_isa_cap(CZ_ISA_AVX512);
}

static void test_fc(void **state) {
  (void)state;
  for (int t = 0; t < 30; t++) {
    rt_fc_p p = {0};
    int rows = rnd(1, 9);
    p.k = t == 0 ? 1280 : rnd(1, 300);
    p.o = t == 0 ? 1000 : rnd(1, 40);
    p.in_zp = zp8();
    int8_t *w = cz_xmalloc((size_t)p.k * p.o), *x = cz_xmalloc((size_t)p.k * rows);
    fill8(w, (long)p.k * p.o);
    fill8(x, (long)p.k * rows);
    int32_t *bias = cz_xmalloc((size_t)p.o * 4), m, s;
    for (int o = 0; o < p.o; o++) bias[o] = rnd(-5000, 5000);
    rt_qmult(1.0 / (p.k * 100.0), &m, &s);
    p.weight = w;
    p.bias = bias;
    p.rq = (rt_requant_p){&m, &s, 0, zp8(), -128, 127};
    int8_t *y1 = cz_xmalloc((size_t)rows * p.o), *y2 = cz_xmalloc((size_t)rows * p.o);
    rt_fc_ref(&p, x, y1, 0, rows);
    /* The same layer through the reference convolution and the fast one. */
    rt_conv_p cp;
    rt_fc_as_conv(&p, rows, &cp);
    rt_conv_ref(&cp, x, y2, 0, rows);
    assert_memory_equal(y1, y2, (size_t)rows * p.o);
    rt_conv_fast f;
    rt_conv_fast_init(&f, &cp);
    void *scratch = cz_xmalloc(rt_conv_fast_scratch(&f));
    memset(y2, 0, (size_t)rows * p.o);
    rt_conv_fast_run(&f, x, y2, 0, rows, scratch);
    assert_memory_equal(y1, y2, (size_t)rows * p.o);
    /* One row per call: the int8-weight row path (symmetric weights). */
    assert_non_null(f.wpack8);
    memset(y2, 0, (size_t)rows * p.o);
    for (int r = 0; r < rows; r++) rt_conv_fast_run(&f, x, y2, r, r + 1, scratch);
    assert_memory_equal(y1, y2, (size_t)rows * p.o);
    free(scratch);
    rt_conv_fast_free(&f);
    free(w), free(x), free(bias), free(y1), free(y2);
  }
}

static void test_add(void **state) {
  (void)state;
  for (int t = 0; t < 300; t++) {
    const int rows = rnd(1, 6), c = rnd(1, 40), wdt = rnd(1, 5), row_len = c * wdt;
    rt_add_p p;
    double sa = 0.001 + cz_rng_uniform(&g_rng) * 0.1, sb = 0.001 + cz_rng_uniform(&g_rng) * 0.1;
    double sy = (sa + sb) * (t % 5 == 0 ? 0.1 : 1.0); /* 0.1: saturating outputs */
    rt_add_params(sa, zp8(), sb, zp8(), sy, zp8(), -128, 127, &p);
    p.row_len = row_len;
    const int mode = t % 3, h = rnd(1, 3);
    long nb;
    if (mode == 0) p.b = (rt_bcast){row_len, 1, row_len}, nb = (long)rows * row_len;
    else if (mode == 1) p.b = (rt_bcast){c, 1, 0}, nb = c;
    else p.b = (rt_bcast){c, h, c}, nb = (long)(rows + h - 1) / h * c;
    int8_t *a = cz_xmalloc((size_t)rows * row_len), *b = cz_xmalloc((size_t)nb);
    int8_t *y1 = cz_xmalloc((size_t)rows * row_len), *y2 = cz_xmalloc((size_t)rows * row_len);
    fill8(a, (long)rows * row_len);
    fill8(b, nb);
    rt_add_ref(&p, a, b, y1, 0, rows);
    /* Against real arithmetic: within one step (the fixed-point rounding). */
    for (int r = 0; r < rows; r++)
      for (int i = 0; i < row_len; i++) {
        int8_t bv = b[(r / p.b.div) * p.b.row_stride + i % p.b.len];
        double real = sa * (a[r * row_len + i] - p.a_zp) + sb * (bv - p.b_zp);
        double q = real / sy + p.out_zp;
        q = q < -128 ? -128 : q > 127 ? 127 : q;
        double d = q - y1[r * row_len + i];
        assert_true(d < 1.0 + 1e-6 && d > -1.0 - 1e-6);
      }
    int cut = rnd(0, rows);
    rt_add_fast(&p, a, b, y2, 0, cut);
    rt_add_fast(&p, a, b, y2, cut, rows);
    assert_memory_equal(y1, y2, (size_t)rows * row_len);
    free(a), free(b), free(y1), free(y2);
  }
}

static void test_pool_mul_lut(void **state) {
  (void)state;
  for (int t = 0; t < 40; t++) {
    rt_pool_p p = {0};
    p.n = rnd(1, 2), p.h = rnd(2, 7), p.w = rnd(2, 7), p.c = rnd(1, 9);
    p.kh = rnd(1, 3), p.kw = rnd(1, 3), p.sh = rnd(1, 2), p.sw = rnd(1, 2);
    p.pad_t = rnd(0, p.kh - 1), p.pad_l = rnd(0, p.kw - 1);
    p.oh = (p.h + 2 * p.pad_t - p.kh) / p.sh + 1;
    p.ow = (p.w + 2 * p.pad_l - p.kw) / p.sw + 1;
    p.count_include_pad = t % 2;
    p.in_zp = zp8();
    p.out_zp = zp8();
    p.act_min = -128, p.act_max = 127;
    double sx = 0.05, sy = 0.04;
    int32_t mult[10], shift[10];
    for (int k = 0; k <= 9; k++) rt_qmult(k ? sx / (sy * k) : 0, &mult[k], &shift[k]);
    p.mult = mult, p.shift = shift;
    long nx = (long)p.n * p.h * p.w * p.c, ny = (long)p.n * p.oh * p.ow * p.c;
    int8_t *x = cz_xmalloc((size_t)nx), *y = cz_xmalloc((size_t)ny);
    fill8(x, nx);
    rt_avgpool_ref(&p, x, y, 0, p.n * p.oh);
    for (int b = 0; b < p.n; b++)
      for (int oy = 0; oy < p.oh; oy++)
        for (int ox = 0; ox < p.ow; ox++)
          for (int ch = 0; ch < p.c; ch++) {
            double s = 0;
            int cnt = 0;
            for (int ky = 0; ky < p.kh; ky++)
              for (int kx = 0; kx < p.kw; kx++) {
                int iy = oy * p.sh - p.pad_t + ky, ix = ox * p.sw - p.pad_l + kx;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) {
                  cnt += p.count_include_pad;
                  continue;
                }
                s += sx * (x[((b * p.h + iy) * p.w + ix) * p.c + ch] - p.in_zp);
                cnt++;
              }
            double q = s / cnt / sy + p.out_zp;
            q = q < -128 ? -128 : q > 127 ? 127 : q;
            double d = q - y[((b * p.oh + oy) * p.ow + ox) * p.c + ch];
            assert_true(d < 1.0 && d > -1.0); /* two roundings: under one step */
          }
    /* Max pool with equal quantization: the plain maximum. */
    p.identity = 1;
    rt_maxpool_ref(&p, x, y, 0, p.n * p.oh);
    for (int b = 0; b < p.n; b++)
      for (int oy = 0; oy < p.oh; oy++)
        for (int ox = 0; ox < p.ow; ox++)
          for (int ch = 0; ch < p.c; ch++) {
            int m = -1000;
            for (int ky = 0; ky < p.kh; ky++)
              for (int kx = 0; kx < p.kw; kx++) {
                int iy = oy * p.sh - p.pad_t + ky, ix = ox * p.sw - p.pad_l + kx;
                if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w && x[((b * p.h + iy) * p.w + ix) * p.c + ch] > m)
                  m = x[((b * p.h + iy) * p.w + ix) * p.c + ch];
              }
            assert_int_equal(m, y[((b * p.oh + oy) * p.ow + ox) * p.c + ch]);
          }
    /* Global average over the whole map. */
    rt_pool_p g = p;
    g.identity = 0;
    rt_qmult(sx / (sy * p.h * p.w), &mult[0], &shift[0]);
    int32_t acc[16];
    int8_t gy[2 * 9];
    rt_gavgpool_ref(&g, x, gy, acc, 0, p.n);
    for (int b = 0; b < p.n; b++)
      for (int ch = 0; ch < p.c; ch++) {
        double s = 0;
        for (int i = 0; i < p.h * p.w; i++) s += x[(b * p.h * p.w + i) * p.c + ch] - p.in_zp;
        double q = sx * s / (p.h * p.w) / sy + p.out_zp;
        q = q < -128 ? -128 : q > 127 ? 127 : q;
        double d = q - gy[b * p.c + ch];
        assert_true(d < 1.0 && d > -1.0); /* two roundings: under one step */
      }
    free(x), free(y);
  }
  /* Mul (an SE gate) and the table lookup. */
  rt_mul_p m = {0};
  m.row_len = 12, m.b = (rt_bcast){4, 2, 4}, m.a_zp = 3, m.b_zp = -128, m.out_zp = -5;
  m.act_min = -128, m.act_max = 127;
  rt_qmult(0.02 * 0.004 / 0.03, &m.mult, &m.shift);
  int8_t a[48], b[8], y[48], tab[256];
  fill8(a, 48);
  fill8(b, 8);
  rt_mul_ref(&m, a, b, y, 0, 4);
  for (int r = 0; r < 4; r++)
    for (int i = 0; i < 12; i++) {
      double q = 0.02 * (a[r * 12 + i] - 3) * 0.004 * (b[(r / 2) * 4 + i % 4] + 128) / 0.03 - 5;
      q = q < -128 ? -128 : q > 127 ? 127 : q;
      assert_true(q - y[r * 12 + i] < 1.0 && q - y[r * 12 + i] > -1.0);
    }
  for (int i = 0; i < 256; i++) tab[i] = (int8_t)(127 - i);
  rt_lut_ref(tab, 12, a, y, 0, 4);
  for (int i = 0; i < 48; i++) assert_int_equal(y[i], 127 - (a[i] + 128));
}

/* Global average pooling, fast variant against the reference bit for bit
 * (channel counts off the blocks of 8 and 16, multipliers above 1 that
 * take the scalar path, clamps), at every ISA level. */
static void test_gavgpool_fast(void **state) {
  (void)state;
  static const int cs[] = {1, 7, 8, 16, 20, 45, 1280};
  static const int hws[][2] = {{1, 1}, {4, 4}, {7, 7}, {3, 5}};
  for (int isa = CZ_ISA_GENERIC; isa <= CZ_ISA_AVX512; isa++) {
    cz_k_isa_cap((cz_isa)isa);
    for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++)
      for (size_t hi = 0; hi < sizeof hws / sizeof *hws; hi++)
        for (int v = 0; v < 4; v++) {
          rt_pool_p g = {0};
          g.n = rnd(1, 3), g.c = cs[ci], g.h = hws[hi][0], g.w = hws[hi][1];
          g.oh = g.ow = 1;
          g.in_zp = zp8(), g.out_zp = zp8();
          int32_t mult, shift;
          rt_qmult((0.5 + cz_rng_uniform(&g_rng)) / (g.h * g.w) * (v == 3 ? 300.0 : 1.0), &mult,
                   &shift);
          g.mult = &mult, g.shift = &shift;
          g.act_min = v == 2 ? g.out_zp < -128 ? -128 : g.out_zp : -128;
          g.act_max = 127;
          const long nx = (long)g.n * g.h * g.w * g.c, ny = (long)g.n * g.c;
          int8_t *x = cz_xmalloc((size_t)nx), *y0 = cz_xmalloc((size_t)ny),
                 *y1 = cz_xmalloc((size_t)ny);
          int32_t *acc = cz_xmalloc((size_t)g.c * sizeof *acc);
          fill8(x, nx);
          rt_gavgpool_ref(&g, x, y0, acc, 0, g.n);
          memset(y1, 0x55, (size_t)ny);
          const int cut = rnd(0, g.n);
          rt_gavgpool_fast(&g, x, y1, acc, 0, cut);
          rt_gavgpool_fast(&g, x, y1, acc, cut, g.n);
          if (memcmp(y0, y1, (size_t)ny) != 0)
            fail_msg("gavgpool c%d %dx%d var%d isa %s differs from the reference", g.c, g.h, g.w,
                     v, cz_k_isa_name(cz_k_isa()));
          free(x), free(y0), free(y1), free(acc);
        }
  }
  cz_k_isa_cap(CZ_ISA_AVX512);
}

int main(void) {
  g_rng = cz_rng_make(20261203, 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_requant_definition),
      cmocka_unit_test(test_requant_vector),
      cmocka_unit_test(test_conv_fast_exact),
      cmocka_unit_test(test_fc),
      cmocka_unit_test(test_add),
      cmocka_unit_test(test_pool_mul_lut),
      cmocka_unit_test(test_gavgpool_fast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
