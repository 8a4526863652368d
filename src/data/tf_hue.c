/* PIL-exact hue shift of 8-bit RGB(A) images: torchvision 0.14's
 * functional_pil.adjust_hue, i.e. Pillow's RGB -> HSV conversion
 * (Convert.c rgb2hsv_row, following colorsys), the hue byte plus
 * uint8(hue_factor * 255) with wraparound, and HSV -> RGB (hsv2rgb). The
 * float/double mix below mirrors Pillow's C expressions so every byte
 * matches (tests/oracle/gen_tf_hue.py checks it on the same images). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "data/tf_train.h"

static uint8_t clip8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* rgb2hsv_row's hue byte for a pixel with max != min. */
static uint8_t hue_byte(int r, int g, int b, int maxc, int minc) {
  float cr = (float)(maxc - minc);
  float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
  float h;
  if (r == maxc)
    h = bc - gc;
  else if (g == maxc)
    h = (float)(2.0 + rc - bc);
  else
    h = (float)(4.0 + gc - rc);
  h = (float)fmod(h / 6.0 + 1.0, 1.0);
  return clip8((int)(h * 255.0));
}

/* hsv2rgb for one pixel with s != 0. */
static void hsv_to_rgb(uint8_t h, uint8_t s, uint8_t v, uint8_t *out) {
  int i = (int)floor((float)h * 6.0 / 255.0);
  float f = (float)((float)h * 6.0 / 255.0 - (float)i);
  float fs = (float)((float)s / 255.0);
  uint8_t up = clip8((int)round((float)v * (1.0 - fs)));
  uint8_t uq = clip8((int)round((float)v * (1.0 - fs * f)));
  uint8_t ut = clip8((int)round((float)v * (1.0 - fs * (1.0 - f))));
  switch (i % 6) {
  case 0: out[0] = v, out[1] = ut, out[2] = up; break;
  case 1: out[0] = uq, out[1] = v, out[2] = up; break;
  case 2: out[0] = up, out[1] = v, out[2] = ut; break;
  case 3: out[0] = up, out[1] = uq, out[2] = v; break;
  case 4: out[0] = ut, out[1] = up, out[2] = v; break;
  default: out[0] = v, out[1] = up, out[2] = uq; break;
  }
}

/* Tables, built once, holding exactly what the expressions above give:
 * - the saturation byte depends on (max - min, max) only:
 *   (int)((float)cr / (float)max * 255.0);
 * - the hue byte only on the differences max - channel and max - min
 *   (every operand above is one), so on the pixel minus its minimum,
 *   which has a zero channel: g_hue[z][a][b] for zero channel z and the
 *   other two channels a, b in RGB order;
 * - hsv2rgb's sextant i and fraction f per hue byte, fs per saturation
 *   byte, and p = round(v * (1 - fs)) per (s, v). */
