/* Optimizers of the training service, with timm 1.0.31's names and
 * semantics (create_optimizer_v2 over torch 1.13's torch.optim classes and
 * timm's own RMSpropTF, Lamb, Lars, Lion and Lookahead): parameter groups
 * with timm's weight-decay rule, one update per cz_optim_step, and state
 * tensors listed by name so a checkpoint can save and restore them for an
 * exact resume. All arithmetic is float32 in the order PyTorch's
 * single-tensor implementations use; scalars are computed in double as
 * Python does. */
#ifndef CZ_TRAIN_OPTIM_H
#define CZ_TRAIN_OPTIM_H
#include <stdbool.h>
#include <stdint.h>

#include "tensor/tensor.h"
#include "util/err.h"

/* One trainable tensor: the optimizer updates data[] from grad[] in place.
 * name and shape decide its group (timm's param_groups_weight_decay: no
 * weight decay for rank <= 1 or names ending in ".bias"). */
typedef struct {
  const char *name;
  float *data;
  float *grad;
  int64_t numel;
  cz_shape shape;
} cz_train_param;

/* training.optimizer as timm's optimizer_kwargs reads it. */
typedef struct {
  const char *opt;      /* e.g. "sgd", "adamw", "lookahead_adam" */
  double lr;
  double weight_decay;
  double momentum;      /* used by sgd/momentum/nesterov, rmsprop(tf), lars */
  bool has_eps;         /* opt-eps given (else each optimizer's default) */
  double eps;
  bool has_betas;       /* opt-betas given (else each optimizer's default) */
  double betas[2];
  /* layer_decay given: timm's param_groups_layer_decay instead of
   * param_groups_weight_decay: no weight decay for rank <= 1 only, and
   * parameter i's lr is the group lr times lr_scale[i]; its param group is
   * (lr_layer[i], rank <= 1) (both from cz_layer_decay_map). */
  bool has_layer_decay;
  double layer_decay;
  const double *lr_scale;
  const int *lr_layer;
} cz_optim_config;

typedef struct cz_optim cz_optim;

/* The accepted names of training.optimizer.opt, space-separated
 * (without the "lookahead_" prefix, which any of them accepts). */
const char *cz_optim_names(void);

/* Builds an optimizer over params (the array and the buffers it points to
 * must outlive it; names are copied). Errors name training.optimizer.opt
 * (unknown name, with the accepted list) or the offending option. */
cz_err *cz_optim_new(const cz_optim_config *cfg, const cz_train_param *params,
                     int n_params, cz_optim **out);
void cz_optim_free(cz_optim *o);

/* The learning rate of every group (a scheduler's output; timm's
 * update_groups: a group with an lr_scale gets lr * lr_scale). */
void cz_optim_set_lr(cz_optim *o, double lr);
/* What timm's train.py logs and writes to summary.csv: the mean of the
 * param groups' lrs (the lr itself without layer decay). */
double cz_optim_lr(const cz_optim *o);
/* The lr parameter i is updated with. */
double cz_optim_param_lr(const cz_optim *o, int i);
/* Number of param groups timm would make (layer decay: one per layer and
 * weight-decay kind present; otherwise 1). */
int cz_optim_group_count(const cz_optim *o);
/* The weight decay actually applied to parameter i (0 for excluded ones). */
double cz_optim_param_weight_decay(const cz_optim *o, int i);

/* One optimizer update from the current gradients. */
void cz_optim_step(cz_optim *o);

/* State for checkpoints: tensor i of cz_optim_state_count is named (e.g.
 * "step", "fc.weight.exp_avg") and its float32 data can be read (save) or
 * overwritten (restore) in place; restoring every tensor into a fresh
 * optimizer built with the same config and params resumes exactly. */
int cz_optim_state_count(const cz_optim *o);
const char *cz_optim_state_name(const cz_optim *o, int i);
float *cz_optim_state_data(cz_optim *o, int i);
int64_t cz_optim_state_numel(const cz_optim *o, int i);
#endif
