/* The training service (operation_mode 'training' and the chains' training step). */
#include "services/svc.h"

cz_err *cz_svc_train(cz_svc_ctx *ctx) {
  (void)ctx;
  return cz_svc_not_built("training", "the training service issue");
}
