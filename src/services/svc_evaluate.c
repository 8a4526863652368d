/* The evaluation service (operation_mode 'evaluation' and the chains' evaluation step). */
#include "services/svc.h"

cz_err *cz_svc_evaluate(cz_svc_ctx *ctx) {
  (void)ctx;
  return cz_svc_not_built("evaluation", "the ONNX and evaluation issue");
}
