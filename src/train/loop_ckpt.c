/* Checkpoint files of the training loop, named and kept as timm's
 * CheckpointSaver does (spec reference_behaviour 5.5): last.pth.tar every
 * epoch, checkpoint-<epoch>.pth.tar for the checkpoint_hist best,
 * model_best.pth.tar, recovery-<epoch>-<step>.pth.tar (the last two).
 * Contents: epoch, arch, state_dict, metric, version 2, args (every config
 * key by dotted path) and, beyond the reference, `optimizer` (the
 * optimizer's state tensors by name), `state_dict_ema` with model_ema
 * (timm's key) and `czoo_state` (resume position, global step, schedule
 * state, best metric and history, the epoch's loss meter, the finished
 * epochs' summary rows). Written with
 * cz_torch_save (temporary name + rename); copies are hard links made under
 * a temporary name and renamed, so no file is ever seen half written.
 * torch 1.13's weights_only loader knows no pickled float, so no float is
 * pickled: `metric` is a 0-d float32 tensor, float config values in `args`
 * are decimal strings ("%.17g"), and the doubles resume needs are int64
 * tensors holding their IEEE-754 bits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg_schema.h"
#include "graph/graph_dict.h"
#include "io/torch_file.h"
#include "train/loop_priv.h"
#include "util/log.h"
#include "util/mem.h"

/* doubles as int64 bit patterns, a 1-d tensor of n. */
static cz_pyval *cz_loop_bits(const double *v, int n) {
  int64_t *d = cz_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *d);
  memcpy(d, v, (size_t)n * sizeof *d);
  return cz_py_tensor_owned(CZ_I64, cz_shape1(n), d);
}

static char *fmt_double(double v) { return cz_asprintf("%.17g", v); }

static cz_pyval *key_value(const cz_config *cfg, const cz_key *k) {
  const char *p = (const char *)cfg + k->off;
  switch (k->type) {
  case CZ_KT_BOOL: { const cz_cbool *v = (const void *)p; return v->set ? cz_py_bool(v->v) : cz_py_none(); }
  case CZ_KT_INT: { const cz_cint *v = (const void *)p; return v->set ? cz_py_int(v->v) : cz_py_none(); }
  case CZ_KT_FLOAT: {
    const cz_cfloat *v = (const void *)p;
    if (!v->set) return cz_py_none();
    char *s = fmt_double(v->v);
    cz_pyval *r = cz_py_str(s);
    free(s);
    return r;
  }
  case CZ_KT_STR: { const cz_cstr *v = (const void *)p; return v->set && v->v ? cz_py_str(v->v) : cz_py_none(); }
  case CZ_KT_ENUM: {
    const cz_cenum *v = (const void *)p;
    return v->set && k->choices ? cz_py_str(k->choices[v->v]) : v->set ? cz_py_int(v->v) : cz_py_none();
  }
  case CZ_KT_INTS: {
    const cz_cints *v = (const void *)p;
    if (!v->set) return cz_py_none();
    cz_pyval *l = cz_py_list();
    for (size_t i = 0; i < v->n; i++) cz_py_append(l, cz_py_int(v->v[i]));
    return l;
  }
  case CZ_KT_FLOATS: {
    const cz_cfloats *v = (const void *)p;
    if (!v->set) return cz_py_none();
    cz_pyval *l = cz_py_list();
    for (size_t i = 0; i < v->n; i++) {
      char *s = fmt_double(v->v[i]);
      cz_py_append(l, cz_py_str(s));
      free(s);
    }
    return l;
  }
  case CZ_KT_STRS: {
    const cz_cstrs *v = (const void *)p;
    if (!v->set) return cz_py_none();
    cz_pyval *l = cz_py_list();
    for (size_t i = 0; i < v->n; i++) cz_py_append(l, cz_py_str(v->v[i]));
    return l;
  }
  }
  return cz_py_none();
}

static cz_pyval *args_dict(const cz_config *cfg) {
  cz_pyval *d = cz_py_dict(false);
  for (size_t i = 0; i < cz_n_keys; i++) cz_py_set_str(d, cz_keys[i].path, key_value(cfg, &cz_keys[i]));
  return d;
}

