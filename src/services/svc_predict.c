/* The prediction service (operation_mode 'prediction' and the chains' prediction step). */
#include "services/svc.h"

cz_err *cz_svc_predict(cz_svc_ctx *ctx) {
  (void)ctx;
  return cz_svc_not_built("prediction", "the ONNX and evaluation issue");
}
