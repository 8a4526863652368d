/* The benchmarking service (operation_mode 'benchmarking' and the chains' benchmarking step). */
#include "services/svc.h"

cz_err *cz_svc_benchmark(cz_svc_ctx *ctx) {
  (void)ctx;
  return cz_svc_not_built("benchmarking", "the benchmarking issue");
}