static cz_pyval *optim_dict(cz_trainer *t) {
  cz_pyval *d = cz_py_dict(true);
  for (int i = 0; i < cz_optim_state_count(t->opt); i++) {
    int64_t n = cz_optim_state_numel(t->opt, i);
    float *x = cz_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    memcpy(x, cz_optim_state_data(t->opt, i), (size_t)n * sizeof *x);
    cz_py_set_str(d, cz_optim_state_name(t->opt, i), cz_py_tensor_owned(CZ_F32, cz_shape1(n), x));
  }
  return d;
}

static cz_pyval *state_dict(cz_trainer *t) {
  double sv[CZ_SCHED_STATE_N];
  cz_sched_get_state(&t->sched, sv);
  cz_pyval *d = cz_py_dict(false);
  cz_py_set_str(d, "epoch", cz_py_int(t->epoch));
  cz_py_set_str(d, "step_in_epoch", cz_py_int(t->step_in_epoch));
  cz_py_set_str(d, "global_step", cz_py_int(t->global_step));
  cz_py_set_str(d, "seed", cz_py_int(t->cfg->general.seed.v));
  cz_py_set_str(d, "sched", cz_loop_bits(sv, CZ_SCHED_STATE_N));
  cz_py_set_str(d, "has_best", cz_py_bool(t->has_best));
  cz_py_set_str(d, "best", cz_loop_bits(&t->best_metric, 1));
  cz_py_set_str(d, "best_epoch", cz_py_int(t->best_epoch));
  double hv[CZ_LOOP_MAX_HIST];
  int64_t *he = cz_xmalloc(CZ_LOOP_MAX_HIST * sizeof *he);
  for (int i = 0; i < t->n_hist; i++) hv[i] = t->hist[i].metric, he[i] = t->hist[i].epoch;
  cz_py_set_str(d, "hist_epoch", cz_py_tensor_owned(CZ_I64, cz_shape1(t->n_hist), he));
  cz_py_set_str(d, "hist_metric", cz_loop_bits(hv, t->n_hist));
  /* the epoch's running loss meter, the finished epochs' metrics (6 per
   * epoch, summary.csv's columns in order) and whether the last epoch's
   * result (`metric`) is the EMA's */
  cz_py_set_str(d, "loss_sum", cz_loop_bits(&t->ep_loss_sum, 1));
  cz_py_set_str(d, "loss_n", cz_py_int(t->ep_loss_n));
  double *rv = cz_xmalloc((size_t)(t->n_rows > 0 ? t->n_rows : 1) * 6 * sizeof *rv);
  for (int64_t i = 0; i < t->n_rows; i++) {
    const cz_loop_epoch_metrics *r = &t->rows[i];
    double row[6] = {(double)r->epoch, r->train_loss, r->eval_loss,
                     r->eval_top1, r->eval_top5, r->lr};
    memcpy(rv + 6 * i, row, sizeof row);
  }
  cz_py_set_str(d, "epochs", cz_loop_bits(rv, (int)(6 * t->n_rows)));
  free(rv);
  cz_py_set_str(d, "ema_better", cz_py_bool(t->export_ema));
  return d;
}

cz_err *cz_loop_save(cz_trainer *t, const char *path, const double *metric) {
  cz_pyval *root = cz_py_dict(false);
  /* timm's `epoch`: the last epoch trained (finished), or the current one
   * for a mid-epoch (recovery) checkpoint */
  cz_py_set_str(root, "epoch", cz_py_int(t->step_in_epoch ? t->epoch : t->epoch - 1));
  cz_py_set_str(root, "arch", cz_py_str(t->entry->name));
  cz_tensor_dict *sd = cz_graph_to_dict(t->g);
  cz_py_set_str(root, "state_dict", cz_py_from_tdict(sd));
  cz_tdict_free(sd);
  cz_py_set_str(root, "optimizer", optim_dict(t));
  cz_py_set_str(root, "version", cz_py_int(2));
  cz_py_set_str(root, "args", args_dict(t->cfg));
  if (t->ema) { /* timm's key; its weights reader takes it with use_ema */
    cz_loop_ema_swap(t);
    cz_tensor_dict *ed = cz_graph_to_dict(t->g);
    cz_loop_ema_swap(t);
    cz_py_set_str(root, "state_dict_ema", cz_py_from_tdict(ed));
    cz_tdict_free(ed);
  }
  if (metric) {
    float *m = cz_xmalloc(sizeof *m);
    *m = (float)*metric;
    cz_py_set_str(root, "metric", cz_py_tensor_owned(CZ_F32, cz_shape_make(0, NULL), m));
  }
  cz_py_set_str(root, "czoo_state", state_dict(t));
  cz_err *e = cz_torch_save(path, root);
  cz_py_free(root);
  return e;
}

