/* timm's data_augmentation.aa (timm 1.0.31 timm/data/auto_augment.py):
 * AutoAugment policies, RandAugment and AugMix on 8-bit gray or RGB
 * images with PIL's semantics; all randomness from a cz_rng. */
#ifndef CZ_DATA_AA_H
#define CZ_DATA_AA_H

#include <stdbool.h>
#include <stdint.h>

#include "io/img.h"
#include "util/err.h"
#include "util/rng.h"

/* timm's op names (NAME_TO_OP with the LEVEL_TO_ARG variants). */
typedef enum {
  CZ_AA_AUTOCONTRAST, CZ_AA_EQUALIZE, CZ_AA_INVERT, CZ_AA_ROTATE,
  CZ_AA_POSTERIZE, CZ_AA_POSTERIZE_INC, CZ_AA_POSTERIZE_ORIG,
  CZ_AA_SOLARIZE, CZ_AA_SOLARIZE_INC, CZ_AA_SOLARIZE_ADD,
  CZ_AA_COLOR, CZ_AA_COLOR_INC, CZ_AA_CONTRAST, CZ_AA_CONTRAST_INC,
  CZ_AA_BRIGHTNESS, CZ_AA_BRIGHTNESS_INC, CZ_AA_SHARPNESS, CZ_AA_SHARPNESS_INC,
  CZ_AA_SHEAR_X, CZ_AA_SHEAR_Y, CZ_AA_TRANSLATE_X, CZ_AA_TRANSLATE_Y,
  CZ_AA_TRANSLATE_X_REL, CZ_AA_TRANSLATE_Y_REL,
  CZ_AA_DESATURATE, CZ_AA_GAUSSIAN_BLUR,
  CZ_AA_GAUSSIAN_BLUR_RAND, /* sampled into GaussianBlur with a drawn radius */
  CZ_AA_NOPS
} cz_aa_opname;

typedef enum { CZ_AA_OFF, CZ_AA_AUTO, CZ_AA_RAND, CZ_AA_AUGMIX } cz_aa_kind;

enum {
  CZ_AA_MAX_OPS = 32,    /* ops in one policy / choice set */
  CZ_AA_MAX_SUB = 25,    /* AutoAugment sub-policies */
  CZ_AA_MAX_LAYERS = 16, /* RandAugment n (our bound) */
  CZ_AA_MAX_WIDTH = 16,  /* AugMix w (our bound) */
  CZ_AA_MAX_DEPTH = 16,  /* AugMix d (our bound) */
};

/* timm's AugmentOp: an op, its probability and its magnitude. */
typedef struct {
  cz_aa_opname op;
  double prob, magnitude;
} cz_aa_op;

/* The parsed aa string (timm's transform objects and hparams). */
typedef struct {
  cz_aa_kind kind;
  char name[16];            /* AutoAugment policy name, "rand" or "augmix" */
  /* AugmentOp hparams */
  double mstd;              /* magnitude std; 0 off, INFINITY: uniform [0, m] */
  int mmax;                 /* RandAugment mmax (0: timm's 10) */
  int translate_const;      /* int(0.45 * min(H, W)) */
  double translate_pct;     /* 0.45, AugMix 0.3 */
  uint8_t fill[3];          /* img_mean: min(255, round(255 * mean)) */
  int n_interp;             /* 2: random bilinear/bicubic per op */
  int interp[2];            /* cz_interp values */
  /* AutoAugment */
  int n_sub;
  int sub_len[CZ_AA_MAX_SUB];
  cz_aa_op sub[CZ_AA_MAX_SUB][2];
  /* RandAugment / AugMix choice set */
  int n_ops;
  cz_aa_op ops[CZ_AA_MAX_OPS];
  bool weighted;            /* RandAugment 'tweights': no replacement */
  double weight[CZ_AA_MAX_OPS];
  int num_layers;           /* RandAugment n */
  int width, depth;         /* AugMix w, d (d <= 0: 1..3 per chain) */
  double alpha;             /* AugMix a */
  bool blended;             /* AugMix b */
  bool color_jitter;        /* timm keeps ColorJitter ('3a' in the string) */
} cz_aa;

/* One op with its drawn argument (after level_to_arg). */
typedef struct {
  cz_aa_opname op;
  double arg;
  int interp;               /* geometric ops: cz_interp */
} cz_aa_step;

/* One image's draws. AUTO/RAND: steps[0..n_steps). AUGMIX: chain k is
 * steps[k * CZ_AA_MAX_DEPTH ..] of chain_len[k] steps. */
typedef struct {
  cz_aa_kind kind;
  int choice;                   /* AUTO: the sub-policy drawn */
  int n_steps;
  cz_aa_step steps[CZ_AA_MAX_WIDTH * CZ_AA_MAX_DEPTH];
  int width;
  int chain_len[CZ_AA_MAX_WIDTH];
  float mix_w[CZ_AA_MAX_WIDTH]; /* Dirichlet weights (float32 as timm) */
  float m;                      /* Beta(alpha, alpha) blend */
  bool blended;
} cz_aa_plan;

/* Parses an aa string as timm's create_transform does; hparams from the
 * input size (h, w; translate_const uses the width, as the reference's
 * img_size = input_shape[-1]), the mean (c values, 1 or 3) and the train
 * interpolation (NULL/"random": random bilinear/bicubic). Errors name
 * data_augmentation.aa, the string and the part not understood. A NULL,
 * empty or "none" string gives kind CZ_AA_OFF. */
cz_err *cz_aa_parse(const char *s, int h, int w, int c, const float *mean, const char *interp,
                    cz_aa *aa);

/* Draws the ops and arguments for one image. */
void cz_aa_sample(const cz_aa *aa, cz_rng *rng, cz_aa_plan *plan);

/* Applies a plan to img (c = 1 or 3) in place (its buffer may be
 * replaced). */
cz_err *cz_aa_apply(const cz_aa *aa, const cz_aa_plan *plan, cz_image *img);

/* One op with its argument on img in place, as timm's op function with
 * PIL (fill: the colour outside geometric ops, c values). */
cz_err *cz_aa_op_apply(cz_image *img, cz_aa_opname op, double arg, int interp,
                       const uint8_t *fill);

/* timm's level_to_arg for op at magnitude m (already clamped); negate:
 * the random sign draw (true: negative). */
double cz_aa_level_arg(const cz_aa *aa, cz_aa_opname op, double m, bool negate);

/* timm's op name for op (e.g. "TranslateXRel"). */
const char *cz_aa_op_name(cz_aa_opname op);

/* Image.filter(ImageFilter.GaussianBlur(radius)) in place (aa_blur.c). */
cz_err *cz_aa_gaussian_blur(cz_image *img, float radius);

/* In-place flips of an 8-bit image. */
void cz_aa_flip(cz_image *img, bool hflip, bool vflip);

#endif
