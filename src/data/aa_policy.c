/* Parsing of data_augmentation.aa strings as timm 1.0.31's create_transform
 * and auto_augment.py do: the AutoAugment policy tables, RandAugment's and
 * AugMix's op sets and options, and the hparams (translate_const,
 * translate_pct, img_mean, interpolation). Where timm silently ignores a
 * section (no digit in it) or falls back to the default set (an unknown
 * 't' name) we report an error instead. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "data/aa.h"

static const char *const NAMES[CZ_AA_NOPS] = {
    "AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "PosterizeIncreasing",
    "PosterizeOriginal", "Solarize", "SolarizeIncreasing", "SolarizeAdd", "Color",
    "ColorIncreasing", "Contrast", "ContrastIncreasing", "Brightness", "BrightnessIncreasing",
    "Sharpness", "SharpnessIncreasing", "ShearX", "ShearY", "TranslateX", "TranslateY",
    "TranslateXRel", "TranslateYRel", "Desaturate", "GaussianBlur", "GaussianBlurRand"};

const char *cz_aa_op_name(cz_aa_opname op) {
  return op >= 0 && op < CZ_AA_NOPS ? NAMES[op] : "?";
}

enum {
  AC = CZ_AA_AUTOCONTRAST, EQ = CZ_AA_EQUALIZE, INV = CZ_AA_INVERT, ROT = CZ_AA_ROTATE,
  POS = CZ_AA_POSTERIZE, POSI = CZ_AA_POSTERIZE_INC, POSO = CZ_AA_POSTERIZE_ORIG,
  SOL = CZ_AA_SOLARIZE, SOLI = CZ_AA_SOLARIZE_INC, SOLA = CZ_AA_SOLARIZE_ADD, COL = CZ_AA_COLOR,
  COLI = CZ_AA_COLOR_INC, CON = CZ_AA_CONTRAST, CONI = CZ_AA_CONTRAST_INC,
  BRI = CZ_AA_BRIGHTNESS, BRII = CZ_AA_BRIGHTNESS_INC, SHA = CZ_AA_SHARPNESS,
  SHAI = CZ_AA_SHARPNESS_INC, SHX = CZ_AA_SHEAR_X, SHY = CZ_AA_SHEAR_Y,
  TXR = CZ_AA_TRANSLATE_X_REL, TYR = CZ_AA_TRANSLATE_Y_REL, DES = CZ_AA_DESATURATE,
  GB = CZ_AA_GAUSSIAN_BLUR, GBR = CZ_AA_GAUSSIAN_BLUR_RAND,
};

typedef struct {
  int op;
  double p, m;
} pol_op;

/* auto_augment_policy_v0 (v0r: Posterize -> PosterizeIncreasing). */
static const pol_op V0[25][2] = {
    {{EQ, .8, 1}, {SHY, .8, 4}},   {{COL, .4, 9}, {EQ, .6, 3}},   {{COL, .4, 1}, {ROT, .6, 8}},
    {{SOL, .8, 3}, {EQ, .4, 7}},   {{SOL, .4, 2}, {SOL, .6, 2}},  {{COL, .2, 0}, {EQ, .8, 8}},
    {{EQ, .4, 8}, {SOLA, .8, 3}},  {{SHX, .2, 9}, {ROT, .6, 8}},  {{COL, .6, 1}, {EQ, 1., 2}},
    {{INV, .4, 9}, {ROT, .6, 0}},  {{EQ, 1., 9}, {SHY, .6, 3}},   {{COL, .4, 7}, {EQ, .6, 0}},
    {{POS, .4, 6}, {AC, .4, 7}},   {{SOL, .6, 8}, {COL, .6, 9}},  {{SOL, .2, 4}, {ROT, .8, 9}},
    {{ROT, 1., 7}, {TYR, .8, 9}},  {{SHX, 0., 0}, {SOL, .8, 4}},  {{SHY, .8, 0}, {COL, .6, 4}},
    {{COL, 1., 0}, {ROT, .6, 2}},  {{EQ, .8, 4}, {EQ, 0., 8}},    {{EQ, 1., 4}, {AC, .6, 2}},
    {{SHY, .4, 7}, {SOLA, .6, 7}}, {{POS, .8, 2}, {SOL, .6, 10}}, {{SOL, .6, 8}, {EQ, .6, 1}},
    {{COL, .8, 6}, {ROT, .4, 5}},
};

