/* Training setup: dataset and pipelines, the zoo model (train graph with
 * the loss attached, and an eval-mode twin for validation and export),
 * configured weights, the EMA copy (training.model_ema), optimizer,
 * learning rate and schedule, following
 * timm's train.py order (spec reference_behaviour 5.1-5.3). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <math.h>

#include "train/layer_decay.h"
#include "train/loop_priv.h"
#include "train/optim_cfg.h"
#include "train/sched_cfg.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/threads.h"
#include "zoo/zoo_pretrained.h"

static cz_err *build_model(cz_trainer *t, int batch, cz_graph **out) {
  const cz_config *c = t->cfg;
  const cz_pipe_opts *po = cz_pipe_options(t->ptrain);
  cz_zoo_opts o = cz_zoo_default_opts(t->entry);
  o.num_classes = (int)t->num_classes;
  o.channels = (int)po->loader.c, o.height = (int)po->loader.h, o.width = (int)po->loader.w;
  const cz_cfg_augmentation *a = &c->data_augmentation;
  o.drop_rate = a->drop.set && a->drop.v > 0 ? (float)a->drop.v : -1.0f;
  o.drop_path_rate = a->drop_path.set ? (float)a->drop_path.v : 0.0f;
  if (c->training.bn_momentum.set) o.bn_momentum = (float)c->training.bn_momentum.v;
  if (c->training.bn_eps.set) o.bn_eps = (float)c->training.bn_eps.v;
  o.batch = batch;
  o.seed = (uint64_t)c->general.seed.v;
  return cz_zoo_build(t->entry->name, &o, out);
}

/* The loss timm's train.py picks, in its order: JsdCrossEntropy when
 * jsd_loss (num_splits = aug_splits, alpha 12, smoothing; on mixup's soft
 * targets when mixup/cutmix is on, which timm can do only with smoothing
 * 0); else with mixup/cutmix BinaryCrossEntropy (bce_loss) or
 * SoftTargetCrossEntropy; else with smoothing > 0 BinaryCrossEntropy
 * (bce_loss) or label-smoothing cross-entropy; else plain cross-entropy
 * (bce_loss then has no effect, as in timm). */
static cz_err *attach_loss(cz_trainer *t) {
  const cz_cfg_augmentation *a = &t->cfg->data_augmentation;
  const cz_pipe_opts *po = cz_pipe_options(t->ptrain);
  bool jsd = a->jsd_loss.set && a->jsd_loss.v, bce = a->bce_loss.set && a->bce_loss.v;
  double smooth = a->smoothing.set ? a->smoothing.v : 0.0;
  if (jsd && po->mix && smooth > 0)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.jsd_loss: True with mixup/cutmix needs "
                      "data_augmentation.smoothing 0 (it is %g): timm's JsdCrossEntropy "
                      "smooths integer labels only and fails on mixup's soft targets", smooth);
  if (jsd && bce) cz_warn("data_augmentation.bce_loss: ignored, jsd_loss takes precedence (as in timm)");
  cz_graph *g = t->g;
  int64_t n = t->train_rows;
  t->soft_targets = po->mix;
  t->target_in = t->soft_targets ? cz_graph_input(g, "targets", CZ_F32, cz_shape2(n, t->num_classes))
                                 : cz_graph_input(g, "labels", CZ_I64, cz_shape1(n));
  int in[2] = {g->outputs[0], t->target_in};
  const char *op = jsd                     ? "JsdCrossEntropy"
                   : bce && (po->mix || smooth > 0) ? "BCEWithLogits"
                   : po->mix                ? "SoftTargetCrossEntropy"
                                            : "SoftmaxCrossEntropyLoss";
  int node = cz_graph_node(g, op, "train_loss", 2, in, 1, NULL);
  bool smoothed = !po->mix && smooth > 0;
  if (jsd) {
    cz_node_set_int(g, node, "num_splits", po->aug_splits);
    cz_node_set_float(g, node, "alpha", 12.0f);
    if (smoothed) cz_node_set_float(g, node, "smoothing", (float)smooth);
  } else if (smoothed) {
    if (bce) cz_node_set_float(g, node, "smoothing", (float)smooth);
    else cz_node_set_float(g, node, "label_smoothing", (float)smooth);
  }
  if (!jsd && bce && a->bce_target_thresh.set)
    cz_node_set_float(g, node, "target_threshold", (float)a->bce_target_thresh.v);
  t->loss_v = cz_node_out(g, node, 0);
  g->outputs[0] = t->loss_v;
  if (jsd) cz_info("loss: JsdCrossEntropy (%d splits, alpha 12%s)", po->aug_splits,
                   smoothed ? ", label smoothing" : "");
  else cz_info("loss: %s%s", op, smoothed ? " with label smoothing" : "");
  return cz_graph_infer(g);
}

