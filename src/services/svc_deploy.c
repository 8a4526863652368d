/* The deployment service (operation_mode 'deployment' and the chains' deployment step). */
#include "services/svc.h"

cz_err *cz_svc_deploy(cz_svc_ctx *ctx) {
  (void)ctx;
  return cz_svc_not_built("deployment", "the deployment issue");
}
