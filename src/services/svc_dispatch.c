/* operation_mode -> the ordered services it runs. Chains evaluate the float
 * model before quantizing it, as the tool we replace does, so the log can
 * show float and int8 accuracy side by side. */
#include <stddef.h>
#include <string.h>

#include "services/svc.h"
#include "util/log.h"

typedef struct {
  const char *name;
  cz_svc_fn fn;
} step;

static const step kTrain = {"training", cz_svc_train};
static const step kEval = {"evaluation", cz_svc_evaluate};
static const step kQuant = {"quantization", cz_svc_quantize};
static const step kPredict = {"prediction", cz_svc_predict};
static const step kBench = {"benchmarking", cz_svc_benchmark};
static const step kDeploy = {"deployment", cz_svc_deploy};

enum { MAX_STEPS = 6 };
static const step *const kPlans[CZ_MODE_COUNT][MAX_STEPS] = {
    [CZ_MODE_TRAINING] = {&kTrain, &kEval},
    [CZ_MODE_EVALUATION] = {&kEval},
    [CZ_MODE_QUANTIZATION] = {&kQuant},
    [CZ_MODE_PREDICTION] = {&kPredict},
    [CZ_MODE_BENCHMARKING] = {&kBench},
    [CZ_MODE_DEPLOYMENT] = {&kDeploy},
    [CZ_MODE_CHAIN_TQEB] = {&kTrain, &kEval, &kQuant, &kEval, &kBench},
    [CZ_MODE_CHAIN_TQE] = {&kTrain, &kEval, &kQuant, &kEval},
    [CZ_MODE_CHAIN_EQE] = {&kEval, &kQuant, &kEval},
    [CZ_MODE_CHAIN_QB] = {&kQuant, &kBench},
    [CZ_MODE_CHAIN_EQEB] = {&kEval, &kQuant, &kEval, &kBench},
    [CZ_MODE_CHAIN_QD] = {&kQuant, &kDeploy},
};

const char *const *cz_mode_plan(cz_mode mode) {
  static const char *names[CZ_MODE_COUNT][MAX_STEPS + 1];
  if (!names[mode][0])
    for (int i = 0; i < MAX_STEPS && kPlans[mode][i]; i++) names[mode][i] = kPlans[mode][i]->name;
  return names[mode];
}

cz_err *cz_run_mode(cz_svc_ctx *ctx, cz_mode mode) {
  const char *mode_name = cz_mode_names[mode];
  for (int i = 0; i < MAX_STEPS && kPlans[mode][i]; i++) {
    const step *s = kPlans[mode][i];
    cz_debug("%s: step %d, %s", mode_name, i + 1, s->name);
    cz_err *err = s->fn(ctx);
    if (err) return err;
  }
  if (strncmp(mode_name, "chain_", 6) == 0) cz_info("%s complete.", mode_name);
  return NULL;
}

cz_err *cz_svc_not_built(const char *service, const char *issue) {
  return cz_err_new(CZ_EXIT_NOTIMPL, "the %s service is not built yet in czoo %s (planned: %s); "
                    "nothing was computed", service, CZOO_VERSION, issue);
}
