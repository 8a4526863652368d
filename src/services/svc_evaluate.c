/* The evaluation service (operation_mode 'evaluation' and the chains'
 * evaluation steps): the step's model on the test split (dataset.test_path
 * or the layout's test split, else validation), top-1 / top-5 / mean
 * cross-entropy / per-class accuracy, the confusion matrix as CSV and PNG,
 * and the accuracy line the tool we replace prints
 * (reference_behaviour.md section 7: "Evaluation accuracy on test_set: X %"). */
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "data/pipeline.h"
#include "data/tta_flip.h"
#include "services/eval_metrics.h"
#include "services/eval_report.h"
#include "services/infer.h"
#include "services/model_open.h"
#include "services/svc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/progress.h"

/* "test_set" when the data has its own test split, as the reference names
 * its sets; else the validation split stands in for it. */
static const char *set_name(const cz_config *cfg) {
  const cz_cfg_dataset *d = &cfg->dataset;
  if (d->test_path.set) return "test_set";
  int kind = d->dataset_name.set ? d->dataset_name.v : CZ_DS_CUSTOM;
  return kind == CZ_DS_FLOWERS102 || kind == CZ_DS_FOOD101 ? "test_set" : "validation_set";
}

typedef struct {
  cz_ds_set ds;
  cz_model model;
  cz_pipe *pipe;
  cz_infer *inf;
  cz_metrics metrics;
  float *logits, *logits2, *flipped;
  cz_config cfg;       /* shallow copy: input_shape from the model when unset */
  int64_t shape[3];
} eval_run;

static void eval_run_free(eval_run *r) {
  cz_infer_free(r->inf);
  cz_pipe_free(r->pipe);
  cz_model_close(&r->model);
  cz_ds_set_free(&r->ds);
  cz_metrics_free(&r->metrics);
  free(r->logits), free(r->logits2), free(r->flipped);
}

static cz_err *run_batches(eval_run *r, const char *set, bool tta) {
  const cz_pipe_opts *po = cz_pipe_options(r->pipe);
  int64_t bs = po->loader.batch_size, k = r->model.num_classes;
  int h = r->model.h, w = r->model.w, c = r->model.c;
  if (po->loader.c != c || po->loader.h != h || po->loader.w != w)
    return cz_err_new(CZ_EXIT_USAGE, "model.input_shape = [%lld, %lld, %lld], but the model "
                      "takes [%d, %d, %d]: expected them to agree",
                      (long long)po->loader.c, (long long)po->loader.h,
                      (long long)po->loader.w, c, h, w);
  cz_err *err = cz_infer_new(r->model.g, bs, &r->inf);
  if (err) return err;
  r->logits = cz_xmalloc((size_t)(bs * k) * sizeof(float));
  if (tta) {
    r->logits2 = cz_xmalloc((size_t)(bs * k) * sizeof(float));
    r->flipped = cz_xmalloc((size_t)(bs * h * w * c) * sizeof(float));
  }
  char *label = cz_asprintf("Evaluating %s on %s", r->model.stem, set);
  cz_progress *pr = cz_progress_start(label, cz_pipe_num_batches(r->pipe), "batch");
  free(label);
  cz_pipe_start_epoch(r->pipe, 0);
  int64_t done = 0;
  for (;;) {
    cz_loader_batch b;
    if ((err = cz_pipe_next(r->pipe, &b))) break;
    if (b.n == 0) break;
    cz_infer_run(r->inf, b.x, b.n, r->logits);
    if (tta) {
      cz_tta_hflip_nhwc(b.x, r->flipped, b.n, h, w, c);
      cz_infer_run(r->inf, r->flipped, b.n, r->logits2);
      cz_tta_average(r->logits, r->logits2, b.n * k);
    }
    cz_metrics_add(&r->metrics, r->logits, b.y, b.n);
    char extra[64];
    snprintf(extra, sizeof extra, "acc %.2f %%", cz_metrics_top1(&r->metrics));
    cz_progress_update(pr, ++done, extra);
  }
  cz_progress_finish(pr, NULL);
  return err;
}

