/* Resampling with Pillow's Image.resize semantics (Pillow 9.x, 8-bit
 * modes): separable convolution, horizontal pass first, each pass rounded
 * to 8 bits with 22-bit fixed-point weights; nearest as Pillow's affine
 * scale. Written from the documented behaviour, not from Pillow's code. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tf.h"

/* Weights are integers scaled by 2^22: 32 bits less 8 for the pixel and 2
 * of headroom for the overshoot of negative-lobed filters. */
enum { PREC = 22 };

typedef double (*filter_fn)(double);

/* Box: a half-open interval so that adjacent sources never both count. */
static double f_box(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

static double f_triangle(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Keys' cubic convolution with a = -0.5 (Catmull-Rom), as PIL's BICUBIC. */
static double f_cubic(double x) {
  const double a = -0.5;
  x = fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* One axis: for output i, taps lo[i] .. lo[i] + n[i] - 1 with weights
 * k[i * ksize ...]. */
typedef struct {
  int ksize;
  int *lo, *n;
  int32_t *k;
} taps;

static void taps_free(taps *t) {
  free(t->lo);
  free(t->n);
  free(t->k);
}

static bool taps_make(int in, int out, filter_fn f, double support, taps *t) {
  double scale = (double)in / out;
  /* Downscaling widens the filter by the factor (antialiasing). */
  double fscale = scale < 1.0 ? 1.0 : scale;
  double sup = support * fscale;
  t->ksize = (int)ceil(sup) * 2 + 1;
  t->lo = malloc(sizeof(int) * (size_t)out);
  t->n = malloc(sizeof(int) * (size_t)out);
  t->k = calloc((size_t)out * (size_t)t->ksize, sizeof(int32_t));
  double *w = malloc(sizeof(double) * (size_t)t->ksize);
  if (!t->lo || !t->n || !t->k || !w) {
    free(w);
    taps_free(t);
    return false;
  }
  for (int i = 0; i < out; i++) {
    double center = (i + 0.5) * scale;
    /* Truncation, not floor: a negative start is clamped to 0 anyway. */
    int lo = (int)(center - sup + 0.5);
    int hi = (int)(center + sup + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    int n = hi - lo;
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
      w[j] = f((j + lo - center + 0.5) / fscale);
      sum += w[j];
    }
    int32_t *k = t->k + (size_t)i * (size_t)t->ksize;
    for (int j = 0; j < n; j++) {
      double v = sum != 0.0 ? w[j] / sum : w[j];
      /* Round half away from zero to the fixed-point grid. */
      v *= (double)(1 << PREC);
      k[j] = (int32_t)(v < 0.0 ? v - 0.5 : v + 0.5);
    }
    t->lo[i] = lo;
    t->n[i] = n;
  }
  free(w);
  return true;
}

static uint8_t clip8(int64_t acc) {
  int64_t v = acc >> PREC; /* arithmetic: negatives stay negative */
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Rows of src (w x h x c) to rows of dst (t's out x h x c). */
static void pass_h(const uint8_t *src, int w, int h, int c, const taps *t, int ow,
                   uint8_t *dst) {
  for (int y = 0; y < h; y++) {
    const uint8_t *row = src + (size_t)y * (size_t)w * (size_t)c;
    uint8_t *orow = dst + (size_t)y * (size_t)ow * (size_t)c;
    for (int x = 0; x < ow; x++) {
      const int32_t *k = t->k + (size_t)x * (size_t)t->ksize;
      const uint8_t *p = row + (size_t)t->lo[x] * (size_t)c;
      for (int ch = 0; ch < c; ch++) {
        int64_t acc = 1 << (PREC - 1);
        for (int j = 0; j < t->n[x]; j++) acc += (int64_t)p[(size_t)j * (size_t)c + (size_t)ch] * k[j];
        orow[(size_t)x * (size_t)c + (size_t)ch] = clip8(acc);
      }
    }
  }
}

/* Columns of src (w x h x c) to dst (w x t's out x c). */
static void pass_v(const uint8_t *src, int w, int c, const taps *t, int oh, uint8_t *dst) {
  size_t stride = (size_t)w * (size_t)c;
  for (int y = 0; y < oh; y++) {
    const int32_t *k = t->k + (size_t)y * (size_t)t->ksize;
    const uint8_t *base = src + (size_t)t->lo[y] * stride;
    uint8_t *orow = dst + (size_t)y * stride;
    for (size_t i = 0; i < stride; i++) {
      int64_t acc = 1 << (PREC - 1);
      for (int j = 0; j < t->n[y]; j++) acc += (int64_t)base[(size_t)j * stride + i] * k[j];
      orow[i] = clip8(acc);
    }
  }
}

/* Pillow's nearest is an affine transform sampled at pixel centres: the
 * source coordinate starts at scale / 2 and grows by scale per pixel (an
 * accumulated double, as Pillow does), then is floored. */
static void nearest_index(int in, int out, int *idx) {
  double scale = (double)in / out;
  double pos = scale * 0.5;
  for (int i = 0; i < out; i++, pos += scale) {
    int v = (int)floor(pos);
    idx[i] = v < 0 ? 0 : v >= in ? in - 1 : v;
  }
}

static cz_err *resize_nearest(const cz_image *src, cz_image *out) {
  int *xi = malloc(sizeof(int) * (size_t)out->w);
  int *yi = malloc(sizeof(int) * (size_t)out->h);
  if (!xi || !yi) {
    free(xi);
    free(yi);
    return cz_err_new(CZ_EXIT_RUNTIME, "resize: out of memory");
  }
  nearest_index(src->w, out->w, xi);
  nearest_index(src->h, out->h, yi);
  size_t c = (size_t)src->c;
  for (int y = 0; y < out->h; y++) {
    const uint8_t *row = src->px + (size_t)yi[y] * (size_t)src->w * c;
    uint8_t *orow = out->px + (size_t)y * (size_t)out->w * c;
    for (int x = 0; x < out->w; x++) memcpy(orow + (size_t)x * c, row + (size_t)xi[x] * c, c);
  }
  free(xi);
  free(yi);
  return NULL;
}

static cz_err *resize_conv(const cz_image *src, cz_interp interp, cz_image *out) {
  filter_fn f = interp == CZ_INTERP_BILINEAR ? f_triangle
                : interp == CZ_INTERP_BICUBIC ? f_cubic
                                              : f_box;
  double support = interp == CZ_INTERP_BILINEAR ? 1.0 : interp == CZ_INTERP_BICUBIC ? 2.0 : 0.5;
  bool need_h = out->w != src->w, need_v = out->h != src->h;
  taps th = {0}, tv = {0};
  uint8_t *mid = NULL;
  cz_err *err = NULL;
  if ((need_h && !taps_make(src->w, out->w, f, support, &th)) ||
      (need_v && !taps_make(src->h, out->h, f, support, &tv))) {
    err = cz_err_new(CZ_EXIT_RUNTIME, "resize: out of memory");
    goto done;
  }
  const uint8_t *cur = src->px;
  if (need_h) {
    /* Pillow limits the horizontal pass to the rows the vertical one
     * reads; passing all rows gives the same pixels. */
    uint8_t *dst = need_v ? (mid = malloc((size_t)out->w * (size_t)src->h * (size_t)src->c)) : out->px;
    if (!dst) {
      err = cz_err_new(CZ_EXIT_RUNTIME, "resize: out of memory");
      goto done;
    }
    pass_h(src->px, src->w, src->h, src->c, &th, out->w, dst);
    cur = dst;
  }
  if (need_v) pass_v(cur, out->w, src->c, &tv, out->h, out->px);
  if (!need_h && !need_v) memcpy(out->px, src->px, (size_t)src->w * (size_t)src->h * (size_t)src->c);
done:
  free(mid);
  taps_free(&th);
  taps_free(&tv);
  return err;
}

cz_err *cz_tf_resize(const cz_image *src, int out_w, int out_h, cz_interp interp,
                     cz_image *out) {
  *out = (cz_image){0};
  if (!src || !src->px || src->w <= 0 || src->h <= 0 || src->c < 1 || src->c > 4)
    return cz_err_new(CZ_EXIT_RUNTIME, "resize: empty or malformed source image");
  if (out_w <= 0 || out_h <= 0 || out_w > CZ_IMG_MAX_SIDE || out_h > CZ_IMG_MAX_SIDE)
    return cz_err_new(CZ_EXIT_RUNTIME, "resize: bad target size %dx%d", out_w, out_h);
  if (interp < CZ_INTERP_NEAREST || interp > CZ_INTERP_AREA)
    return cz_err_new(CZ_EXIT_RUNTIME, "resize: unknown interpolation %d", (int)interp);
  cz_image o = {.w = out_w, .h = out_h, .c = src->c};
  o.px = malloc((size_t)out_w * (size_t)out_h * (size_t)src->c);
  if (!o.px) return cz_err_new(CZ_EXIT_RUNTIME, "resize: out of memory");
  cz_err *err = interp == CZ_INTERP_NEAREST ? resize_nearest(src, &o) : resize_conv(src, interp, &o);
  if (err) {
    free(o.px);
    return err;
  }
  *out = o;
  return NULL;
}
