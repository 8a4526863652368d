/* Internals shared by the optimizer front end (optim.c) and the update
 * rules (optim_rules.c). */
#ifndef CZ_TRAIN_OPTIM_IMPL_H
#define CZ_TRAIN_OPTIM_IMPL_H
#include "train/optim.h"

enum {
  CZ_OPT_SGD, CZ_OPT_ADAM, CZ_OPT_ADAMW, CZ_OPT_NADAM, CZ_OPT_RADAM,
  CZ_OPT_ADAMAX, CZ_OPT_RMSPROP, CZ_OPT_RMSPROPTF, CZ_OPT_ADAGRAD,
  CZ_OPT_ADADELTA, CZ_OPT_LAMB, CZ_OPT_LARS, CZ_OPT_LION
};

#define CZ_OPT_MAX_SLOTS 3 /* per-parameter state tensors (incl. lookahead) */

struct cz_optim {
  int kind;
  bool nesterov, lookahead;
  double lr, momentum, eps, beta1, beta2, alpha; /* alpha: rmsprop/rho */
  double la_alpha; int la_k;                      /* lookahead */
  double trust_coeff, max_grad_norm;              /* lars, lamb */
  int n;
  cz_train_param *p;  /* names copied */
  double *wd;         /* per parameter (its group's weight decay) */
  double *scale;      /* per parameter lr scale (layer decay; else 1) */
  int *group;         /* per parameter param group (layer decay; else 0) */
  int n_groups;
  double *group_scale;/* lr scale of each group */
  int n_slots;
  const char *slot_names[CZ_OPT_MAX_SLOTS];
  float *slot[CZ_OPT_MAX_SLOTS]; /* slot s of param i at slot[s] + off[i] */
  int64_t *off, total;
  float *scratch;   /* one parameter's worth (lamb's update) */
  float step;       /* steps taken (torch keeps it as a float32 tensor) */
  float mu_product; /* nadam */
  /* state listing */
  int n_state;
  char **state_name;
  float **state_data;
  int64_t *state_numel;
};

/* The lr of parameter i: its group's lr, as timm's update_groups sets it. */
static inline double cz_optim_plr(const cz_optim *o, int i) { return o->lr * o->scale[i]; }

/* The update of one optimizer kind after o->step was incremented. */
void cz_optim_apply_rule(cz_optim *o);
#endif
