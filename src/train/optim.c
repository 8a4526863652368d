/* Optimizer front end: timm 1.0.31's create_optimizer_v2 name table and
 * defaults (OptimInfo: has_eps / has_betas / has_momentum, per-optimizer
 * defaults), param_groups_weight_decay, the lookahead_ prefix (timm's
 * Lookahead, alpha 0.5, k 6), the step and the state listing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim_impl.h"

typedef struct {
  const char *name;
  int kind;
  bool nesterov;
  bool has_eps, has_betas, has_momentum;
  double eps, beta1, beta2, alpha; /* the reference's defaults */
  int n_slots;
  const char *slots[2];
  float slot_init; /* initial value of slot 0 */
} opt_info;

/* eps/betas/alpha defaults: the torch.optim or timm class defaults, with
 * timm's OptimInfo overrides (rmsprop alpha 0.9, adagrad eps 1e-8). */
static const opt_info k_opts[] = {
  {"sgd", CZ_OPT_SGD, true, false, false, true, 0, 0, 0, 0, 1, {"momentum_buffer"}, 0},
  {"nesterov", CZ_OPT_SGD, true, false, false, true, 0, 0, 0, 0, 1, {"momentum_buffer"}, 0},
  {"momentum", CZ_OPT_SGD, false, false, false, true, 0, 0, 0, 0, 1, {"momentum_buffer"}, 0},
  {"adam", CZ_OPT_ADAM, false, true, true, false, 1e-8, 0.9, 0.999, 0, 2, {"exp_avg", "exp_avg_sq"}, 0},
  {"adamw", CZ_OPT_ADAMW, false, true, true, false, 1e-8, 0.9, 0.999, 0, 2, {"exp_avg", "exp_avg_sq"}, 0},
  {"nadam", CZ_OPT_NADAM, false, true, true, false, 1e-8, 0.9, 0.999, 0, 2, {"exp_avg", "exp_avg_sq"}, 0},
  {"radam", CZ_OPT_RADAM, false, true, true, false, 1e-8, 0.9, 0.999, 0, 2, {"exp_avg", "exp_avg_sq"}, 0},
  {"adamax", CZ_OPT_ADAMAX, false, true, true, false, 1e-8, 0.9, 0.999, 0, 2, {"exp_avg", "exp_inf"}, 0},
  {"rmsprop", CZ_OPT_RMSPROP, false, true, false, true, 1e-8, 0, 0, 0.9, 2, {"square_avg", "momentum_buffer"}, 0},
  {"rmsproptf", CZ_OPT_RMSPROPTF, false, true, false, true, 1e-10, 0, 0, 0.9, 2, {"square_avg", "momentum_buffer"}, 1},
  {"adagrad", CZ_OPT_ADAGRAD, false, true, false, false, 1e-8, 0, 0, 0, 1, {"sum"}, 0},
  {"adadelta", CZ_OPT_ADADELTA, false, true, false, false, 1e-6, 0, 0, 0.9, 2, {"square_avg", "acc_delta"}, 0},
  {"lamb", CZ_OPT_LAMB, false, true, true, false, 1e-6, 0.9, 0.999, 0, 2, {"exp_avg", "exp_avg_sq"}, 0},
  {"lars", CZ_OPT_LARS, false, true, false, true, 1e-8, 0, 0, 0, 1, {"momentum_buffer"}, 0},
  {"lion", CZ_OPT_LION, false, false, true, false, 0, 0.9, 0.99, 0, 1, {"exp_avg"}, 0},
};
#define N_OPTS ((int)(sizeof k_opts / sizeof k_opts[0]))

const char *cz_optim_names(void) {
  return "sgd nesterov momentum adam adamw nadam radam adamax rmsprop "
         "rmsproptf adagrad adadelta lamb lars lion";
}

