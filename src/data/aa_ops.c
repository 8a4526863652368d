/* The auto-augment ops on 8-bit gray / RGB images with Pillow 9.4's
 * semantics, as timm's op functions call them (timm/data/auto_augment.py):
 * Image.transform(AFFINE) and rotate (Geometry.c: the generic transform
 * with the bilinear / bicubic filters, the nearest fast paths), ImageOps
 * autocontrast / equalize / invert / solarize / posterize, timm's
 * solarize_add table, ImageEnhance (Sharpness: the SMOOTH 3x3 filter of
 * Filter.c, then Image.blend), timm's desaturate and GaussianBlur
 * (aa_blur.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "data/aa.h"
#include "data/tf_train.h"

/* Geometry.c's COORD and FLOOR. */
static int coord(double v) { return v < 0.0 ? -1 : (int)v; }
static int floor_i(double v) { return v < 0.0 ? (int)floor(v) : (int)v; }
static int clipi(int v, int n) { return v < 0 ? 0 : v < n ? v : n - 1; }

static uint8_t cubic_u8(double v) {
  if (v <= 0.0) return 0;
  if (v >= 255.0) return 255;
  return (uint8_t)v;
}

/* Geometry.c's BICUBIC (a = -1) on four samples. */
static double bicubic(double v1, double v2, double v3, double v4, double d) {
  double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

/* The horizontal BICUBIC of one row on integer samples (the p terms are
 * exact in int, as PIL computes them from UINT8 samples). */
static inline double bicubic_row(const uint8_t *row, const int xo[4], double d) {
  int v1 = row[xo[0]], v2 = row[xo[1]], v3 = row[xo[2]], v4 = row[xo[3]];
  double p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

/* ImagingGenericTransform with affine_transform and the bilinear or bicubic
 * filter; pixels that map outside keep the fill (out is pre-filled). c is
 * a constant at each call site, so the channel loops unroll. */
static inline __attribute__((always_inline)) void generic_affine_c(const cz_image *in,
                                                                   const double a[6], int interp,
                                                                   uint8_t *out, const int c) {
  int w = in->w, h = in->h;
  size_t row = (size_t)w * (size_t)c;
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      uint8_t *o = out + (size_t)y * row + (size_t)x * (size_t)c;
      double xi = x + 0.5, yi = y + 0.5;
      double xin = a[0] * xi + a[1] * yi + a[2];
      double yin = a[3] * xi + a[4] * yi + a[5];
      if (xin < 0.0 || xin >= w || yin < 0.0 || yin >= h) continue;
      xin -= 0.5;
      yin -= 0.5;
      int fx = floor_i(xin), fy = floor_i(yin);
      double dx = xin - fx, dy = yin - fy;
      if (interp == CZ_INTERP_BILINEAR) {
        int x0 = clipi(fx, w) * c, x1 = clipi(fx + 1, w) * c;
        const uint8_t *r0 = in->px + (size_t)clipi(fy, h) * row;
        bool has1 = fy + 1 >= 0 && fy + 1 < h;
        const uint8_t *r1 = has1 ? in->px + (size_t)(fy + 1) * row : r0;
        for (int b = 0; b < c; b++) {
          double v1 = r0[x0 + b] + (r0[x1 + b] - r0[x0 + b]) * dx;
          double v2 = has1 ? r1[x0 + b] + (r1[x1 + b] - r1[x0 + b]) * dx : v1;
          v1 = v1 + (v2 - v1) * dy;
          o[b] = (uint8_t)v1;
        }
      } else {
        fx--;
        fy--;
        int xo[4] = {clipi(fx, w) * c, clipi(fx + 1, w) * c, clipi(fx + 2, w) * c,
                     clipi(fx + 3, w) * c};
        /* The first row is clipped; a later one outside the image repeats
         * the previous row's value (each checked on its own, as PIL). */
        const uint8_t *rows[4] = {in->px + (size_t)clipi(fy, h) * row, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++)
          if (fy + k >= 0 && fy + k < h) rows[k] = in->px + (size_t)(fy + k) * row;
        for (int b = 0; b < c; b++) {
          double v[4];
          int xb[4] = {xo[0] + b, xo[1] + b, xo[2] + b, xo[3] + b};
          v[0] = bicubic_row(rows[0], xb, dx);
          for (int k = 1; k < 4; k++) v[k] = rows[k] ? bicubic_row(rows[k], xb, dx) : v[k - 1];
          o[b] = cubic_u8(bicubic(v[0], v[1], v[2], v[3], dy));
        }
      }
    }
  }
}