/* auto_augment_policy_original (originalr: PosterizeOriginal ->
 * PosterizeIncreasing). */
static const pol_op ORIGINAL[25][2] = {
    {{POSO, .4, 8}, {ROT, .6, 9}},  {{SOL, .6, 5}, {AC, .6, 5}},    {{EQ, .8, 8}, {EQ, .6, 3}},
    {{POSO, .6, 7}, {POSO, .6, 6}}, {{EQ, .4, 7}, {SOL, .2, 4}},    {{EQ, .4, 4}, {ROT, .8, 8}},
    {{SOL, .6, 3}, {EQ, .6, 7}},    {{POSO, .8, 5}, {EQ, 1., 2}},   {{ROT, .2, 3}, {SOL, .6, 8}},
    {{EQ, .6, 8}, {POSO, .4, 6}},   {{ROT, .8, 8}, {COL, .4, 0}},   {{ROT, .4, 9}, {EQ, .6, 2}},
    {{EQ, 0., 7}, {EQ, .8, 8}},     {{INV, .6, 4}, {EQ, 1., 8}},    {{COL, .6, 4}, {CON, 1., 8}},
    {{ROT, .8, 8}, {COL, 1., 2}},   {{COL, .8, 8}, {SOL, .8, 7}},   {{SHA, .4, 7}, {INV, .6, 8}},
    {{SHX, .6, 5}, {EQ, 1., 9}},    {{COL, .4, 0}, {EQ, .6, 3}},    {{EQ, .4, 7}, {SOL, .2, 4}},
    {{SOL, .6, 5}, {AC, .6, 5}},    {{INV, .6, 4}, {EQ, 1., 8}},    {{COL, .6, 4}, {CON, 1., 8}},
    {{EQ, .8, 8}, {EQ, .6, 3}},
};

/* _RAND_TRANSFORMS and _RAND_INCREASING_TRANSFORMS. */
static const int RAND_OPS[15] = {AC, EQ, INV, ROT, POS, SOL, SOLA, COL, CON, BRI, SHA, SHX, SHY,
                                 TXR, TYR};
static const int RAND_INC_OPS[15] = {AC,   EQ,   INV,  ROT, POSI, SOLI, SOLA, COLI,
                                     CONI, BRII, SHAI, SHX, SHY,  TXR,  TYR};
/* _RAND_WEIGHTED_0 in its dict order. */
static const pol_op RAND_WEIGHTED[15] = {
    {ROT, 3, 0},     {SHX, 2, 0},     {SHY, 2, 0},     {TXR, 1, 0},     {TYR, 1, 0},
    {COLI, .25, 0},  {SHAI, .25, 0},  {AC, .25, 0},    {SOLI, .05, 0},  {SOLA, .05, 0},
    {CONI, .05, 0},  {BRII, .05, 0},  {EQ, .05, 0},    {POSI, .05, 0},  {INV, .05, 0}};
/* _RAND_3A and _RAND_WEIGHTED_3A (dict order). */
static const int RAND_3A_OPS[3] = {SOLI, DES, GB};
static const pol_op RAND_WEIGHTED_3A[14] = {
    {SOLI, 6, 0}, {DES, 6, 0},  {GB, 6, 0},   {ROT, 3, 0},  {SHX, 2, 0},  {SHY, 2, 0},  {POSI, 1, 0},
    {AC, 1, 0},   {COLI, 1, 0}, {SHAI, 1, 0}, {CONI, 1, 0}, {BRII, 1, 0}, {EQ, 1, 0},   {INV, 1, 0}};
/* auto_augment_policy_3a: one op per sub-policy. */
static const pol_op POLICY_3A[3] = {{SOL, 1.0, 5}, {DES, 1.0, 10}, {GBR, 1.0, 10}};
/* _AUGMIX_TRANSFORMS. */
static const int AUGMIX_OPS[13] = {AC, COLI, CONI, BRII, SHAI, EQ, ROT, POSI, SOLI, SHX, SHY,
                                   TXR, TYR};