static cz_err *write_outputs(const cz_svc_ctx *ctx, eval_run *r, const char *set) {
  const cz_metrics *m = &r->metrics;
  char *base = cz_asprintf("%s/%s_%s_%s", ctx->run_dir, cz_model_kind(&r->model),
                           r->model.stem, set);
  char *csv = cz_asprintf("%s_confusion_matrix.csv", base);
  char *png = cz_asprintf("%s_confusion_matrix.png", base);
  char *acc = cz_asprintf("%s_class_accuracy.csv", base);
  char *title = cz_asprintf("%s_%s_%s  accuracy: %.2f %%", cz_model_kind(&r->model),
                            r->model.stem, set, cz_metrics_top1(m));
  cz_err *err = cz_write_confusion_csv(csv, m, r->ds.class_names);
  if (!err) err = cz_write_class_acc_csv(acc, m, r->ds.class_names);
  if (!err) err = cz_write_confusion_png(png, m, r->ds.class_names, title);
  if (!err) cz_info("Confusion matrix: %s (.csv, .png); per-class accuracy: %s", png, acc);
  free(base), free(csv), free(png), free(acc), free(title);
  return err;
}

cz_err *cz_svc_evaluate(cz_svc_ctx *ctx) {
  const cz_config *cfg = ctx->cfg;
  eval_run r = {0};
  const char *set = set_name(cfg);
  cz_err *err = cz_ds_load(&cfg->dataset, &r.ds);
  if (!err && r.ds.test.n == 0)
    err = cz_err_new(CZ_EXIT_USAGE, "dataset: no test or validation images to evaluate on: "
                     "expected dataset.test_path or dataset.validation_path");
  if (!err) err = cz_model_open(cfg, ctx->model_path, ctx->quantized, (int)r.ds.num_classes,
                                &r.model);
  if (!err) {
    cz_metrics_init(&r.metrics, r.model.num_classes);
    /* An ONNX model brings its own input shape; the config may omit it. */
    r.cfg = *cfg;
    if (!r.cfg.model.input_shape.set) {
      r.shape[0] = r.model.c, r.shape[1] = r.model.h, r.shape[2] = r.model.w;
      r.cfg.model.input_shape = (cz_cints){true, 3, r.shape};
    }
    err = cz_pipe_open(&r.cfg, &r.ds, CZ_PIPE_TEST, &r.pipe);
  }
  bool tta = cz_tta_on(cfg);
  if (!err) {
    cz_info("Evaluating the %s model %s on %s (%zu images%s)", cz_model_kind(&r.model),
            r.model.stem, set, r.ds.test.n, tta ? ", averaged with its mirror image" : "");
    err = run_batches(&r, set, tta);
  }
  if (!err) {
    const cz_metrics *m = &r.metrics;
    cz_info("Evaluation accuracy on %s: %.2f %%", set, cz_metrics_top1(m));
    if (!r.model.quantized) {
      ctx->has_float_top1 = true;
      ctx->float_top1 = cz_metrics_top1(m);
    } else if (ctx->has_float_top1) {
      cz_info("Accuracy on %s: float %.2f %%, int8 %.2f %%, difference %+.2f points", set,
              ctx->float_top1, cz_metrics_top1(m), cz_metrics_top1(m) - ctx->float_top1);
    }
    cz_info("Top-5 accuracy on %s: %.2f %%, mean loss (cross-entropy): %.4f, images: %lld",
            set, cz_metrics_top5(m), cz_metrics_loss(m), (long long)m->n);
    /* The reference appends these two lines to stm32ai_main.log. */
    char *line = cz_asprintf("%s model %s", cz_model_kind(&r.model), r.model.stem);
    cz_log_file_line(CZ_LOG_INFO, line);
    free(line);
    line = cz_asprintf("Evaluation accuracy: %.2f %%", cz_metrics_top1(m));
    cz_log_file_line(CZ_LOG_INFO, line);
    free(line);
    err = write_outputs(ctx, &r, set);
  }
  if (!err) cz_info("Evaluation complete.");
  eval_run_free(&r);
  return err;
}