static char *dup_str(const char *s) {
  const size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static bool ends_with(const char *s, const char *suffix) {
  const size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static cz_err *oom(void) {
  return cz_err_new(CZ_EXIT_RUNTIME, "optimizer: out of memory");
}

static cz_err *build_state_list(cz_optim *o) {
  const int n = 2 + o->n * o->n_slots;
  o->state_name = calloc((size_t)n, sizeof *o->state_name);
  o->state_data = calloc((size_t)n, sizeof *o->state_data);
  o->state_numel = calloc((size_t)n, sizeof *o->state_numel);
  if (!o->state_name || !o->state_data || !o->state_numel) return oom();
  int k = 0;
  o->state_name[k] = dup_str("step");
  o->state_data[k] = &o->step;
  o->state_numel[k++] = 1;
  if (o->kind == CZ_OPT_NADAM) {
    o->state_name[k] = dup_str("mu_product");
    o->state_data[k] = &o->mu_product;
    o->state_numel[k++] = 1;
  }
  for (int i = 0; i < o->n; i++)
    for (int s = 0; s < o->n_slots; s++) {
      const size_t len = strlen(o->p[i].name) + strlen(o->slot_names[s]) + 2;
      char *nm = malloc(len);
      if (!nm) return oom();
      snprintf(nm, len, "%s.%s", o->p[i].name, o->slot_names[s]);
      o->state_name[k] = nm;
      o->state_data[k] = o->slot[s] + o->off[i];
      o->state_numel[k++] = o->p[i].numel;
    }
  o->n_state = k;
  for (int i = 0; i < k; i++)
    if (!o->state_name[i]) return oom();
  return NULL;
}

cz_err *cz_optim_new(const cz_optim_config *cfg, const cz_train_param *params,
                     int n_params, cz_optim **out) {
  *out = NULL;
  const char *name = cfg->opt ? cfg->opt : "";
  /* timm: lower-cased, split on '_': the last part names the optimizer,
   * a first part "lookahead" wraps it */
  char low[64];
  size_t len = strlen(name);
  if (len >= sizeof low) len = sizeof low - 1;
  for (size_t i = 0; i < len; i++)
    low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
  low[len] = '\0';
  const char *last = strrchr(low, '_');
  const char *base = last ? last + 1 : low;
  const bool lookahead = last && strncmp(low, "lookahead_", 10) == 0;
  const opt_info *info = NULL;
  for (int i = 0; i < N_OPTS; i++)
    if (strcmp(k_opts[i].name, base) == 0) info = &k_opts[i];
  if (!info || (last && !lookahead) || (last && last != low + 9))
    return cz_err_new(CZ_EXIT_USAGE,
                      "training.optimizer.opt: unknown optimizer '%s'; expected "
                      "one of: %s (optionally prefixed with lookahead_)",
                      name, cz_optim_names());
  if (cfg->has_layer_decay && (!cfg->lr_scale || !cfg->lr_layer))
    return cz_err_new(CZ_EXIT_RUNTIME, "optimizer: layer_decay without per-parameter scales");
  if (!(cfg->lr >= 0))
    return cz_err_new(CZ_EXIT_USAGE, "training.optimizer: learning rate %g; expected >= 0", cfg->lr);
  if (!(cfg->weight_decay >= 0))
    return cz_err_new(CZ_EXIT_USAGE, "training.optimizer.weight_decay: %g; expected >= 0",
                      cfg->weight_decay);
  if (info->has_momentum && !(cfg->momentum >= 0))
    return cz_err_new(CZ_EXIT_USAGE, "training.optimizer.momentum: %g; expected >= 0",
                      cfg->momentum);
  if (info->kind == CZ_OPT_SGD && info->nesterov && cfg->momentum <= 0)
    return cz_err_new(CZ_EXIT_USAGE,
                      "training.optimizer.momentum: %g with opt '%s' (Nesterov "
                      "momentum); expected > 0", cfg->momentum, name);
  if (info->has_eps && cfg->has_eps && !(cfg->eps >= 0))
    return cz_err_new(CZ_EXIT_USAGE, "training.optimizer.opt-eps: %g; expected >= 0", cfg->eps);
  if (info->has_betas && cfg->has_betas &&
      !(cfg->betas[0] >= 0 && cfg->betas[0] < 1 && cfg->betas[1] >= 0 && cfg->betas[1] < 1))
    return cz_err_new(CZ_EXIT_USAGE,
                      "training.optimizer.opt-betas: [%g, %g]; expected two values in [0, 1)",
                      cfg->betas[0], cfg->betas[1]);

  cz_optim *o = calloc(1, sizeof *o);
  if (!o) return oom();
  o->kind = info->kind;
  o->nesterov = info->nesterov;
  o->lookahead = lookahead;
  o->la_alpha = 0.5;
  o->la_k = 6;
  o->lr = cfg->lr;
  o->momentum = info->has_momentum ? cfg->momentum : 0;
  o->eps = info->has_eps && cfg->has_eps ? cfg->eps : info->eps;
  o->beta1 = info->has_betas && cfg->has_betas ? cfg->betas[0] : info->beta1;
  o->beta2 = info->has_betas && cfg->has_betas ? cfg->betas[1] : info->beta2;
  o->alpha = info->alpha;
  o->trust_coeff = 0.001;
  o->max_grad_norm = 1.0;
  o->mu_product = 1.0f;
  o->n = n_params;
  o->n_slots = info->n_slots;
  for (int s = 0; s < info->n_slots; s++) o->slot_names[s] = info->slots[s];
  if (lookahead) o->slot_names[o->n_slots++] = "lookahead_slow_buff";
  o->p = calloc((size_t)(n_params ? n_params : 1), sizeof *o->p);
  o->wd = calloc((size_t)(n_params ? n_params : 1), sizeof *o->wd);
  o->off = calloc((size_t)(n_params ? n_params : 1), sizeof *o->off);
  o->scale = calloc((size_t)(n_params ? n_params : 1), sizeof *o->scale);
  o->group = calloc((size_t)(n_params ? n_params : 1), sizeof *o->group);
  o->group_scale = calloc((size_t)(2 * n_params + 1), sizeof *o->group_scale);
  if (!o->p || !o->wd || !o->off || !o->scale || !o->group || !o->group_scale) goto fail;
  /* param groups: timm's "layer_<id>_<decay|no_decay>" in order of first
   * appearance (layer decay), else one lr for all */
  int *group_key = calloc((size_t)(2 * n_params + 1), sizeof *group_key);
  if (!group_key) goto fail;
  o->n_groups = cfg->has_layer_decay ? 0 : 1;
  o->group_scale[0] = 1.0;
  int64_t biggest = 1;
  for (int i = 0; i < n_params; i++) {
    o->p[i] = params[i];
    o->p[i].name = dup_str(params[i].name ? params[i].name : "");
    if (!o->p[i].name) goto fail;
    /* timm param_groups_weight_decay with weight_decay_exclude_1d; its
     * param_groups_layer_decay excludes rank <= 1 only */
    const bool exclude = params[i].shape.rank <= 1 ||
                         (!cfg->has_layer_decay && ends_with(o->p[i].name, ".bias"));
    o->wd[i] = exclude ? 0 : cfg->weight_decay;
    o->scale[i] = cfg->has_layer_decay ? cfg->lr_scale[i] : 1.0;
    if (cfg->has_layer_decay) {
      const int k = 2 * cfg->lr_layer[i] + (exclude ? 1 : 0);
      int g = 0;
      while (g < o->n_groups && group_key[g] != k) g++;
      if (g == o->n_groups) group_key[o->n_groups] = k, o->group_scale[o->n_groups++] = o->scale[i];
      o->group[i] = g;
    }
    o->off[i] = o->total;
    o->total += params[i].numel;
    if (params[i].numel > biggest) biggest = params[i].numel;
  }
  free(group_key);
  for (int s = 0; s < o->n_slots; s++) {
    o->slot[s] = calloc((size_t)(o->total ? o->total : 1), sizeof(float));
    if (!o->slot[s]) goto fail;
  }
  if (info->slot_init != 0)
    for (int64_t k = 0; k < o->total; k++) o->slot[0][k] = info->slot_init;
  o->scratch = malloc((size_t)biggest * sizeof(float));
  if (!o->scratch) goto fail;
  cz_err *e = build_state_list(o);
  if (e) {
    cz_optim_free(o);
    return e;
  }
  *out = o;
  return NULL;
fail:
  cz_optim_free(o);
  return oom();
}

void cz_optim_free(cz_optim *o) {
  if (!o) return;
  if (o->p)
    for (int i = 0; i < o->n; i++) free((char *)o->p[i].name);
  if (o->state_name)
    for (int i = 0; i < 2 + o->n * o->n_slots; i++) free(o->state_name[i]);
  free(o->state_name);
  free(o->state_data);
  free(o->state_numel);
  for (int s = 0; s < CZ_OPT_MAX_SLOTS; s++) free(o->slot[s]);
  free(o->scratch);
  free(o->p);
  free(o->wd);
  free(o->scale);
  free(o->group);
  free(o->group_scale);
  free(o->off);
  free(o);
}

void cz_optim_set_lr(cz_optim *o, double lr) { o->lr = lr; }
double cz_optim_lr(const cz_optim *o) {
  if (o->n_groups <= 1) return o->lr * o->group_scale[0];
  double s = 0; /* Python's sum over the groups, in their order */
  for (int g = 0; g < o->n_groups; g++) s += o->lr * o->group_scale[g];
  return s / o->n_groups;
}
double cz_optim_param_lr(const cz_optim *o, int i) { return cz_optim_plr(o, i); }
int cz_optim_group_count(const cz_optim *o) { return o->n_groups; }
double cz_optim_param_weight_decay(const cz_optim *o, int i) { return o->wd[i]; }

/* timm Lookahead.update_slow: the slow copy starts as the fast weights at
 * the first sync, moves alpha of the way to them, and replaces them. */
static void lookahead_sync(cz_optim *o) {
  float *slow_all = o->slot[o->n_slots - 1];
  const bool first = o->step == (float)o->la_k;
  const float a = (float)o->la_alpha;
  for (int i = 0; i < o->n; i++) {
    float *slow = slow_all + o->off[i], *fast = o->p[i].data;
    for (int64_t k = 0; k < o->p[i].numel; k++) {
      if (first) slow[k] = fast[k];
      slow[k] = slow[k] + a * (fast[k] - slow[k]);
      fast[k] = slow[k];
    }
  }
}

void cz_optim_step(cz_optim *o) {
  o->step = o->step + 1.0f;
  cz_optim_apply_rule(o);
  if (o->lookahead && fmodf(o->step, (float)o->la_k) == 0.0f) lookahead_sync(o);
}

int cz_optim_state_count(const cz_optim *o) { return o->n_state; }
const char *cz_optim_state_name(const cz_optim *o, int i) { return o->state_name[i]; }
float *cz_optim_state_data(cz_optim *o, int i) { return o->state_data[i]; }
int64_t cz_optim_state_numel(const cz_optim *o, int i) { return o->state_numel[i]; }
