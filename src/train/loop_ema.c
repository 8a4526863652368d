/* training.model_ema in the loop: an EMA copy of every parameter and buffer
 * of the train graph (timm's ModelEmaV3 updates the float entries of the
 * state_dict, BatchNorm running statistics included; the graph holds no
 * integer buffer: num_batches_tracked is written as 0 by the state_dict
 * code). Created after the configured weights are applied (where train.py
 * creates it) and updated after each optimizer step with timm's update
 * count, epoch * updates_per_epoch + updates done in the epoch. */
#include <stdlib.h>
#include <string.h>

#include "train/ema.h"
#include "train/loop_priv.h"
#include "util/log.h"
#include "util/mem.h"

static bool is_weight(const cz_value *v) { return v->kind == CZ_V_PARAM || v->kind == CZ_V_BUFFER; }

void cz_loop_ema_init(cz_trainer *t) {
  const cz_cfg_training *tr = &t->cfg->training;
  if (!tr->model_ema.set || !tr->model_ema.v) return;
  t->ema_decay = tr->model_ema_decay.v;
  t->ema = cz_xcalloc((size_t)t->g->n_values, sizeof *t->ema);
  for (int v = 0; v < t->g->n_values; v++) {
    const cz_value *x = &t->g->values[v];
    if (!is_weight(x)) continue;
    size_t bytes = (size_t)cz_shape_numel(&x->shape) * sizeof(float);
    t->ema[v] = cz_xmalloc(bytes ? bytes : 1);
    memcpy(t->ema[v], x->data, bytes);
  }
  cz_info("Using EMA of the weights, decay %g (timm's ModelEmaV3)", t->ema_decay);
}

void cz_loop_ema_update(cz_trainer *t) {
  if (!t->ema) return;
  int64_t step = t->epoch * t->updates_per_epoch + t->step_in_epoch;
  double d = cz_ema_decay(t->ema_decay, step);
  for (int v = 0; v < t->g->n_values; v++)
    if (t->ema[v])
      cz_ema_update(t->ema[v], t->g->values[v].data, cz_shape_numel(&t->g->values[v].shape), d);
}

void cz_loop_ema_swap(cz_trainer *t) {
  for (int v = 0; t->ema && v < t->g->n_values; v++)
    if (t->ema[v]) {
      void *d = t->g->values[v].data;
      t->g->values[v].data = t->ema[v];
      t->ema[v] = d;
    }
}

void cz_loop_ema_free(cz_trainer *t) {
  if (!t->ema) return;
  for (int v = 0; v < t->g->n_values; v++) free(t->ema[v]);
  free(t->ema);
  t->ema = NULL;
}
