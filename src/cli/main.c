/* czoo's entry point: command line -> validated config -> run directory ->
 * the operation mode's services. Config and usage errors exit 2 before any
 * output is created. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cmd_info.h"
#include "cli/cmd_models.h"
#include "cli/rundir.h"
#include "config/cfg_load.h"
#include "services/svc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strbuf.h"

static int fail(cz_err *err) {
  int code = cz_err_code(err);
  if (cz_log_has_file()) cz_log_file_line(CZ_LOG_ERROR, cz_err_msg(err));
  fprintf(stderr, "czoo: error: %s\n", cz_err_msg(err));
  cz_err_free(err);
  cz_log_close_file();
  return code;
}

static void set_log_level_from_env(void) {
  const char *lv = getenv("CZOO_LOG_LEVEL");
  if (!lv) return;
  if (strcasecmp(lv, "debug") == 0) cz_log_set_level(CZ_LOG_DEBUG);
  else if (strcasecmp(lv, "warning") == 0) cz_log_set_level(CZ_LOG_WARN);
  else if (strcasecmp(lv, "error") == 0) cz_log_set_level(CZ_LOG_ERROR);
}

static cz_err *run(const cz_args *args, const cz_loaded_config *lc) {
  const cz_config *cfg = &lc->cfg;
  char *dir = NULL;
  cz_err *err = cz_rundir_create(cfg->hydra_run_dir.v, &dir);
  if (err) return err;
  err = cz_rundir_write_hydra(dir, lc->composed, args->overrides, args->n_overrides);
  char *log_path = cz_asprintf("%s/stm32ai_main.log", dir);
  if (!err) err = cz_log_open_file(log_path);
  free(log_path);
  if (err) {
    free(dir);
    return err;
  }
  cz_mode mode = (cz_mode)cfg->operation_mode.v;
  cz_info("czoo %s, config %s", CZOO_VERSION, args->config_file);
  cz_info("operation_mode: %s", cz_mode_names[mode]);
  cz_strbuf plan;
  cz_sb_init(&plan);
  for (const char *const *step = cz_mode_plan(mode); *step; step++)
    cz_sb_printf(&plan, "%s%s", plan.len ? " -> " : "", *step);
  cz_info("steps: %s", plan.data);
  cz_sb_free(&plan);
  cz_info("run directory: %s", dir);
  cz_svc_ctx ctx = {.cfg = cfg, .run_dir = dir,
                    .model_path = cfg->model.model_path.set ? cz_xstrdup(cfg->model.model_path.v)
                                                            : NULL};
  err = cz_run_mode(&ctx, mode);
  if (!err) cz_info("operation finished: %s", cz_mode_names[mode]);
  free(ctx.model_path);
  free(dir);
  return err;
}

int main(int argc, char **argv) {
  time_t start = time(NULL);
  set_log_level_from_env();
  if (argc > 1 && strcmp(argv[1], "models") == 0) {
    cz_err *e = cz_cmd_models(argc - 1, argv + 1);
    return e ? fail(e) : 0;
  }
  if (argc > 1 && strcmp(argv[1], "info") == 0) {
    cz_err *e = cz_cmd_info(argc - 1, argv + 1);
    return e ? fail(e) : 0;
  }
  cz_args args;
  cz_err *err = cz_args_parse(argc, argv, &args);
  if (err) return fail(err);
  if (args.help || args.version) {
    if (args.help) fputs(cz_args_usage(), stdout);
    else printf("czoo %s\n", CZOO_VERSION);
    cz_args_free(&args);
    return 0;
  }
  cz_loaded_config lc;
  err = cz_config_load(args.config_file, args.overrides, args.n_overrides, start, &lc);
  if (err) {
    cz_args_free(&args);
    return fail(err);
  }
  if (args.print_cfg) {
    char *text = cz_config_to_yaml(&lc.cfg);
    fputs(text, stdout);
    free(text);
  } else {
    err = run(&args, &lc);
  }
  cz_loaded_config_free(&lc);
  cz_args_free(&args);
  if (err) return fail(err);
  cz_log_close_file();
  return 0;
}
