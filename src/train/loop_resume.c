/* training.resume: continues from a checkpoint this loop wrote (epoch-end
 * or recovery): weights and BatchNorm statistics, optimizer state, schedule
 * state, the resume position, global step (which keys the per-step
 * randomness), the best-metric history, the EMA weights (model_ema), the
 * epoch's running loss meter and the finished epochs' metrics. With the
 * loader's and the executor's random streams keyed by (seed, epoch, sample)
 * and the global step, that is all the state there is, so a resumed run
 * ends bit for bit where an uninterrupted one does (same threads). */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_dict.h"
#include "io/torch_file.h"
#include "train/loop_priv.h"
#include "util/log.h"
#include "util/mem.h"

static cz_err *bad(const char *path, const char *what) {
  return cz_err_new(CZ_EXIT_USAGE, "training.resume: %s: %s: expected a checkpoint written by "
                    "czoo's training loop", path, what);
}

static cz_err *get_int(const cz_pyval *d, const char *key, const char *path, int64_t *out) {
  const cz_pyval *v = cz_py_get(d, key);
  if (!v || (v->kind != CZ_PY_INT && v->kind != CZ_PY_BOOL)) return bad(path, key);
  *out = v->kind == CZ_PY_INT ? v->i : v->b;
  return NULL;
}

/* An int64 tensor of n IEEE bit patterns (see loop_ckpt.c). */
static cz_err *get_bits(const cz_pyval *d, const char *key, const char *path, double *out, int n) {
  const cz_pyval *v = cz_py_get(d, key);
  if (!v || v->kind != CZ_PY_TENSOR || v->tensor.dtype != CZ_I64 ||
      cz_shape_numel(&v->tensor.shape) != n)
    return bad(path, key);
  memcpy(out, v->tensor.data, (size_t)n * sizeof *out);
  return NULL;
}

static cz_err *restore_optim(cz_trainer *t, const cz_pyval *od, const char *path) {
  if (!od || od->kind != CZ_PY_DICT) return bad(path, "optimizer");
  for (int i = 0; i < cz_optim_state_count(t->opt); i++) {
    const char *name = cz_optim_state_name(t->opt, i);
    const cz_pyval *v = cz_py_get(od, name);
    int64_t n = cz_optim_state_numel(t->opt, i);
    if (!v || v->kind != CZ_PY_TENSOR || v->tensor.dtype != CZ_F32 ||
        cz_shape_numel(&v->tensor.shape) != n)
      return cz_err_new(CZ_EXIT_USAGE, "training.resume: %s: optimizer state '%s' is missing "
                        "or of another size: expected %lld float32 values (same optimizer and "
                        "model as the checkpoint)", path, name, (long long)n);
    memcpy(cz_optim_state_data(t->opt, i), v->tensor.data, (size_t)n * sizeof(float));
  }
  return NULL;
}

/* The epoch's loss meter, the earlier epochs' rows and which of model and
 * EMA validated better last (absent from checkpoints of czoo before they
 * were carried: then the resumed run's summary starts at its first epoch). */
static cz_err *restore_meters(cz_trainer *t, const cz_pyval *s, const char *path) {
  const cz_pyval *rows = cz_py_get(s, "epochs");
  if (!rows) {
    cz_warn("training.resume: %s holds no earlier epochs' metrics: summary.csv starts at epoch "
            "%lld", path, (long long)t->epoch);
    return NULL;
  }
  int64_t n_loss = 0, ema = 0;
  cz_err *e = get_bits(s, "loss_sum", path, &t->ep_loss_sum, 1);
  if (!e) e = get_int(s, "loss_n", path, &n_loss);
  if (!e) e = get_int(s, "ema_better", path, &ema);
  if (e) return e;
  if (rows->kind != CZ_PY_TENSOR || rows->tensor.dtype != CZ_I64 ||
      cz_shape_numel(&rows->tensor.shape) % 6 != 0 ||
      cz_shape_numel(&rows->tensor.shape) / 6 > t->epoch || n_loss < 0 || n_loss > t->step_in_epoch)
    return bad(path, "epochs");
  t->ep_loss_n = n_loss;
  t->export_ema = ema != 0;
  t->n_rows = cz_shape_numel(&rows->tensor.shape) / 6;
  t->rows = cz_xcalloc((size_t)(t->n_rows > 0 ? t->n_rows : 1), sizeof *t->rows);
  const double *rv = rows->tensor.data;
  for (int64_t i = 0; i < t->n_rows; i++) {
    double r[6];
    memcpy(r, rv + 6 * i, sizeof r);
    t->rows[i] = (cz_loop_epoch_metrics){(int64_t)r[0], r[1], r[2], r[3], r[4], r[5]};
  }
  return NULL;
}