static void generic_affine(const cz_image *in, const double a[6], int interp, uint8_t *out) {
  if (in->c == 3)
    generic_affine_c(in, a, interp, out, 3);
  else
    generic_affine_c(in, a, interp, out, 1);
}

static bool fixed_ok(const double a[6], int x, int y) {
  return fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
}

/* Nearest neighbour: ImagingScaleAffine (no shear), affine_fixed (16.16
 * fixed point) or the floating point walk, as ImagingTransformAffine picks. */
static void nearest_affine(const cz_image *in, const double a[6], uint8_t *out) {
  int w = in->w, h = in->h, c = in->c;
  size_t px = (size_t)c;
  if (a[1] == 0 && a[3] == 0) {
    double xo = a[2] + a[0] * 0.5, yo = a[5] + a[4] * 0.5;
    int *xin = malloc(sizeof(int) * (size_t)w);
    if (!xin) return; /* the caller checked sizes; keep the fill */
    for (int x = 0; x < w; x++) {
      xin[x] = coord(xo);
      xo += a[0];
    }
    for (int y = 0; y < h; y++) {
      int yi = coord(yo);
      yo += a[4];
      if (yi < 0 || yi >= h) continue;
      for (int x = 0; x < w; x++)
        if (xin[x] >= 0 && xin[x] < w)
          memcpy(out + ((size_t)y * (size_t)w + (size_t)x) * px,
                 in->px + ((size_t)yi * (size_t)w + (size_t)xin[x]) * px, px);
    }
    free(xin);
    return;
  }
  if (fixed_ok(a, 0, 0) && fixed_ok(a, w, h) && fixed_ok(a, 0, h) && fixed_ok(a, w, 0)) {
#define FIX(v) floor_i((v) * 65536.0 + 0.5)
    int a0 = FIX(a[0]), a1 = FIX(a[1]), a3 = FIX(a[3]), a4 = FIX(a[4]);
    int a2 = FIX(a[2] + a[0] * 0.5 + a[1] * 0.5), a5 = FIX(a[5] + a[3] * 0.5 + a[4] * 0.5);
#undef FIX
    for (int y = 0; y < h; y++) {
      int xx = a2, yy = a5;
      for (int x = 0; x < w; x++) {
        int xi = xx >> 16, yi = yy >> 16; /* arithmetic shift: floor */
        if (xi >= 0 && xi < w && yi >= 0 && yi < h)
          memcpy(out + ((size_t)y * (size_t)w + (size_t)x) * px,
                 in->px + ((size_t)yi * (size_t)w + (size_t)xi) * px, px);
        xx += a0;
        yy += a3;
      }
      a2 += a1;
      a5 += a4;
    }
    return;
  }
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5, yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int y = 0; y < h; y++) {
    double xx = xo, yy = yo;
    for (int x = 0; x < w; x++) {
      int xi = coord(xx), yi = coord(yy);
      if (xi >= 0 && xi < w && yi >= 0 && yi < h)
        memcpy(out + ((size_t)y * (size_t)w + (size_t)x) * px,
               in->px + ((size_t)yi * (size_t)w + (size_t)xi) * px, px);
      xx += a[0];
      yy += a[3];
    }
    xo += a[1];
    yo += a[4];
  }
}

/* Image.transform(size, AFFINE, a, resample, fillcolor=fill). */
static cz_err *affine(cz_image *img, const double a[6], int interp, const uint8_t *fill) {
  size_t n = (size_t)img->w * (size_t)img->h, c = (size_t)img->c;
  uint8_t *out = malloc(n * c);
  if (!out) return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: out of memory");
  for (size_t i = 0; i < n; i++) memcpy(out + i * c, fill, c);
  if (interp == CZ_INTERP_NEAREST)
    nearest_affine(img, a, out);
  else
    generic_affine(img, a, interp, out);
  free(img->px);
  img->px = out;
  return NULL;
}

