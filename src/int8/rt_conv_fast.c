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
    if (p->rq.shift[idx] > 0 || p->rq.mult[idx] <= 0) f->vec_rq = 0;
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
  } else if (f->kind == RT_CONV_DW) {
    f->wpack = cz_xcalloc((size_t)taps * (size_t)p->c, sizeof(int16_t));
    for (int o = 0; o < p->oc; o++) {
      const int32_t wz = p->w_zp ? p->w_zp[o] : 0;
      for (int t = 0; t < taps; t++)
        f->wpack[(size_t)t * p->c + o] = (int16_t)((int32_t)p->weight[(long)o * taps + t] - wz);
    }
  }
}

void rt_conv_fast_free(rt_conv_fast *f) {
  free(f->wpack);
  free(f->bias_eff);
  free(f->mult_c);
  free(f->right_c);
  memset(f, 0, sizeof *f);
}

size_t rt_conv_fast_scratch(const rt_conv_fast *f) {
  if (f->kind != RT_CONV_GEMM) return 64;
  return (size_t)RT_MR * (size_t)f->kpad * sizeof(int16_t) + 64;
}

void rt_conv_fast_run(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1,
                      void *scratch) {
#if CZ_K_X86
  if (cz_k_isa() >= CZ_ISA_AVX2) {
    if (f->kind == RT_CONV_GEMM) {
      rt_conv_gemm_avx2(f, x, y, r0, r1, scratch);
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
