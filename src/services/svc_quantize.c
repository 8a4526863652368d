/* The quantization service (operation_mode 'quantization' and the chains' quantization step). */
#include "services/svc.h"

cz_err *cz_svc_quantize(cz_svc_ctx *ctx) {
  (void)ctx;
  return cz_svc_not_built("quantization", "the quantization issue");
}
