/* The training service (operation_mode 'training' and the chains' training
 * step): runs the training loop and hands the exported ONNX model on. */
#include <stdlib.h>

#include "services/svc.h"
#include "train/loop.h"

cz_err *cz_svc_train(cz_svc_ctx *ctx) {
  char *onnx = NULL;
  /* metrics writers (TensorBoard, summary.csv, plots) plug in here */
  cz_err *e = cz_train_loop_run(ctx->cfg, ctx->run_dir, NULL, &onnx);
  if (e) return e;
  free(ctx->model_path);
  ctx->model_path = onnx;
  ctx->quantized = false;
  return NULL;
}