/* timm's plateau scheduler lowers each param group's lr on its own and
 * clamps each at min_lr, so with layer decay the groups' ratios change
 * once the lowest reaches min_lr; czoo keeps one lr times each scale. */
static cz_err *layer_decay_check(const cz_trainer *t) {
  const cz_cfg_scheduler *ls = &t->cfg->training.lr_scheduler;
  if (ls->sched.set && strcasecmp(ls->sched.v, "plateau") == 0 && ls->min_lr.set && ls->min_lr.v > 0)
    return cz_err_new(CZ_EXIT_NOTIMPL, "training.optimizer.layer_decay with sched plateau and "
                      "min_lr %g is not supported (timm clamps each layer's lr at min_lr "
                      "separately): expected min_lr 0 or another sched", ls->min_lr.v);
  return NULL;
}

static cz_err *make_optimizer(cz_trainer *t) {
  const cz_cfg_training *tr = &t->cfg->training;
  double lr;
  char why[256] = "";
  cz_err *e = cz_lr_from_cfg(tr, 1, &lr, why, sizeof why);
  if (e) return e;
  if (why[0]) cz_info("%s", why);
  t->params = cz_xcalloc((size_t)t->g->n_values, sizeof *t->params);
  for (int v = 0; v < t->g->n_values; v++) {
    cz_value *x = &t->g->values[v];
    if (x->kind != CZ_V_PARAM || !x->requires_grad) continue;
    cz_tensor gr = cz_exec_grad(t->ex, v);
    if (!gr.data) continue;
    t->params[t->n_params++] = (cz_train_param){x->name, x->data, gr.data, cz_shape_numel(&x->shape),
                                                x->shape};
  }
  cz_optim_config oc;
  if ((e = cz_optim_config_from_cfg(&tr->optimizer, lr, &oc))) return e;
  if (oc.has_layer_decay) {
    if ((e = layer_decay_check(t))) return e;
    double *scale = cz_xcalloc((size_t)t->n_params + 1, sizeof *scale);
    int *layer = cz_xcalloc((size_t)t->n_params + 1, sizeof *layer), n_layers = 0;
    e = cz_layer_decay_map(t->entry->groups, t->params, t->n_params, oc.layer_decay, layer, scale,
                           &n_layers);
    oc.lr_scale = scale, oc.lr_layer = layer;
    if (!e) e = cz_optim_new(&oc, t->params, t->n_params, &t->opt);
    if (!e && n_layers == 1)
      cz_warn("training.optimizer.layer_decay: no effect on %s: like timm for a model without "
              "a group_matcher, every parameter is in one layer", t->entry->name);
    else if (!e)
      cz_info("layer_decay %g: %d layers (timm's group_matcher of %s), lr scale %.4g for the "
              "first, 1 for the last; %d param groups", oc.layer_decay, n_layers,
              t->entry->reference, pow(oc.layer_decay, n_layers - 1), cz_optim_group_count(t->opt));
    free(scale);
    free(layer);
    if (e) return e;
  } else if ((e = cz_optim_new(&oc, t->params, t->n_params, &t->opt))) {
    return e;
  }
  t->clip_grad = tr->optimizer.clip_grad.set ? tr->optimizer.clip_grad.v : 0.0;
  t->clip_mode = tr->optimizer.clip_mode.set ? tr->optimizer.clip_mode.v : "norm";
  t->updates_per_epoch = cz_pipe_num_batches(t->ptrain);
  if (t->updates_per_epoch < 1)
    return cz_err_new(CZ_EXIT_USAGE, "training.batch_size: %lld is more than the %zu training "
                      "samples (the last short batch is dropped): expected at most %zu",
                      (long long)cz_pipe_options(t->ptrain)->loader.batch_size, t->ds.train.n,
                      t->ds.train.n);
  cz_sched_params sp;
  t->metric = (cz_metric)t->cfg->general.eval_metric.v;
  if ((e = cz_sched_params_from_cfg(tr, t->metric, t->cfg->general.seed.v, t->updates_per_epoch,
                                    lr, &sp)))
    return e;
  if ((e = cz_sched_init(&t->sched, &sp))) return e;
  t->num_epochs = cz_sched_num_epochs(&t->sched);
  int64_t start = cz_sched_start_epoch(tr);
  if (start > 0) { /* timm: lr_scheduler.step(start_epoch) */
    if (sp.on_updates) cz_sched_step_update(&t->sched, start * t->updates_per_epoch, NULL);
    else cz_sched_step(&t->sched, start, NULL);
  }
  t->epoch = start;
  /* timm counts updates from the start epoch (num_updates = epoch x
   * updates per epoch), so the per-update schedule, the EMA's step and the
   * dropout streams continue from there rather than from update 0 */
  t->global_step = start * t->updates_per_epoch;
  cz_optim_set_lr(t->opt, cz_sched_lr(&t->sched));
  cz_info("optimizer %s, lr %.6g, %lld updates per epoch; scheduled epochs: %lld", oc.opt, lr,
          (long long)t->updates_per_epoch, (long long)t->num_epochs);
  return NULL;
}

