/* Opens the model a service runs (see model_open.h). */
#include "services/model_open.h"

#include <stdlib.h>
#include <string.h>

#include "graph/graph_dict.h"
#include "graph/pass_fold_bn.h"
#include "graph/pass_fuse_act.h"
#include "io/weights_file.h"
#include "onnx/onnx_import.h"
#include "util/log.h"
#include "util/mem.h"
#include "zoo/zoo.h"
#include "zoo/zoo_pretrained.h"

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static const char *const kTorchExt[] = {".pth.tar", ".pth", ".pt", ".safetensors"};

/* The file name without its folder and its (known) extension. */
static char *file_stem(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char *s = cz_xstrdup(base);
  size_t n = strlen(s);
  if (ends_with(s, ".onnx")) s[n - 5] = 0;
  else
    for (size_t i = 0; i < sizeof kTorchExt / sizeof *kTorchExt; i++)
      if (ends_with(s, kTorchExt[i])) {
        s[n - strlen(kTorchExt[i])] = 0;
        break;
      }
  return s;
}

static bool is_torch_weights(const char *path) {
  for (size_t i = 0; i < sizeof kTorchExt / sizeof *kTorchExt; i++)
    if (ends_with(path, kTorchExt[i])) return true;
  return false;
}

/* A model to evaluate must be complete: every tensor of the file fits
 * the model and every model tensor comes from the file (a classifier for
 * another class count is an error here, not a random one). */
static cz_err *load_strict(cz_graph *g, const char *path) {
  cz_tensor_dict *d = NULL;
  cz_err *err = cz_weights_read(path, &d);
  if (err) return err;
  cz_load_report r = {0};
  err = cz_graph_load_dict(g, d, true, path, &r);
  if (!err) cz_info("weights %s: loaded %d/%d tensors", path, r.loaded, r.total);
  cz_load_report_free(&r);
  cz_tdict_free(d);
  return err;
}

static cz_err *open_zoo(const cz_config *cfg, const char *path, int num_classes, cz_graph **g) {
  const cz_cfg_model *m = &cfg->model;
  if (!m->model_name.set)
    return cz_err_new(CZ_EXIT_USAGE, "model.model_name: not set: expected the zoo model the "
                      "weights %s belong to", path ? path : "(none)");
  const cz_zoo_entry *e = cz_zoo_find(m->model_name.v);
  if (!e) return cz_zoo_build(m->model_name.v, &(cz_zoo_opts){0}, g); /* "did you mean" */
  cz_zoo_opts o = cz_zoo_default_opts(e);
  if (m->input_shape.set && m->input_shape.n == 3) {
    o.channels = (int)m->input_shape.v[0];
    o.height = (int)m->input_shape.v[1];
    o.width = (int)m->input_shape.v[2];
  }
  if (num_classes > 0) o.num_classes = num_classes;
  else if (cfg->dataset.num_classes.set) o.num_classes = (int)cfg->dataset.num_classes.v;
  cz_err *err = cz_zoo_build(e->name, &o, g);
  if (err) return err;
  if (path) err = load_strict(*g, path);
  else err = cz_zoo_apply_config_weights(*g, e, cfg);
  if (err) {
    cz_graph_free(*g);
    *g = NULL;
  }
  return err;
}

bool cz_model_is_qdq(const cz_graph *g) { return cz_graph_is_quantized(g); }

static cz_err *model_open(const cz_config *cfg, const char *path, bool quantized,
                          int num_classes, bool fuse, cz_model *out) {
  memset(out, 0, sizeof *out);
  cz_graph *g = NULL;
  cz_err *err;
  if (path && ends_with(path, ".onnx")) {
    err = cz_onnx_import(path, &g);
  } else if (!path && !(cfg->model.pretrained.set && cfg->model.pretrained.v)) {
    return cz_err_new(CZ_EXIT_USAGE, "model.model_path: not set, and model.pretrained is "
                      "False: expected weights to run (%s would have random weights)",
                      cfg->model.model_name.set ? cfg->model.model_name.v : "the model");
  } else if (!path || is_torch_weights(path)) {
    err = open_zoo(cfg, path, num_classes, &g);
  } else {
    return cz_err_new(CZ_EXIT_USAGE, "%s: unknown model file type: expected .onnx, or .pt, "
                      ".pth, .pth.tar or .safetensors weights with model.model_name", path);
  }
  if (err) return err;
  cz_graph_set_training(g, false);
  /* A QDQ model runs as it is on the int8 engine (infer.c lowers it); the
   * float rewrites are for float graphs only. */
  const bool qdq = cz_model_is_qdq(g);
  if (!err && !qdq) err = cz_pass_fold_bn(g, NULL);
  if (!err && !qdq && fuse) err = cz_pass_fuse_act(g, NULL); /* Conv + ReLU6 in one kernel pass */
  if (!err && (g->n_inputs != 1 || g->n_outputs < 1))
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: expected one input and an output, found %d inputs "
                     "and %d outputs", path ? path : cfg->model.model_name.v, g->n_inputs,
                     g->n_outputs);
  if (!err) err = cz_graph_set_batch(g, 1);
  if (err) {
    cz_graph_free(g);
    return err;
  }
  const cz_value *in = &g->values[g->inputs[0]], *lo = &g->values[g->outputs[0]];
  const char *what = path ? path : cfg->model.model_name.v;
  if (in->shape.rank != 4 || in->dtype != CZ_F32)
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: input '%s' has rank %d: expected a float "
                     "[batch, C, H, W] image input", what, in->name, in->shape.rank);
  else if (lo->shape.rank != 2)
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: output '%s' has rank %d: expected logits "
                     "[batch, classes]", what, lo->name, lo->shape.rank);
  else if (num_classes > 0 && lo->shape.d[1] != num_classes)
    err = cz_err_new(CZ_EXIT_USAGE, "%s: the model has %lld outputs but the dataset has %d "
                     "classes: expected them to agree", what, (long long)lo->shape.d[1],
                     num_classes);
  if (err) {
    cz_graph_free(g);
    return err;
  }
  out->g = g;
  out->stem = path ? file_stem(path) : cz_xstrdup(cfg->model.model_name.v);
  out->quantized = quantized || qdq;
  out->c = (int)in->shape.d[1];
  out->h = (int)in->shape.d[2];
  out->w = (int)in->shape.d[3];
  out->num_classes = (int)lo->shape.d[1];
  return NULL;
}

cz_err *cz_model_open(const cz_config *cfg, const char *path, bool quantized, int num_classes,
                      cz_model *out) {
  return model_open(cfg, path, quantized, num_classes, true, out);
}

cz_err *cz_model_open_plain(const cz_config *cfg, const char *path, int num_classes,
                            cz_model *out) {
  return model_open(cfg, path, false, num_classes, false, out);
}

void cz_model_close(cz_model *m) {
  cz_graph_free(m->g);
  free(m->stem);
  memset(m, 0, sizeof *m);
}

const char *cz_model_kind(const cz_model *m) { return m->quantized ? "quantized" : "float"; }