/* One error line: data_augmentation.aa: '<string>': <what>. */
#define bad(s, ...) \
  cz_err_prefix(cz_err_new(CZ_EXIT_USAGE, __VA_ARGS__), "data_augmentation.aa: '%s'", s)

/* Python's int(val) / float(val) on the part after the key (which starts
 * with a digit, as timm's re.split(r'(\d.*)') makes it). */
static bool parse_int(const char *v, long *out) {
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  errno = 0;
  *out = strtol(v, NULL, 10);
  return errno == 0 && *out <= 1000000;
}

static bool parse_float(const char *v, double *out) {
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p) && *p != '.' && *p != 'e' && *p != 'E' && *p != '+' &&
        *p != '-')
      return false;
  char *end;
  *out = strtod(v, &end);
  return *v && !*end;
}

/* One '-' section: key (letters before the first digit) and value. */
static bool split_section(const char *sec, char *key, size_t kcap, const char **val) {
  size_t i = 0;
  while (sec[i] && !isdigit((unsigned char)sec[i])) i++;
  if (!sec[i] || i >= kcap) return false;
  memcpy(key, sec, i);
  key[i] = 0;
  *val = sec + i;
  return true;
}

static void set_ops(cz_aa *aa, const int *ops, int n, double prob, double m) {
  aa->n_ops = n;
  for (int i = 0; i < n; i++) aa->ops[i] = (cz_aa_op){(cz_aa_opname)ops[i], prob, m};
}

static cz_err *parse_auto(const char *s, char **secs, int n, cz_aa *aa) {
  const char *pol = secs[0];
  const pol_op(*table)[2] = NULL;
  bool r = false;
  if (!strcmp(pol, "v0") || !strcmp(pol, "v0r")) {
    table = V0;
    r = pol[2] == 'r';
  } else if (!strcmp(pol, "original") || !strcmp(pol, "originalr")) {
    table = ORIGINAL;
    r = pol[8] == 'r';
  } else if (!strcmp(pol, "3a")) {
    table = NULL;
  } else {
    return bad(s, "unknown policy '%s' (expected %s)", pol,
               "original, originalr, v0, v0r, 3a, or rand-..., augmix-...");
  }
  aa->kind = CZ_AA_AUTO;
  bool mstd_set = false;
  for (int i = 1; i < n; i++) {
    char key[16];
    const char *val;
    double v;
    if (!split_section(secs[i], key, sizeof key, &val) || strcmp(key, "mstd"))
      return bad(s, "unknown AutoAugment option '%s' (expected %s)", secs[i], "mstd");
    if (!parse_float(val, &v) || !(v >= 0))
      return bad(s, "AutoAugment option '%s': %s", secs[i], "mstd takes a number >= 0");
    if (!mstd_set) aa->mstd = v; /* timm: hparams.setdefault, the first wins */
    mstd_set = true;
  }
  if (!table) {
    aa->n_sub = 3;
    for (int k = 0; k < 3; k++) {
      aa->sub_len[k] = 1;
      aa->sub[k][0] = (cz_aa_op){(cz_aa_opname)POLICY_3A[k].op, POLICY_3A[k].p, POLICY_3A[k].m};
    }
    return NULL;
  }
  aa->n_sub = 25;
  for (int k = 0; k < 25; k++) {
    aa->sub_len[k] = 2;
    for (int j = 0; j < 2; j++) {
      int op = table[k][j].op;
      if (r && (op == POS || op == POSO)) op = POSI;
      aa->sub[k][j] = (cz_aa_op){(cz_aa_opname)op, table[k][j].p, table[k][j].m};
    }
  }
  return NULL;
}

