/* Command-line parsing with Hydra's option names (hydra.cc, "Command line
 * flags"): --config-path/-cp, --config-name/-cn, --cfg; plus -c FILE. */
#include "cli/args.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

const char *cz_args_usage(void) {
  return "usage: czoo [--config-path DIR] [--config-name NAME] [-c FILE] [--cfg job]\n"
         "            [key=value | +key=value | ++key=value | ~key ...]\n"
         "       czoo models [NAME] [--input-shape C,H,W] [--num-classes N] [-c FILE ...]\n"
         "       czoo info FILE\n"
         "\n"
         "Runs the image-classification service that the YAML config's operation_mode\n"
         "names (training, evaluation, quantization, prediction, benchmarking,\n"
         "deployment, or a chain_* of them), in a new run directory\n"
         "(hydra.run.dir, default experiments_outputs/<date_time>).\n"
         "\n"
         "  --config-path DIR, -cp DIR   folder of the config file (default .)\n"
         "  --config-name NAME, -cn NAME config file name (default user_config.yaml;\n"
         "                               .yaml is added when NAME has no extension)\n"
         "  -c FILE, --config FILE       the config file, instead of the two above\n"
         "  --cfg job                    print the resolved config (expressions\n"
         "                               evaluated, defaults filled) and exit\n"
         "  --help, -h                   this help\n"
         "  --version, -V                the czoo version\n"
         "\n"
         "Overrides change the config: training.epochs=5, +model.pretrained_path=w.pth\n"
         "(add a key the file lacks), ~dataset.test_path (remove a key),\n"
         "preprocessing.mean=[0.5,0.5,0.5]. Values are YAML.\n"
         "\n"
         "`czoo models` lists the model zoo (source, parameters, MACC) at the given or\n"
         "configured input shape; `czoo models NAME` prints that model's layers.\n"
         "`czoo info FILE` describes an ONNX model (inputs, outputs, opset, ops,\n"
         "parameters, MACC) or a checkpoint (.pth, .pth.tar, .pt, .safetensors).\n"
         "\n"
         "Exit status: 0 done, 1 the run failed, 2 bad command line or config\n"
         "(nothing was done), 3 the requested service is not built yet.\n";
}

static bool has_extension(const char *name) {
  const char *slash = strrchr(name, '/');
  const char *dot = strrchr(slash ? slash : name, '.');
  return dot && dot != (slash ? slash + 1 : name);
}

/* Value of an option given as "--opt VALUE" or "--opt=VALUE". */
static cz_err *option_value(int argc, char **argv, int *i, const char *opt, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(opt);
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return NULL;
  }
  if (*i + 1 >= argc)
    return cz_err_new(CZ_EXIT_USAGE, "command line: %s needs a value", opt);
  *value = argv[++*i];
  return NULL;
}

static bool is_opt(const char *arg, const char *opt) {
  size_t n = strlen(opt);
  return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

cz_err *cz_args_parse(int argc, char **argv, cz_args *out) {
  memset(out, 0, sizeof *out);
  const char *path = ".", *name = "user_config.yaml", *file = NULL;
  out->overrides = cz_xcalloc((size_t)argc, sizeof *out->overrides);
  cz_err *err = NULL;
  for (int i = 1; i < argc && !err; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      out->help = true;
    } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
      out->version = true;
    } else if (is_opt(a, "--config-path") || is_opt(a, "-cp")) {
      err = option_value(argc, argv, &i, is_opt(a, "-cp") ? "-cp" : "--config-path", &path);
    } else if (is_opt(a, "--config-name") || is_opt(a, "-cn")) {
      err = option_value(argc, argv, &i, is_opt(a, "-cn") ? "-cn" : "--config-name", &name);
    } else if (is_opt(a, "--config") || is_opt(a, "-c")) {
      err = option_value(argc, argv, &i, is_opt(a, "-c") ? "-c" : "--config", &file);
    } else if (is_opt(a, "--cfg")) {
      err = option_value(argc, argv, &i, "--cfg", &v);
      if (!err && strcmp(v, "job") != 0 && strcmp(v, "all") != 0)
        err = cz_err_new(CZ_EXIT_USAGE, "command line: --cfg %s: expected job or all", v);
      out->print_cfg = true;
    } else if (strcmp(a, "--resolve") == 0) {
      /* Hydra's flag to resolve interpolations in --cfg: czoo always does. */
    } else if (strcmp(a, "--multirun") == 0 || strcmp(a, "-m") == 0) {
      err = cz_err_new(CZ_EXIT_USAGE, "command line: %s: multirun sweeps are not supported; "
                       "run czoo once per setting", a);
    } else if (a[0] == '-' && a[1] != '\0') {
      err = cz_err_new(CZ_EXIT_USAGE, "command line: unknown option '%s' (see czoo --help)", a);
    } else {
      out->overrides[out->n_overrides++] = cz_xstrdup(a);
    }
  }
  if (err) {
    cz_args_free(out);
    return err;
  }
  if (file) {
    out->config_file = cz_xstrdup(file);
  } else {
    const char *ext = has_extension(name) ? "" : ".yaml";
    bool bare = name[0] == '/' || strcmp(path, ".") == 0;
    out->config_file = bare ? cz_asprintf("%s%s", name, ext) : cz_asprintf("%s/%s%s", path, name, ext);
  }
  return NULL;
}

void cz_args_free(cz_args *a) {
  for (size_t i = 0; i < a->n_overrides; i++) free(a->overrides[i]);
  free(a->overrides);
  free(a->config_file);
  memset(a, 0, sizeof *a);
}
