/* Packing and dispatch of the fast int8 convolution (rt_fast.h): host
 * code, run once per layer at plan time. */
#include <stdlib.h>
#include <string.h>

#include "int8/rt_fast.h"
#include "int8/rt_fast_priv.h"
#include "kernels/k_simd.h"
#include "util/mem.h"

void rt_fc_as_conv(const rt_fc_p *fc, int rows, rt_conv_p *out) {
  memset(out, 0, sizeof *out);
  out->n = rows;
  out->h = out->w = out->oh = out->ow = 1;
  out->c = fc->k;
  out->oc = fc->o;
  out->kh = out->kw = out->sh = out->sw = out->dh = out->dw = 1;
  out->groups = 1;
  out->in_zp = fc->in_zp;
  out->weight = fc->weight;
  out->w_zp = fc->w_zp;
  out->bias = fc->bias;
  out->rq = fc->rq;
}

void rt_rq_pack(const int32_t *right, int n, int64_t *k64, int32_t *sub) {
  /* floor((p + 2^(te-1)) / 2^te) with te = 31 + right, computed as a
   * logical shift of p + 2^62 + 2^(te-1) (never negative, below 2^64),
   * whose result exceeds the floor by 2^(62 - te): taken back in 32 bits. */
  for (int b = 0; b < n / 8; b++)
    for (int i = 0; i < 8; i++) {
      const int te = 31 + right[b * 8 + i], lane = i / 2, odd = i % 2;
      k64[b * 16 + odd * 4 + lane] = (int64_t)((1ULL << 62) + (1ULL << (te - 1)));
      k64[b * 16 + 8 + odd * 4 + lane] = te;
      sub[b * 8 + i] = (int32_t)(uint32_t)(1ULL << (62 - te));
    }
}

void rt_conv_fast_init(rt_conv_fast *f, const rt_conv_p *p) {
  memset(f, 0, sizeof *f);
  f->p = *p;
  const int taps = p->kh * p->kw, cg = p->c / p->groups;
  if (p->groups == 1) f->kind = RT_CONV_GEMM;
  else if (p->groups == p->c && p->oc == p->c && taps <= RT_DW_MAX_TAPS) f->kind = RT_CONV_DW;
  else f->kind = RT_CONV_REF;
  /* Rounded up to whole blocks of 16 so vector loads of a last, partial
   * block stay inside (the extra lanes are never stored). */
  const size_t ocr = (size_t)(p->oc + 15) / 16 * 16;
  f->bias_eff = cz_xcalloc(ocr, sizeof(int32_t));
  f->mult_c = cz_xcalloc(ocr, sizeof(int32_t));
  f->right_c = cz_xcalloc(ocr, sizeof(int32_t));
  f->vec_rq = 1;
  for (int o = 0; o < p->oc; o++) {
    const int32_t wz = p->w_zp ? p->w_zp[o] : 0;
    int32_t s = 0;
    for (int i = 0; i < taps * cg; i++) s += (int32_t)p->weight[(long)o * taps * cg + i] - wz;
    f->bias_eff[o] = (p->bias ? p->bias[o] : 0) - p->in_zp * s;
    const int idx = p->rq.per_channel ? o : 0;
    f->mult_c[o] = p->rq.mult[idx];
    f->right_c[o] = -p->rq.shift[idx];
    if (p->rq.shift[idx] > 0 || p->rq.shift[idx] < -31 || p->rq.mult[idx] <= 0) f->vec_rq = 0;
  }
  if (f->vec_rq) {
    f->rq64 = cz_xcalloc(ocr * 2, sizeof(int64_t));
    f->rq_sub = cz_xcalloc(ocr, sizeof(int32_t));
    rt_rq_pack(f->right_c, (int)ocr, f->rq64, f->rq_sub);
    /* The output zero point rides along with the offset taken back. */
    for (size_t o = 0; o < ocr; o++)
      f->rq_sub[o] = (int32_t)((uint32_t)f->rq_sub[o] - (uint32_t)p->rq.out_zp);
  }
  if (f->kind == RT_CONV_GEMM) {
    f->k = taps * p->c;
    f->kpad = (f->k + 1) & ~1;
    f->im2col = !(taps == 1 && p->sh == 1 && p->sw == 1 && p->pad_t == 0 && p->pad_l == 0 &&
                  p->oh == p->h && p->ow == p->w);
    const int nb = (p->oc + 15) / 16;
    f->wpack = cz_xcalloc((size_t)nb * (size_t)f->kpad * 16, sizeof(int16_t));
    for (int o = 0; o < p->oc; o++) {
      const int32_t wz = p->w_zp ? p->w_zp[o] : 0;
      for (int k = 0; k < f->k; k++) {
        const int16_t v = (int16_t)((int32_t)p->weight[(long)o * f->k + k] - wz);
        f->wpack[(((size_t)(o / 16) * (f->kpad / 2) + (size_t)(k / 2)) * 16 + (size_t)(o % 16)) * 2 +
                 (size_t)(k % 2)] = v;
      }
    }
    /* A 1x1 map with int8-range weights (w - w_zp: always so for the
     * symmetric weights QDQ files have): the row-at-a-time copy. */
    const size_t nw = (size_t)nb * (size_t)f->kpad * 16;
    int fits = p->h == 1 && p->w == 1 && p->oh == 1 && p->ow == 1;
    for (size_t i = 0; i < nw && fits; i++) fits = f->wpack[i] >= -128 && f->wpack[i] <= 127;
    if (fits) {
      f->wpack8 = cz_xmalloc(nw);
      for (size_t i = 0; i < nw; i++) f->wpack8[i] = (int8_t)f->wpack[i];
    }
  } else if (f->kind == RT_CONV_DW) {
    f->wpack = cz_xcalloc((size_t)taps * (size_t)p->c, sizeof(int16_t));
    for (int o = 0; o < p->oc; o++) {
      const int32_t wz = p->w_zp ? p->w_zp[o] : 0;
      for (int t = 0; t < taps; t++)
        f->wpack[(size_t)t * p->c + o] = (int16_t)((int32_t)p->weight[(long)o * taps + t] - wz);
    }
    /* Tap pairs for vpmaddwd over 16 channels: unpacking the two taps'
     * widened inputs interleaves channels 0-3 and 8-11 into one vector,
     * 4-7 and 12-15 into the other (per 128-bit lane); the weights follow
     * that order. An odd last tap pairs with a zero weight. */
    const int tp = (taps + 1) / 2, cb = (p->c + 15) / 16;
    f->wdw = cz_xcalloc((size_t)cb * (size_t)tp * 32, sizeof(int16_t));
    for (int o = 0; o < p->c; o++)
      for (int t = 0; t < taps; t++) {
        const int i = o % 16, pos = (i >> 2 & 1) * 16 + (i >> 3) * 8 + (i & 3) * 2 + t % 2;
        f->wdw[((size_t)(o / 16) * (size_t)tp + (size_t)(t / 2)) * 32 + (size_t)pos] =
            f->wpack[(size_t)t * p->c + o];
      }
    f->zrow = cz_xmalloc((size_t)p->c + 32);
    memset(f->zrow, (int8_t)p->in_zp, (size_t)p->c + 32);
  }
}