cz_err *cz_loop_setup(cz_trainer *t) {
  const cz_config *c = t->cfg;
  if (!c->model.model_name.set)
    return cz_err_new(CZ_EXIT_USAGE, "model.model_name: not set: expected a zoo model name "
                      "(czoo models lists them)");
  t->entry = cz_zoo_find(c->model.model_name.v);
  if (!t->entry) {
    cz_graph *dummy = NULL; /* cz_zoo_build's error lists the closest names */
    cz_zoo_opts o = {0};
    return cz_zoo_build(c->model.model_name.v, &o, &dummy);
  }
  cz_err *e = cz_ds_load(&c->dataset, &t->ds);
  if (e) return e;
  if (t->ds.train.n == 0 || t->ds.val.n == 0)
    return cz_err_new(CZ_EXIT_USAGE, "dataset: %zu training and %zu validation samples: "
                      "expected both", t->ds.train.n, t->ds.val.n);
  t->num_classes = (int64_t)t->ds.num_classes;
  if ((e = cz_pipe_open(c, &t->ds, CZ_PIPE_TRAIN, &t->ptrain))) return e;
  if ((e = cz_pipe_open(c, &t->ds, CZ_PIPE_VALID, &t->pval))) return e;
  const cz_pipe_opts *po = cz_pipe_options(t->ptrain);
  t->train_rows = po->loader.batch_size * po->aug_splits;
  if ((e = build_model(t, (int)t->train_rows, &t->g))) return e;
  if ((e = cz_zoo_apply_config_weights(t->g, t->entry, c))) return e;
  if ((e = build_model(t, (int)cz_pipe_options(t->pval)->loader.batch_size, &t->ge))) return e;
  cz_info("Model %s created, param count: %lld", t->entry->name,
          (long long)cz_graph_param_count(t->g));
  if ((e = attach_loss(t))) return e;
  cz_loop_ema_init(t); /* train.py: after the weights, before training */
  cz_graph_set_training(t->g, true);
  cz_graph_set_training(t->ge, false);
  cz_exec_opts eo = {.training = true, .backward = true, .seed = (uint64_t)c->general.seed.v};
  if ((e = cz_exec_new(t->g, &eo, &t->ex))) return e;
  cz_exec_opts ee = {.training = false};
  if ((e = cz_exec_new(t->ge, &ee, &t->exe))) return e;
  cz_info("%d threads, %d loader workers, %zu training and %zu validation samples",
          cz_threads_get(), po->loader.workers, t->ds.train.n, t->ds.val.n);
  t->max_hist = c->general.checkpoint_hist.set ? (int)c->general.checkpoint_hist.v : 10;
  if (t->max_hist > CZ_LOOP_MAX_HIST) t->max_hist = CZ_LOOP_MAX_HIST;
  return make_optimizer(t);
}

void cz_loop_teardown(cz_trainer *t) {
  cz_loop_ema_free(t);
  free(t->rows);
  cz_optim_free(t->opt);
  free(t->params);
  cz_exec_free(t->ex);
  cz_exec_free(t->exe);
  cz_graph_free(t->g);
  cz_graph_free(t->ge);
  cz_pipe_free(t->ptrain);
  cz_pipe_free(t->pval);
  cz_ds_set_free(&t->ds);
  for (int i = 0; i < 2; i++) free(t->recovery[i]);
  free(t->ckpt_dir);
}