static cz_err *restore_state(cz_trainer *t, const cz_pyval *s, const char *path) {
  if (!s || s->kind != CZ_PY_DICT) return bad(path, "czoo_state");
  int64_t has_best = 0, n_hist;
  cz_err *e = get_int(s, "epoch", path, &t->epoch);
  if (!e) e = get_int(s, "step_in_epoch", path, &t->step_in_epoch);
  if (!e) e = get_int(s, "global_step", path, &t->global_step);
  if (!e) e = get_int(s, "has_best", path, &has_best);
  if (!e) e = get_int(s, "best_epoch", path, &t->best_epoch);
  if (!e) e = get_bits(s, "best", path, &t->best_metric, 1);
  double sv[CZ_SCHED_STATE_N];
  if (!e) e = get_bits(s, "sched", path, sv, CZ_SCHED_STATE_N);
  if (e) return e;
  t->has_best = has_best != 0;
  cz_sched_set_state(&t->sched, sv);
  cz_optim_set_lr(t->opt, cz_sched_lr(&t->sched));
  const cz_pyval *he = cz_py_get(s, "hist_epoch");
  if (!he || he->kind != CZ_PY_TENSOR || he->tensor.dtype != CZ_I64) return bad(path, "hist_epoch");
  n_hist = cz_shape_numel(&he->tensor.shape);
  if (n_hist > CZ_LOOP_MAX_HIST) return bad(path, "hist_epoch");
  double hv[CZ_LOOP_MAX_HIST];
  if ((e = get_bits(s, "hist_metric", path, hv, (int)n_hist))) return e;
  t->n_hist = (int)n_hist;
  for (int i = 0; i < t->n_hist; i++)
    t->hist[i] = (cz_loop_hist){((const int64_t *)he->tensor.data)[i], hv[i]};
  if (t->step_in_epoch < 0 || t->step_in_epoch >= t->updates_per_epoch || t->epoch < 0)
    return bad(path, "resume position out of range for this dataset and batch size");
  return restore_meters(t, s, path);
}

/* timm's train.py loads the EMA from `state_dict_ema`, falling back to
 * `state_dict` for a checkpoint of a run without EMA. */
static cz_err *restore_ema(cz_trainer *t, const cz_pyval *root, const char *path) {
  bool has = cz_py_get(root, "state_dict_ema") != NULL;
  if (!has)
    cz_warn("training.resume: %s has no state_dict_ema: the EMA restarts from its state_dict",
            path);
  cz_tensor_dict *sd = NULL;
  cz_err *e = cz_torch_state_dict_pick(root, path, has ? CZ_SD_EMA : CZ_SD_DEFAULT, &sd);
  cz_loop_ema_swap(t);
  if (!e) e = cz_graph_load_dict(t->g, sd, true, path, NULL);
  cz_loop_ema_swap(t);
  cz_tdict_free(sd);
  return e;
}

cz_err *cz_loop_resume(cz_trainer *t, const char *path) {
  cz_pyval *root = NULL;
  cz_err *e = cz_torch_load(path, &root);
  if (e) return cz_err_prefix(e, "training.resume");
  const cz_pyval *arch = cz_py_get(root, "arch");
  if (!arch || arch->kind != CZ_PY_STR || strcmp(arch->str.s, t->entry->name) != 0) {
    e = cz_err_new(CZ_EXIT_USAGE, "training.resume: %s: arch '%s': expected '%s' "
                   "(model.model_name)", path, arch && arch->kind == CZ_PY_STR ? arch->str.s : "?",
                   t->entry->name);
    cz_py_free(root);
    return e;
  }
  cz_tensor_dict *sd = NULL;
  e = cz_torch_state_dict(root, path, &sd);
  if (!e) e = cz_graph_load_dict(t->g, sd, true, path, NULL);
  cz_tdict_free(sd);
  if (!e && t->ema) e = restore_ema(t, root, path);
  if (!e) e = restore_optim(t, cz_py_get(root, "optimizer"), path);
  if (!e) e = restore_state(t, cz_py_get(root, "czoo_state"), path);
  cz_py_free(root);
  if (!e)
    cz_info("resumed from %s: epoch %lld, step %lld of it, %lld updates so far", path,
            (long long)t->epoch, (long long)t->step_in_epoch, (long long)t->global_step);
  return e;
}