void rt_conv_fast_free(rt_conv_fast *f) {
  free(f->wpack);
  free(f->bias_eff);
  free(f->mult_c);
  free(f->right_c);
  free(f->rq64);
  free(f->rq_sub);
  free(f->wdw);
  free(f->zrow);
  free(f->wpack8);
  memset(f, 0, sizeof *f);
}

size_t rt_conv_fast_scratch(const rt_conv_fast *f) {
  if (f->kind != RT_CONV_GEMM) return 64;
  return (size_t)RT_MR * (size_t)f->kpad * sizeof(int16_t) + 64; /* + slack: widening stores */
}

int rt_conv_fast_col_blocks(const rt_conv_fast *f) {
#if CZ_K_X86
  if (cz_k_isa() >= CZ_ISA_AVX2 && f->kind == RT_CONV_GEMM) return (f->p.oc + 15) / 16;
#endif
  (void)f;
  return 1;
}

void rt_conv_fast_run_cols(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1,
                           int j0, int j1, void *scratch) {
#if CZ_K_X86
  if (cz_k_isa() >= CZ_ISA_AVX2 && f->kind == RT_CONV_GEMM) {
    rt_conv_gemm_avx2(f, x, y, r0, r1, j0, j1, scratch);
    return;
  }
#endif
  if (j0 == 0) rt_conv_fast_run(f, x, y, r0, r1, scratch);
}

void rt_conv_fast_run(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1,
                      void *scratch) {
#if CZ_K_X86
  if (cz_k_isa() >= CZ_ISA_AVX2) {
    if (f->kind == RT_CONV_GEMM) {
      rt_conv_gemm_avx2(f, x, y, r0, r1, 0, (f->p.oc + 15) / 16, scratch);
      return;
    }
    if (f->kind == RT_CONV_DW) {
      rt_conv_dw_avx2(f, x, y, r0, r1);
      return;
    }
  }
#endif
  (void)scratch;
  rt_conv_ref(&f->p, x, y, r0, r1);
}
