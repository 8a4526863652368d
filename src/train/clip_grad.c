/* Gradient clipping as timm 1.0.31's dispatch_clip_grad: "norm" follows
 * torch 1.13 clip_grad_norm_ (coefficient max/(total+1e-6), clamped to 1),
 * "value" clip_grad_value_, "agc" timm's adaptive_clip_grad (eps 1e-3;
 * unit-wise norms over all but the first axis, whole-tensor for rank <= 1). */
#include <math.h>
#include <string.h>

#include "train/clip_grad.h"

static float l2f(const float *x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return (float)sqrt(s);
}

static void clip_norm(cz_train_param *p, int n, float max_norm) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    const float ni = l2f(p[i].grad, p[i].numel);
    s += (double)ni * ni;
  }
  const float total = (float)sqrt(s);
  float coef = max_norm / (total + 1e-6f);
  if (coef > 1.0f) coef = 1.0f;
  for (int i = 0; i < n; i++)
    for (int64_t k = 0; k < p[i].numel; k++) p[i].grad[k] *= coef;
}

static void clip_value(cz_train_param *p, int n, float v) {
  for (int i = 0; i < n; i++)
    for (int64_t k = 0; k < p[i].numel; k++) {
      float *g = &p[i].grad[k];
      if (*g > v) *g = v;
      else if (*g < -v) *g = -v;
    }
}

static void clip_agc(cz_train_param *p, int n, float factor) {
  for (int i = 0; i < n; i++) {
    const int64_t rows = p[i].shape.rank <= 1 || p[i].numel == 0 ? 1 : p[i].shape.d[0];
    const int64_t len = rows ? p[i].numel / rows : 0;
    for (int64_t r = 0; r < rows; r++) {
      float *g = p[i].grad + r * len;
      float pn = l2f(p[i].data + r * len, len);
      const float max_norm = (pn < 1e-3f ? 1e-3f : pn) * factor;
      const float gn = l2f(g, len);
      if (gn < max_norm) continue;
      const float scale = max_norm / (gn < 1e-6f ? 1e-6f : gn);
      for (int64_t k = 0; k < len; k++) g[k] = g[k] * scale;
    }
  }
}

cz_err *cz_clip_grad(cz_train_param *params, int n_params, double value,
                     const char *mode) {
  if (!(value >= 0))
    return cz_err_new(CZ_EXIT_USAGE, "training.optimizer.clip_grad: %g; expected >= 0 or null",
                      value);
  const char *m = mode ? mode : "norm";
  if (strcmp(m, "norm") == 0) clip_norm(params, n_params, (float)value);
  else if (strcmp(m, "value") == 0) clip_value(params, n_params, (float)value);
  else if (strcmp(m, "agc") == 0) clip_agc(params, n_params, (float)value);
  else
    return cz_err_new(CZ_EXIT_USAGE,
                      "training.optimizer.clip_mode: unknown mode '%s'; expected "
                      "one of: norm, value, agc", m);
  return NULL;
}