void cz_aa_flip(cz_image *img, bool hflip, bool vflip) {
  int w = img->w, h = img->h;
  size_t c = (size_t)img->c, row = (size_t)w * c;
  uint8_t t[4];
  if (hflip)
    for (int y = 0; y < h; y++) {
      uint8_t *r = img->px + (size_t)y * row;
      for (int x = 0; x < w / 2; x++) {
        memcpy(t, r + (size_t)x * c, c);
        memcpy(r + (size_t)x * c, r + (size_t)(w - 1 - x) * c, c);
        memcpy(r + (size_t)(w - 1 - x) * c, t, c);
      }
    }
  if (vflip)
    for (int y = 0; y < h / 2; y++) {
      uint8_t *r0 = img->px + (size_t)y * row, *r1 = img->px + (size_t)(h - 1 - y) * row;
      for (size_t i = 0; i < row; i++) {
        uint8_t v = r0[i];
        r0[i] = r1[i];
        r1[i] = v;
      }
    }
}

/* Python's round(v, 15): the correctly rounded 15-decimal value. */
static double round15(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.15f", v);
  return strtod(buf, NULL);
}

/* Image.rotate(degrees, resample, fillcolor): the 0 / 180 / square 90 and
 * 270 shortcuts, else the inverse affine about the centre. */
static cz_err *rotate(cz_image *img, double degrees, int interp, const uint8_t *fill) {
  double angle = fmod(degrees, 360.0);
  if (angle < 0) angle += 360.0; /* Python's % takes the divisor's sign */
  if (angle == 0) return NULL;
  if (angle == 180) {
    cz_aa_flip(img, true, true);
    return NULL;
  }
  int w = img->w, h = img->h;
  if ((angle == 90 || angle == 270) && w == h) {
    size_t c = (size_t)img->c;
    uint8_t *out = malloc((size_t)w * (size_t)h * c);
    if (!out) return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: out of memory");
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        /* counter-clockwise 90: out(x, y) = in(w-1-y, x); 270: in(y, h-1-x) */
        int sx = angle == 90 ? w - 1 - y : y, sy = angle == 90 ? x : h - 1 - x;
        memcpy(out + ((size_t)y * (size_t)w + (size_t)x) * c,
               img->px + ((size_t)sy * (size_t)w + (size_t)sx) * c, c);
      }
    free(img->px);
    img->px = out;
    return NULL;
  }
  double cx = w / 2.0, cy = h / 2.0;
  double ang = -(angle * (M_PI / 180.0));
  double m[6] = {round15(cos(ang)), round15(sin(ang)), 0.0, round15(-sin(ang)), round15(cos(ang)),
                 0.0};
  double m2 = m[0] * -cx + m[1] * -cy + m[2], m5 = m[3] * -cx + m[4] * -cy + m[5];
  m[2] = m2 + cx;
  m[5] = m5 + cy;
  return affine(img, m, interp, fill);
}

static void apply_lut(cz_image *img, uint8_t lut[][256]) {
  size_t n = (size_t)img->w * (size_t)img->h, c = (size_t)img->c;
  uint8_t *p = img->px;
  if (c == 3) {
    for (size_t i = 0; i < n; i++, p += 3) {
      p[0] = lut[0][p[0]];
      p[1] = lut[1][p[1]];
      p[2] = lut[2][p[2]];
    }
  } else {
    for (size_t i = 0; i < n; i++) p[i] = lut[0][p[i]];
  }
}

static void histograms(const cz_image *img, uint32_t hist[][256]) {
  size_t n = (size_t)img->w * (size_t)img->h, c = (size_t)img->c;
  memset(hist, 0, sizeof(uint32_t) * 256 * c);
  const uint8_t *p = img->px;
  if (c == 3) {
    for (size_t i = 0; i < n; i++, p += 3) {
      hist[0][p[0]]++;
      hist[1][p[1]]++;
      hist[2][p[2]]++;
    }
  } else {
    for (size_t i = 0; i < n; i++) hist[0][p[i]]++;
  }
}