static uint8_t g_sat[256][256];
static uint8_t g_hue[3][256][256];
static int g_sext[256];
static float g_frac[256], g_fs[256];
static uint8_t g_p[256][256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void tables_init(void) {
  for (int mx = 1; mx < 256; mx++)
    for (int cr = 1; cr <= mx; cr++) {
      float s = (float)cr / (float)mx;
      g_sat[cr][mx] = clip8((int)(s * 255.0));
    }
  for (int z = 0; z < 3; z++)
    for (int a = 0; a < 256; a++)
      for (int b = 0; b < 256; b++) {
        int px[3], k = 0;
        for (int ch = 0; ch < 3; ch++) px[ch] = ch == z ? 0 : k++ == 0 ? a : b;
        int mx = a > b ? a : b;
        g_hue[z][a][b] = mx == 0 ? 0 : hue_byte(px[0], px[1], px[2], mx, 0);
      }
  for (int h = 0; h < 256; h++) {
    g_sext[h] = (int)floor((float)h * 6.0 / 255.0);
    g_frac[h] = (float)((float)h * 6.0 / 255.0 - (float)g_sext[h]);
  }
  for (int sv = 0; sv < 256; sv++) {
    g_fs[sv] = (float)((float)sv / 255.0);
    for (int v = 0; v < 256; v++) g_p[sv][v] = clip8((int)round((float)v * (1.0 - g_fs[sv])));
  }
}

/* C's round() for 0 <= x < 2^31 without a libm call: x - (int)x is
 * exact there, so this is round-half-away-from-zero exactly. */
static int round_pos(double x) {
  int k = (int)x;
  return k + (x - (double)k >= 0.5);
}

/* hsv_to_rgb through the tables (s != 0). */
static void hsv_to_rgb_fast(uint8_t h, uint8_t s, uint8_t v, uint8_t *out) {
  float f = g_frac[h], fs = g_fs[s];
  uint8_t up = g_p[s][v];
  /* Both products are in [0, 255]: round_pos applies. */
  uint8_t uq = clip8(round_pos((float)v * (1.0 - fs * f)));
  uint8_t ut = clip8(round_pos((float)v * (1.0 - fs * (1.0 - f))));
  switch (g_sext[h] % 6) {
  case 0: out[0] = v, out[1] = ut, out[2] = up; break;
  case 1: out[0] = uq, out[1] = v, out[2] = up; break;
  case 2: out[0] = up, out[1] = v, out[2] = ut; break;
  case 3: out[0] = up, out[1] = uq, out[2] = v; break;
  case 4: out[0] = ut, out[1] = up, out[2] = v; break;
  default: out[0] = v, out[1] = up, out[2] = uq; break;
  }
}

uint8_t cz_tf_hue_shift(float hue_factor) {
  /* numpy's np.uint8(x): truncation toward zero, then modulo 256. */
  return (uint8_t)(int64_t)((double)hue_factor * 255.0);
}

void cz_tf_hue_ref(cz_image *img, float hue_factor) {
  if (img->c < 3) return;
  uint8_t shift = cz_tf_hue_shift(hue_factor);
  size_t n = (size_t)img->w * (size_t)img->h;
  int c = img->c;
  for (size_t i = 0; i < n; i++) {
    uint8_t *p = img->px + i * (size_t)c;
    int r = p[0], g = p[1], b = p[2];
    int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    if (maxc != minc) {
      uint8_t h = (uint8_t)(hue_byte(r, g, b, maxc, minc) + shift);
      float sf = (float)(maxc - minc) / (float)maxc;
      uint8_t s = clip8((int)(sf * 255.0));
      if (s == 0)
        p[0] = p[1] = p[2] = (uint8_t)maxc;
      else
        hsv_to_rgb(h, s, (uint8_t)maxc, p);
    }
    if (c == 4) p[3] = 255;
  }
}

void cz_tf_hue(cz_image *img, float hue_factor) {
  if (img->c < 3) return; /* torchvision returns L images unchanged */
  pthread_once(&g_once, tables_init);
  uint8_t shift = cz_tf_hue_shift(hue_factor);
  size_t n = (size_t)img->w * (size_t)img->h;
  int c = img->c;
  for (size_t i = 0; i < n; i++) {
    uint8_t *p = img->px + i * (size_t)c;
    int r = p[0], g = p[1], b = p[2];
    int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    /* A gray pixel has s = 0 and comes back as (v, v, v) whatever the
     * hue: unchanged. */
    if (maxc != minc) {
      int z = r == minc ? 0 : g == minc ? 1 : 2;
      int a = z == 0 ? g : r, bb = z == 2 ? g : b;
      uint8_t h = (uint8_t)(g_hue[z][a - minc][bb - minc] + shift);
      uint8_t s = g_sat[maxc - minc][maxc];
      if (s == 0)
        p[0] = p[1] = p[2] = (uint8_t)maxc;
      else
        hsv_to_rgb_fast(h, s, (uint8_t)maxc, p);
    }
    /* RGBA -> HSV drops alpha; HSV -> RGBA makes it opaque. */
    if (c == 4) p[3] = 255;
  }
}
