/* `czoo models [NAME] [--input-shape C,H,W] [--num-classes N] [-c FILE ...]`:
 * lists the zoo (name, source, reference name, parameters, MACC) or prints
 * one model's layer table, at the input shape and class count given on the
 * command line, else the config's (when a config is named), else the
 * model's defaults. */
#include "cli/cmd_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "config/cfg_load.h"
#include "graph/graph_summary.h"
#include "util/mem.h"
#include "zoo/zoo.h"

typedef struct {
  const char *name;
  int c, h, w; /* 0: not given */
  int classes;
} models_req;

static cz_err *parse_shape(const char *s, models_req *r) {
  int c, h, w;
  char tail;
  const char *p = s + (s[0] == '[');
  if (sscanf(p, "%d,%d,%d%c", &c, &h, &w, &tail) < 3 && sscanf(p, "%dx%dx%d%c", &c, &h, &w, &tail) < 3)
    return cz_err_new(CZ_EXIT_USAGE, "command line: --input-shape '%s': expected C,H,W (e.g. 3,224,224)", s);
  r->c = c, r->h = h, r->w = w;
  return NULL;
}

static bool takes_value(const char *a) {
  static const char *const opts[] = {"-c", "--config", "-cp", "--config-path", "-cn",
                                     "--config-name", NULL};
  for (int i = 0; opts[i]; i++)
    if (strcmp(a, opts[i]) == 0) return true;
  return false;
}

/* Our own options and the model name; everything else (config options and
 * overrides) goes to `rest` for the config loader, and sets *cfg. */
static cz_err *parse(int argc, char **argv, models_req *r, char **rest, int *n_rest, bool *cfg) {
  rest[(*n_rest)++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool shape = strcmp(a, "--input-shape") == 0, classes = strcmp(a, "--num-classes") == 0;
    if (shape || classes || takes_value(a)) {
      if (i + 1 >= argc) return cz_err_new(CZ_EXIT_USAGE, "command line: %s needs a value", a);
      const char *v = argv[++i];
      if (shape) {
        cz_err *e = parse_shape(v, r);
        if (e) return e;
      } else if (classes) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 1000000)
          return cz_err_new(CZ_EXIT_USAGE,
                            "command line: --num-classes '%s': expected 1 to 1000000", v);
        r->classes = (int)n;
      } else {
        rest[(*n_rest)++] = argv[i - 1];
        rest[(*n_rest)++] = argv[i];
        *cfg = true;
      }
    } else if (a[0] == '-' || strchr(a, '=')) {
      rest[(*n_rest)++] = argv[i];
      *cfg = true;
    } else if (r->name) {
      return cz_err_new(CZ_EXIT_USAGE, "command line: '%s': give one model name (already '%s')",
                        a, r->name);
    } else {
      r->name = a;
    }
  }
  return NULL;
}

/* Fills the request's unset parts from the config. */
static cz_err *from_config(int n_rest, char **rest, models_req *r) {
  cz_args args;
  cz_err *err = cz_args_parse(n_rest, rest, &args);
  if (err) return err;
  cz_loaded_config lc;
  err = cz_config_load(args.config_file, args.overrides, args.n_overrides, time(NULL), &lc);
  cz_args_free(&args);
  if (err) return err;
  const cz_config *cfg = &lc.cfg;
  if (!r->c && cfg->model.input_shape.set && cfg->model.input_shape.n == 3) {
    r->c = (int)cfg->model.input_shape.v[0];
    r->h = (int)cfg->model.input_shape.v[1];
    r->w = (int)cfg->model.input_shape.v[2];
  }
  if (!r->classes && cfg->dataset.num_classes.set) r->classes = (int)cfg->dataset.num_classes.v;
  cz_loaded_config_free(&lc);
  return NULL;
}

static cz_err *build(const cz_zoo_entry *e, const models_req *r, cz_graph **g) {
  cz_zoo_opts o = cz_zoo_default_opts(e);
  if (r->c) o.channels = r->c, o.height = r->h, o.width = r->w;
  if (r->classes) o.num_classes = r->classes;
  return cz_zoo_build(e->name, &o, g);
}

static cz_err *list(const models_req *r) {
  printf("%-28s %-12s %-50s %-11s %10s %10s\n", "model", "source", "reference", "input",
         "params", "MACC");
  for (int i = 0; i < cz_zoo_count(); i++) {
    const cz_zoo_entry *e = cz_zoo_at(i);
    cz_graph *g;
    cz_err *err = build(e, r, &g);
    char shape[48];
    snprintf(shape, sizeof shape, "%dx%dx%d", r->c ? r->c : e->default_c,
             r->c ? r->h : e->default_h, r->c ? r->w : e->default_w);
    if (err) {
      printf("%-28s %-12s %-50s %-11s %s\n", e->name, e->source, e->reference, shape,
             cz_err_msg(err));
      cz_err_free(err);
      continue;
    }
    printf("%-28s %-12s %-50s %-11s %10lld %9.1fM\n", e->name, e->source, e->reference, shape,
           (long long)cz_graph_param_count(g), (double)cz_graph_macc(g) / 1e6);
    cz_graph_free(g);
  }
  printf("%d models; parameters at %d classes, MACC per image\n", cz_zoo_count(),
         r->classes ? r->classes : 1000);
  return NULL;
}

static cz_err *show(const models_req *r) {
  const cz_zoo_entry *e = cz_zoo_find(r->name);
  cz_graph *g;
  if (!e) return cz_zoo_build(r->name, &(cz_zoo_opts){0}, &g); /* the "did you mean" error */
  cz_err *err = build(e, r, &g);
  if (err) return err;
  printf("%s (%s's %s)\n", e->name, e->source, e->reference);
  char *t = cz_graph_summary(g);
  fputs(t, stdout);
  free(t);
  cz_graph_free(g);
  return NULL;
}

cz_err *cz_cmd_models(int argc, char **argv) {
  models_req r = {0};
  char **rest = cz_xcalloc((size_t)argc + 1, sizeof *rest);
  int n_rest = 0;
  bool cfg = false;
  cz_err *err = parse(argc, argv, &r, rest, &n_rest, &cfg);
  if (!err && cfg) err = from_config(n_rest, rest, &r);
  free(rest);
  if (err) return err;
  return r.name ? show(&r) : list(&r);
}