/* ImageOps.autocontrast(img) (cutoff 0): each band stretched from its
 * lowest to its highest used value, int(v * scale + offset). */
static void autocontrast(cz_image *img) {
  uint32_t hist[3][256];
  uint8_t lut[3][256];
  histograms(img, hist);
  for (int b = 0; b < img->c; b++) {
    int lo = 0, hi = 255;
    while (lo < 256 && !hist[b][lo]) lo++;
    while (hi >= 0 && !hist[b][hi]) hi--;
    if (hi <= lo) {
      for (int v = 0; v < 256; v++) lut[b][v] = (uint8_t)v;
      continue;
    }
    double scale = 255.0 / (hi - lo), offset = -lo * scale;
    for (int v = 0; v < 256; v++) {
      int t = (int)(v * scale + offset);
      lut[b][v] = (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
    }
  }
  apply_lut(img, lut);
}

/* ImageOps.equalize(img): step = (n - count of the top used value) // 255,
 * lut[i] = (step // 2 + count below i) // step. Image.point clips to 255. */
static void equalize(cz_image *img) {
  uint32_t hist[3][256];
  uint8_t lut[3][256];
  histograms(img, hist);
  for (int b = 0; b < img->c; b++) {
    uint64_t total = 0, last = 0;
    int used = 0;
    for (int v = 0; v < 256; v++)
      if (hist[b][v]) {
        total += hist[b][v];
        last = hist[b][v];
        used++;
      }
    uint64_t step = used > 1 ? (total - last) / 255 : 0;
    if (!step) {
      for (int v = 0; v < 256; v++) lut[b][v] = (uint8_t)v;
      continue;
    }
    uint64_t acc = step / 2;
    for (int v = 0; v < 256; v++) {
      uint64_t t = acc / step;
      lut[b][v] = (uint8_t)(t > 255 ? 255 : t);
      acc += hist[b][v];
    }
  }
  apply_lut(img, lut);
}

static void point(cz_image *img, const uint8_t lut1[256]) {
  uint8_t lut[3][256];
  for (int b = 0; b < 3; b++) memcpy(lut[b], lut1, 256);
  apply_lut(img, lut);
}

/* Image.blend(a, b, f) for one sample (Blend.c: float math, truncation,
 * clipped outside [0, 1]). */
static uint8_t blend(int a, int b, float f) {
  float t = (float)a + f * (float)(b - a);
  if (t <= 0.0f) return 0;
  if (t >= 255.0f) return 255;
  return (uint8_t)t;
}

/* ImageEnhance.Sharpness: blend(img.filter(SMOOTH), img, factor). SMOOTH
 * is the 3x3 kernel (1 1 1 / 1 5 1 / 1 1 1) / 13 in float with +0.5 and
 * truncation; the border rows and columns are copied (Filter.c). */
static cz_err *sharpness(cz_image *img, float factor) {
  int w = img->w, h = img->h, c = img->c;
  if (w < 3 || h < 3) return NULL; /* PIL copies: blend with itself */
  size_t row = (size_t)w * (size_t)c;
  uint8_t *d = malloc(row * (size_t)h);
  if (!d) return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: out of memory");
  memcpy(d, img->px, row * (size_t)h);
  const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
  for (int y = 1; y < h - 1; y++) {
    const uint8_t *up = img->px + (size_t)(y - 1) * row, *mid = up + row, *dn = mid + row;
    uint8_t *o = d + (size_t)y * row;
    for (int x = 1; x < w - 1; x++)
      for (int b = 0; b < c; b++) {
        size_t i = (size_t)x * (size_t)c + (size_t)b, l = i - (size_t)c, r = i + (size_t)c;
        float ss = 0.5f;
        ss += (float)dn[l] * k1 + (float)dn[i] * k1 + (float)dn[r] * k1;
        ss += (float)mid[l] * k1 + (float)mid[i] * k5 + (float)mid[r] * k1;
        ss += (float)up[l] * k1 + (float)up[i] * k1 + (float)up[r] * k1;
        o[i] = ss <= 0.0f ? 0 : ss >= 255.0f ? 255 : (uint8_t)ss;
      }
  }
  size_t n = row * (size_t)h;
  for (size_t i = 0; i < n; i++) img->px[i] = blend(d[i], img->px[i], factor);
  free(d);
  return NULL;
}

cz_err *cz_aa_op_apply(cz_image *img, cz_aa_opname op, double arg, int interp,
                       const uint8_t *fill) {
  if (!img || !img->px || (img->c != 1 && img->c != 3))
    return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: expected a gray or RGB image");
  uint8_t lut[256];
  switch (op) {
    case CZ_AA_AUTOCONTRAST: autocontrast(img); return NULL;
    case CZ_AA_EQUALIZE: equalize(img); return NULL;
    case CZ_AA_INVERT:
      for (int v = 0; v < 256; v++) lut[v] = (uint8_t)(255 - v);
      point(img, lut);
      return NULL;
    case CZ_AA_SOLARIZE:
    case CZ_AA_SOLARIZE_INC:
      for (int v = 0; v < 256; v++) lut[v] = (uint8_t)(v < arg ? v : 255 - v);
      point(img, lut);
      return NULL;
    case CZ_AA_SOLARIZE_ADD: /* timm's solarize_add: thresh 128 */
      for (int v = 0; v < 256; v++) {
        double t = v < 128 ? fmin(255.0, v + arg) : v;
        lut[v] = (uint8_t)(t < 0 ? 0 : t);
      }
      point(img, lut);
      return NULL;
    case CZ_AA_POSTERIZE:
    case CZ_AA_POSTERIZE_INC:
    case CZ_AA_POSTERIZE_ORIG: {
      int bits = (int)arg;
      if (bits >= 8) return NULL;
      /* ~(2 ** (8 - bits) - 1): bits <= 0 clears every value */
      int mask = bits <= 0 ? 0 : (int)(~((1u << (8 - bits)) - 1u) & 0xffu);
      for (int v = 0; v < 256; v++) lut[v] = (uint8_t)(v & mask);
      point(img, lut);
      return NULL;
    }
    case CZ_AA_COLOR:
    case CZ_AA_COLOR_INC: cz_tf_jitter(img, CZ_JIT_SATURATION, (float)arg); return NULL;
    case CZ_AA_CONTRAST:
    case CZ_AA_CONTRAST_INC: cz_tf_jitter(img, CZ_JIT_CONTRAST, (float)arg); return NULL;
    case CZ_AA_BRIGHTNESS:
    case CZ_AA_BRIGHTNESS_INC: cz_tf_jitter(img, CZ_JIT_BRIGHTNESS, (float)arg); return NULL;
    case CZ_AA_SHARPNESS:
    case CZ_AA_SHARPNESS_INC: return sharpness(img, (float)arg);
    case CZ_AA_DESATURATE: { /* timm: Color(min(1, max(0, 1 - factor))) */
      double f = fmin(1.0, fmax(0.0, 1.0 - arg));
      cz_tf_jitter(img, CZ_JIT_SATURATION, (float)f);
      return NULL;
    }
    case CZ_AA_GAUSSIAN_BLUR: return cz_aa_gaussian_blur(img, (float)arg);
    case CZ_AA_ROTATE: return rotate(img, arg, interp, fill);
    case CZ_AA_SHEAR_X: {
      double a[6] = {1, arg, 0, 0, 1, 0};
      return affine(img, a, interp, fill);
    }
    case CZ_AA_SHEAR_Y: {
      double a[6] = {1, 0, 0, arg, 1, 0};
      return affine(img, a, interp, fill);
    }
    case CZ_AA_TRANSLATE_X:
    case CZ_AA_TRANSLATE_X_REL: {
      double px = op == CZ_AA_TRANSLATE_X ? arg : arg * img->w;
      double a[6] = {1, 0, px, 0, 1, 0};
      return affine(img, a, interp, fill);
    }
    case CZ_AA_TRANSLATE_Y:
    case CZ_AA_TRANSLATE_Y_REL: {
      double px = op == CZ_AA_TRANSLATE_Y ? arg : arg * img->h;
      double a[6] = {1, 0, 0, 0, 1, px};
      return affine(img, a, interp, fill);
    }
    default: break;
  }
  return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: bad op %d", (int)op);
}
