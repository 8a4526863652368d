/* The learning-rate rule of timm's train.py (as the spec's reference
 * behaviour 5.2 describes it): global batch = batch_size x world_size x
 * grad_accum_steps; ratio = global batch / lr_base_size; an empty
 * lr_base_scale means 'sqrt' when the optimizer name contains "ada" or
 * "lamb", else 'linear'; 'sqrt' takes ratio ** 0.5; lr = lr_base x ratio. */
#include "train/lr_rule.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "training.lr_scheduler."

/* Shortest %g form that reads back exactly, as Python prints floats. */
static void shortest(double v, char *buf, size_t n) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* case-insensitive substring test (timm lowercases the name first) */
static bool has_word(const char *s, const char *w) {
  size_t n = strlen(w);
  for (; *s; s++) {
    size_t i = 0;
    while (i < n && s[i] && tolower((unsigned char)s[i]) == w[i]) i++;
    if (i == n) return true;
  }
  return false;
}

cz_err *cz_lr_rule(const cz_lr_rule_in *in, double *lr, char *why, size_t why_len) {
  if (in->lr_set && in->lr != 0) {
    if (!(isfinite(in->lr) && in->lr > 0))
      return cz_err_new(CZ_EXIT_USAGE, KEY "lr: %.17g is out of range; expected a number > 0 "
                                       "or null", in->lr);
    *lr = in->lr;
    if (why) {
      char a[32];
      shortest(in->lr, a, sizeof a);
      snprintf(why, why_len, "Learning rate (%s) set by " KEY "lr.", a);
    }
    return NULL;
  }
  if (!(isfinite(in->lr_base) && in->lr_base > 0))
    return cz_err_new(CZ_EXIT_USAGE, KEY "lr_base: %.17g is out of range; expected a number > 0",
                      in->lr_base);
  if (in->lr_base_size < 1)
    return cz_err_new(CZ_EXIT_USAGE, KEY "lr_base_size: %lld is out of range; expected >= 1",
                      (long long)in->lr_base_size);
  if (in->batch_size < 1)
    return cz_err_new(CZ_EXIT_USAGE, "training.batch_size: %lld is out of range; expected >= 1",
                      (long long)in->batch_size);
  const char *scale = in->lr_base_scale ? in->lr_base_scale : "";
  if (!*scale) {
    const char *opt = in->opt ? in->opt : "";
    scale = has_word(opt, "ada") || has_word(opt, "lamb") ? "sqrt" : "linear";
  } else if (strcmp(scale, "linear") != 0 && strcmp(scale, "sqrt") != 0) {
    return cz_err_new(CZ_EXIT_USAGE, KEY "lr_base_scale: '%s' is not a scaling; expected "
                                     "'linear', 'sqrt' or '' (by optimizer)", scale);
  }
  int64_t ws = in->world_size > 0 ? in->world_size : 1;
  int64_t ga = in->grad_accum_steps > 0 ? in->grad_accum_steps : 1;
  int64_t global = in->batch_size * ws * ga;
  double ratio = (double)global / (double)in->lr_base_size;
  if (!strcmp(scale, "sqrt")) ratio = pow(ratio, 0.5); /* Python's ** 0.5 */
  *lr = in->lr_base * ratio;
  if (why) {
    char a[32], b[32];
    shortest(*lr, a, sizeof a);
    shortest(in->lr_base, b, sizeof b);
    snprintf(why, why_len,
             "Learning rate (%s) calculated from base learning rate (%s) and effective global "
             "batch size (%lld) with %s scaling.",
             a, b, (long long)global, scale);
  }
  return NULL;
}
