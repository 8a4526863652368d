/* The services (one per operation_mode step) and the dispatcher that runs
 * a mode's steps in order, handing each step's model file to the next. */
#ifndef CZ_SERVICES_SVC_H
#define CZ_SERVICES_SVC_H

#include <stdbool.h>

#include "config/cfg.h"
#include "util/err.h"

typedef struct {
  const cz_config *cfg;
  const char *run_dir;
  char *model_path; /* owned: the model file the next step works on */
  bool quantized;   /* model_path is a quantized (QDQ) model */
  /* Top-1 of the last float evaluation in this chain, so the int8 one
   * can be shown beside it. */
  bool has_float_top1;
  double float_top1;
} cz_svc_ctx;

typedef cz_err *(*cz_svc_fn)(cz_svc_ctx *ctx);

cz_err *cz_svc_train(cz_svc_ctx *ctx);
cz_err *cz_svc_evaluate(cz_svc_ctx *ctx);
cz_err *cz_svc_quantize(cz_svc_ctx *ctx);
cz_err *cz_svc_predict(cz_svc_ctx *ctx);
cz_err *cz_svc_benchmark(cz_svc_ctx *ctx);
cz_err *cz_svc_deploy(cz_svc_ctx *ctx);

/* The names of the steps mode runs, in order, NULL-terminated. */
const char *const *cz_mode_plan(cz_mode mode);
/* Runs every step of mode; stops at the first error. */
cz_err *cz_run_mode(cz_svc_ctx *ctx, cz_mode mode);

/* The error a service that is not built yet returns. */
cz_err *cz_svc_not_built(const char *service, const char *issue);

#endif