static cz_err *parse_rand(const char *s, char **secs, int n, cz_aa *aa) {
  if (strcmp(secs[0], "rand"))
    return bad(s, "unknown RandAugment variant '%s' (expected %s)", secs[0], "rand");
  aa->kind = CZ_AA_RAND;
  long m = 10, layers = 2;
  bool inc = false, mstd_set = false, mmax_set = false;
  double prob = 0.5;
  const char *tset = NULL;
  for (int i = 1; i < n; i++) {
    const char *sec = secs[i];
    if (sec[0] == 't') {
      if (!tset) tset = sec + 1; /* timm: the first 't' wins */
      continue;
    }
    char key[16];
    const char *val;
    long iv;
    double fv;
    if (!split_section(sec, key, sizeof key, &val))
      return bad(s, "unknown RandAugment option '%s' (expected %s)", sec,
                 "m, n, mstd, mmax, inc, p, t");
    if (!strcmp(key, "mstd")) {
      if (!parse_float(val, &fv) || !(fv >= 0))
        return bad(s, "RandAugment option '%s': %s", sec, "mstd takes a number >= 0");
      if (fv > 100) fv = INFINITY; /* timm: uniform in [0, m] */
      if (!mstd_set) aa->mstd = fv;
      mstd_set = true;
    } else if (!strcmp(key, "mmax")) {
      if (!parse_int(val, &iv))
        return bad(s, "RandAugment option '%s': %s", sec, "mmax takes an integer");
      if (!mmax_set) aa->mmax = (int)iv;
      mmax_set = true;
    } else if (!strcmp(key, "inc")) {
      if (!parse_int(val, &iv))
        return bad(s, "RandAugment option '%s': %s", sec, "inc takes 0 or 1");
      inc = iv != 0;
    } else if (!strcmp(key, "m")) {
      if (!parse_int(val, &m))
        return bad(s, "RandAugment option '%s': %s", sec, "m takes an integer");
    } else if (!strcmp(key, "n")) {
      if (!parse_int(val, &layers) || layers > CZ_AA_MAX_LAYERS)
        return bad(s, "RandAugment option '%s': %s", sec, "n takes an integer in [0, 16]");
    } else if (!strcmp(key, "p")) {
      if (!parse_float(val, &prob) || !(prob >= 0))
        return bad(s, "RandAugment option '%s': %s", sec, "p takes a probability");
    } else {
      return bad(s, "unknown RandAugment option '%s' (expected %s)", sec,
                 "m, n, mstd, mmax, inc, p, t");
    }
  }
  aa->num_layers = (int)layers;
  const pol_op *wt = NULL;
  int nw = 0;
  if (tset && !strcmp(tset, "weights")) {
    wt = RAND_WEIGHTED;
    nw = 15;
  } else if (tset && !strcmp(tset, "3aw")) {
    wt = RAND_WEIGHTED_3A;
    nw = 14;
  }
  if (wt) {
    aa->weighted = true;
    aa->n_ops = nw;
    double sum = 0;
    for (int i = 0; i < nw; i++) sum += wt[i].p;
    for (int i = 0; i < nw; i++) {
      aa->ops[i] = (cz_aa_op){(cz_aa_opname)wt[i].op, prob, (double)m};
      aa->weight[i] = wt[i].p / sum;
    }
    if (layers > nw)
      return bad(s, "RandAugment 't%s': n > %d, but it draws without replacement from %d ops",
                 tset, nw, nw);
  } else if (tset && !strcmp(tset, "3a")) {
    set_ops(aa, RAND_3A_OPS, 3, prob, (double)m);
  } else if (tset) {
    return bad(s, "unknown RandAugment transform set 't%s' (expected %s)", tset,
               "tweights, t3a, t3aw");
  } else {
    set_ops(aa, inc ? RAND_INC_OPS : RAND_OPS, 15, prob, (double)m);
  }
  return NULL;
}