/* dst becomes a hard link to src, atomically. */
static cz_err *link_as(const char *src, const char *dst) {
  char *tmp = cz_asprintf("%s.tmp-link", dst);
  unlink(tmp);
  cz_err *e = NULL;
  if (link(src, tmp) != 0 || rename(tmp, dst) != 0)
    e = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot link to %s: %s", dst, src, strerror(errno));
  unlink(tmp);
  free(tmp);
  return e;
}

static char *ckpt_path(const cz_trainer *t, const char *name) {
  return cz_asprintf("%s/%s", t->ckpt_dir, name);
}

cz_err *cz_loop_epoch_checkpoints(cz_trainer *t, double metric) {
  int64_t ep = t->epoch - 1; /* the epoch just finished (counters advanced) */
  char *last = ckpt_path(t, "last.pth.tar");
  cz_err *e = cz_loop_save(t, last, &metric);
  /* history: fewer than max kept, or better than the worst kept one */
  int worst = -1;
  for (int i = 0; i < t->n_hist; i++)
    if (worst < 0 || cz_loop_better(t, t->hist[worst].metric, t->hist[i].metric)) worst = i;
  bool keep = t->n_hist < t->max_hist || (worst >= 0 && cz_loop_better(t, metric, t->hist[worst].metric));
  if (!e && keep) {
    char *name = cz_asprintf("checkpoint-%lld.pth.tar", (long long)ep);
    char *p = ckpt_path(t, name);
    e = link_as(last, p);
    free(p);
    free(name);
    if (!e && t->n_hist == t->max_hist) { /* evict the worst */
      char *old = cz_asprintf("%s/checkpoint-%lld.pth.tar", t->ckpt_dir, (long long)t->hist[worst].epoch);
      unlink(old);
      free(old);
      t->hist[worst] = t->hist[--t->n_hist];
    }
    if (!e) t->hist[t->n_hist++] = (cz_loop_hist){ep, metric};
    /* kept sorted best first, as timm's checkpoint_files */
    for (int i = 1; i < t->n_hist; i++)
      for (int j = i; j > 0 && cz_loop_better(t, t->hist[j].metric, t->hist[j - 1].metric); j--) {
        cz_loop_hist h = t->hist[j];
        t->hist[j] = t->hist[j - 1], t->hist[j - 1] = h;
      }
  }
  if (!e && t->best_epoch == ep) {
    char *best = ckpt_path(t, "model_best.pth.tar");
    e = link_as(last, best);
    free(best);
  }
  if (!e) {
    char line[1024];
    int off = snprintf(line, sizeof line, "Current checkpoints:");
    for (int i = 0; i < t->n_hist && off < (int)sizeof line - 64; i++)
      off += snprintf(line + off, sizeof line - (size_t)off, " (checkpoint-%lld.pth.tar, %.4f)",
                      (long long)t->hist[i].epoch, t->hist[i].metric);
    cz_info("%s", line);
  }
  free(last);
  return e;
}

cz_err *cz_loop_recovery_checkpoint(cz_trainer *t) {
  char *name = cz_asprintf("recovery-%lld-%lld.pth.tar", (long long)t->epoch,
                           (long long)t->step_in_epoch);
  char *p = ckpt_path(t, name);
  free(name);
  cz_err *e = cz_loop_save(t, p, NULL);
  if (e) {
    free(p);
    return e;
  }
  if (t->recovery[0] && t->recovery[1]) {
    unlink(t->recovery[0]);
    free(t->recovery[0]);
    t->recovery[0] = t->recovery[1], t->recovery[1] = NULL;
  }
  t->recovery[t->recovery[0] ? 1 : 0] = p;
  return NULL;
}
