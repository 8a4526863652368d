/* Layer-wise learning-rate decay (training.optimizer.layer_decay) with
 * timm 1.0.31's meaning (optim/_param_groups.py, param_groups_layer_decay):
 * parameters are numbered into layers by the model's group_matcher (timm's
 * models) or, for a model without one (a plain nn.Module as torchvision,
 * pytorchcv and ST models are), all put in one layer; layer i of L gets
 * the lr scale max(0, layer_decay ** (L - 1 - i)). */
#ifndef CZ_TRAIN_LAYER_DECAY_H
#define CZ_TRAIN_LAYER_DECAY_H
#include "train/optim.h"
#include "util/err.h"
#include "zoo/zoo.h"

/* Fills layer[i] and scale[i] for the n params (names as the reference's
 * named_parameters) and *n_layers. rules: the zoo entry's group_matcher
 * (NULL: one layer). */
cz_err *cz_layer_decay_map(const cz_zoo_group_rule *rules, const cz_train_param *params, int n,
                           double layer_decay, int *layer, double *scale, int *n_layers);
#endif