static cz_err *parse_augmix(const char *s, char **secs, int n, cz_aa *aa) {
  if (strcmp(secs[0], "augmix"))
    return bad(s, "unknown AugMix variant '%s' (expected %s)", secs[0], "augmix");
  aa->kind = CZ_AA_AUGMIX;
  long m = 3, width = 3, depth = -1, b = 0;
  double alpha = 1.0;
  bool mstd_set = false;
  for (int i = 1; i < n; i++) {
    const char *sec = secs[i];
    char key[16];
    const char *val;
    double fv;
    if (!split_section(sec, key, sizeof key, &val))
      return bad(s, "unknown AugMix option '%s' (expected %s)", sec, "m, w, d, a, b, mstd");
    if (!strcmp(key, "mstd")) {
      if (!parse_float(val, &fv) || !(fv >= 0))
        return bad(s, "AugMix option '%s': %s", sec, "mstd takes a number >= 0");
      if (!mstd_set) aa->mstd = fv;
      mstd_set = true;
    } else if (!strcmp(key, "m")) {
      if (!parse_int(val, &m)) return bad(s, "AugMix option '%s': %s", sec, "m takes an integer");
    } else if (!strcmp(key, "w")) {
      if (!parse_int(val, &width) || width < 1 || width > CZ_AA_MAX_WIDTH)
        return bad(s, "AugMix option '%s': %s", sec, "w takes an integer in [1, 16]");
    } else if (!strcmp(key, "d")) {
      if (!parse_int(val, &depth) || depth > CZ_AA_MAX_DEPTH)
        return bad(s, "AugMix option '%s': %s", sec, "d takes an integer in [0, 16]");
    } else if (!strcmp(key, "a")) {
      if (!parse_float(val, &alpha) || !(alpha > 0) || !isfinite(alpha))
        return bad(s, "AugMix option '%s': %s", sec, "a takes a number > 0");
    } else if (!strcmp(key, "b")) {
      if (!parse_int(val, &b)) return bad(s, "AugMix option '%s': %s", sec, "b takes 0 or 1");
    } else {
      return bad(s, "unknown AugMix option '%s' (expected %s)", sec, "m, w, d, a, b, mstd");
    }
  }
  if (!mstd_set) aa->mstd = INFINITY; /* timm's AugMix default: uniform */
  aa->width = (int)width;
  aa->depth = (int)depth;
  aa->alpha = alpha;
  aa->blended = b != 0;
  aa->translate_pct = 0.3;
  set_ops(aa, AUGMIX_OPS, 13, 1.0, (double)m);
  return NULL;
}

cz_err *cz_aa_parse(const char *s, int h, int w, int c, const float *mean, const char *interp,
                    cz_aa *aa) {
  *aa = (cz_aa){.kind = CZ_AA_OFF, .translate_pct = 0.45};
  if (!s || !s[0] || !strcmp(s, "none") || !strcmp(s, "None")) return NULL;
  if (c != 1 && c != 3)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.aa: '%s' needs 1 or 3 input channels, "
                      "not %d", s, c);
  /* create_transform's hparams; img_size is the width (the reference
   * passes input_shape[-1], timm then takes int(0.45 * img_size)). */
  (void)h;
  aa->translate_const = (int)(w * 0.45);
  for (int i = 0; i < 3; i++) {
    double v = nearbyint(255.0 * mean[c == 1 ? 0 : i]); /* Python round: half to even */
    aa->fill[i] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
  }
  if (!interp || !strcmp(interp, "random")) {
    aa->n_interp = 2;
    aa->interp[0] = CZ_INTERP_BILINEAR;
    aa->interp[1] = CZ_INTERP_BICUBIC;
  } else {
    aa->n_interp = 1;
    if (!strcmp(interp, "bilinear")) aa->interp[0] = CZ_INTERP_BILINEAR;
    else if (!strcmp(interp, "bicubic")) aa->interp[0] = CZ_INTERP_BICUBIC;
    else if (!strcmp(interp, "nearest")) aa->interp[0] = CZ_INTERP_NEAREST;
    else
      return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.train_interpolation: '%s' cannot be "
                        "used with data_augmentation.aa (PIL's transform takes random, nearest, "
                        "bilinear or bicubic)", interp);
  }
  /* timm keeps ColorJitter only when '3a' is in the string. */
  aa->color_jitter = strstr(s, "3a") != NULL;
  size_t len = strlen(s);
  if (len > 255) return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.aa: the string is too long");
  char buf[256];
  memcpy(buf, s, len + 1);
  char *secs[64];
  int n = 0;
  for (char *p = buf;;) {
    if (n == 64) return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.aa: '%s': too many sections", s);
    secs[n++] = p;
    char *d = strchr(p, '-');
    if (!d) break;
    *d = 0;
    p = d + 1;
  }
  snprintf(aa->name, sizeof aa->name, "%s", secs[0]);
  if (!strncmp(s, "rand", 4)) return parse_rand(s, secs, n, aa);
  if (!strncmp(s, "augmix", 6)) return parse_augmix(s, secs, n, aa);
  return parse_auto(s, secs, n, aa);
}
