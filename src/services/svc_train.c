/* The training service (operation_mode 'training' and the chains' training
 * step): runs the training loop and hands the exported ONNX model on. */
#include <stdlib.h>

#include "services/svc.h"
#include "train/loop.h"
#include "train/loop_outputs.h"
#include "train/plot_chart.h"
#include "util/err.h"

cz_err *cz_svc_train(cz_svc_ctx *ctx) {
  char *onnx = NULL;
  cz_loop_outputs out = {.cfg = ctx->cfg};
  cz_loop_metrics hook = cz_loop_outputs_hook(&out);
  cz_err *e = cz_train_loop_run(ctx->cfg, ctx->run_dir, &hook, &onnx);
  cz_err *ce = cz_loop_outputs_close(&out);
  if (e || ce) {
    free(onnx);
    cz_err_free(e ? ce : NULL);
    return e ? e : ce;
  }
  free(ctx->model_path);
  ctx->model_path = onnx;
  ctx->quantized = false;
  return NULL;
}
