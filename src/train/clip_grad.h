/* Gradient clipping before the optimizer step, as timm's
 * dispatch_clip_grad (training.optimizer.clip_grad / clip_mode): "norm"
 * (torch.nn.utils.clip_grad_norm_, L2 over all gradients), "value"
 * (clip_grad_value_) or "agc" (timm's adaptive_clip_grad, unit-wise). */
#ifndef CZ_TRAIN_CLIP_GRAD_H
#define CZ_TRAIN_CLIP_GRAD_H
#include "train/optim.h"
#include "util/err.h"

/* Clips the gradients of params in place; an unknown mode or a negative
 * value is an error naming training.optimizer.clip_mode / clip_grad. */
cz_err *cz_clip_grad(cz_train_param *params, int n_params, double value,
                     const char *mode);
#endif
