/* Cross-key validation and derived defaults for the typed config. */
#include "config/cfg_validate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/cfg_schema.h"
#include "config/cfg_value.h"
#include "util/mem.h"

static const char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

unsigned cz_mode_steps(cz_mode mode) {
  switch (mode) {
    case CZ_MODE_TRAINING: return CZ_STEP_TRAIN;
    case CZ_MODE_EVALUATION: return CZ_STEP_EVAL;
    case CZ_MODE_QUANTIZATION: return CZ_STEP_QUANT;
    case CZ_MODE_PREDICTION: return CZ_STEP_PREDICT;
    case CZ_MODE_BENCHMARKING: return CZ_STEP_BENCH;
    case CZ_MODE_DEPLOYMENT: return CZ_STEP_DEPLOY;
    case CZ_MODE_CHAIN_TQEB: return CZ_STEP_TRAIN | CZ_STEP_QUANT | CZ_STEP_EVAL | CZ_STEP_BENCH;
    case CZ_MODE_CHAIN_TQE: return CZ_STEP_TRAIN | CZ_STEP_QUANT | CZ_STEP_EVAL;
    case CZ_MODE_CHAIN_EQE: return CZ_STEP_EVAL | CZ_STEP_QUANT;
    case CZ_MODE_CHAIN_QB: return CZ_STEP_QUANT | CZ_STEP_BENCH;
    case CZ_MODE_CHAIN_EQEB: return CZ_STEP_EVAL | CZ_STEP_QUANT | CZ_STEP_BENCH;
    case CZ_MODE_CHAIN_QD: return CZ_STEP_QUANT | CZ_STEP_DEPLOY;
    case CZ_MODE_COUNT: break;
  }
  return 0;
}

typedef struct {
  cz_config *cfg;
  const cz_ynode *root;
  const char *file;
  const char *mode;
} vctx;

/* The node the user wrote for path (or its alias), for line numbers. */
static const cz_ynode *node_at(const cz_ynode *root, const char *path) {
  const cz_ynode *n = cz_ynode_at(root, path);
  const cz_key *k = n ? NULL : cz_schema_find(path, NULL);
  return k && k->alias && strcmp(k->alias, path) != 0 ? cz_ynode_at(root, k->alias) : n;
}

static cz_err *missing(vctx *v, const char *path, const char *what) {
  return cz_err_new(CZ_EXIT_USAGE, "%s: %s: missing; operation_mode '%s' needs %s", v->file,
                    path, v->mode, what);
}

/* "file:line:col: path = value: why" for a value the user gave. */
static cz_err *bad(vctx *v, const char *path, const char *why) {
  const cz_ynode *n = node_at(v->root, path);
  if (!n) return cz_err_new(CZ_EXIT_USAGE, "%s: %s: %s", v->file, path, why);
  return cz_value_error(n, path, "%s", why);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

enum { WANT_FILE, WANT_DIR, WANT_ANY };

static cz_err *check_path(vctx *v, const char *path, const cz_cstr *value, int want) {
  if (!value->set) return NULL;
  struct stat st;
  if (stat(value->v, &st) != 0) {
    char *why = cz_asprintf("%s (expected an existing %s)", strerror(errno),
                            want == WANT_DIR ? "directory" : want == WANT_FILE ? "file" : "file or directory");
    cz_err *e = bad(v, path, why);
    free(why);
    return e;
  }
  if (want == WANT_FILE && S_ISDIR(st.st_mode)) return bad(v, path, "is a directory; expected a file");
  if (want == WANT_DIR && !S_ISDIR(st.st_mode)) return bad(v, path, "is not a directory; expected a directory");
  return NULL;
}

static bool has_class_names(const cz_config *c) {
  return c->dataset.class_names.set || c->dataset.classes_file_path.set;
}

static bool has_dataset(const cz_config *c) {
  const cz_cfg_dataset *d = &c->dataset;
  return d->training_path.set || d->validation_path.set || d->test_path.set || d->data_dir.set;
}

static cz_err *check_model(vctx *v, unsigned steps) {
  cz_cfg_model *m = &v->cfg->model;
  if (!m->model_name.set && !m->model_path.set) {
    return missing(v, "model.model_name", steps & CZ_STEP_TRAIN
                   ? "a model: set model.model_name (a zoo model) or model.model_path"
                   : "a model: set model.model_path (.onnx, .pt, .pth, .pth.tar) or model.model_name");
  }
  if (m->model_path.set) {
    const char *p = m->model_path.v;
    bool torch = ends_with(p, ".pt") || ends_with(p, ".pth") || ends_with(p, ".pth.tar");
    if (ends_with(p, ".h5") || ends_with(p, ".keras") || ends_with(p, ".tflite"))
      return bad(v, "model.model_path", "TensorFlow/Keras models are not supported; expected an "
                 ".onnx, .pt, .pth or .pth.tar file");
    if (!torch && !ends_with(p, ".onnx"))
      return bad(v, "model.model_path", "expected an .onnx, .pt, .pth or .pth.tar file");
    cz_err *e = check_path(v, "model.model_path", &m->model_path, WANT_FILE);
    if (e) return e;
    if (torch && !m->model_name.set)
      return missing(v, "model.model_name", "it with a PyTorch weights file (model.model_path), "
                     "to know which architecture the weights belong to");
  }
  if (m->model_name.set && !m->input_shape.set && (!m->model_path.set || !ends_with(m->model_path.v, ".onnx")))
    return missing(v, "model.input_shape", "it with model.model_name, e.g. [3, 224, 224]");
  return check_path(v, "model.pretrained_path", &m->pretrained_path, WANT_FILE);
}

static cz_err *check_dataset(vctx *v, unsigned steps) {
  cz_config *c = v->cfg;
  cz_cfg_dataset *d = &c->dataset;
  if (d->data_download.set && d->data_download.v)
    return bad(v, "dataset.data_download", "czoo never downloads at run time; expected false, "
               "with the data already under dataset.data_dir");
  if (!d->dataset_name.set && (d->training_path.set || d->validation_path.set || d->test_path.set))
    d->dataset_name = (cz_cenum){true, CZ_DS_CUSTOM};
  if (d->dataset_name.set && d->dataset_name.v == CZ_DS_FASHION_MNIST && !d->data_dir.set)
    d->data_dir = (cz_cstr){true, cz_xstrdup(kFashionMnistDir)};
  if (!d->seed.set) d->seed = c->general.seed;
  if (!c->prediction.seed.set) c->prediction.seed = c->general.seed;

  static const struct { const char *path; size_t off; int want; } paths[] = {
      {"dataset.classes_file_path", offsetof(cz_cfg_dataset, classes_file_path), WANT_FILE},
      {"dataset.data_dir", offsetof(cz_cfg_dataset, data_dir), WANT_DIR},
      {"dataset.training_path", offsetof(cz_cfg_dataset, training_path), WANT_DIR},
      {"dataset.validation_path", offsetof(cz_cfg_dataset, validation_path), WANT_DIR},
      {"dataset.test_path", offsetof(cz_cfg_dataset, test_path), WANT_DIR},
      {"dataset.quantization_path", offsetof(cz_cfg_dataset, quantization_path), WANT_DIR},
      {"dataset.prediction_path", offsetof(cz_cfg_dataset, prediction_path), WANT_ANY},
  };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    cz_err *e = check_path(v, paths[i].path, (const cz_cstr *)((char *)d + paths[i].off), paths[i].want);
    if (e) return e;
  }
  if (d->num_classes.set && d->class_names.set && (size_t)d->num_classes.v != d->class_names.n) {
    char *why = cz_asprintf("expected %zu, the number of names in dataset.class_names",
                            d->class_names.n);
    cz_err *e = bad(v, "dataset.num_classes", why);
    free(why);
    return e;
  }
  if ((steps & CZ_STEP_TRAIN) && !d->training_path.set && !d->data_dir.set)
    return missing(v, "dataset.training_path",
                   "training data: set dataset.training_path, or dataset.data_dir with dataset.dataset_name");
  if ((steps & CZ_STEP_EVAL) && !has_dataset(c))
    return missing(v, "dataset.test_path", "evaluation data: set dataset.test_path, "
                   "dataset.validation_path, dataset.training_path or dataset.data_dir");
  if (steps & CZ_STEP_PREDICT) {
    if (!d->prediction_path.set)
      return missing(v, "dataset.prediction_path", "the images to predict (a folder or one image)");
    if (!has_class_names(c) && !has_dataset(c))
      return missing(v, "dataset.class_names", "class names to label predictions: set "
                     "dataset.class_names or dataset.classes_file_path");
  }
  if ((steps & CZ_STEP_DEPLOY) && !has_class_names(c))
    return missing(v, "dataset.class_names", "class names for the board application: set "
                   "dataset.class_names or dataset.classes_file_path");
  return NULL;
}

static cz_err *check_preprocessing(vctx *v) {
  cz_config *c = v->cfg;
  cz_cfg_preprocessing *p = &c->preprocessing;
  if (!c->model.input_shape.set) return NULL;
  int64_t ch = c->model.input_shape.v[0];
  int expect_ch = p->color_mode.v == CZ_COLOR_GRAYSCALE ? 1 : p->color_mode.v == CZ_COLOR_RGB ? 3 : 4;
  if (ch != expect_ch) {
    char *why = cz_asprintf("model.input_shape has %lld channel%s; expected %s", (long long)ch,
                            ch == 1 ? "" : "s", ch == 1 ? "grayscale" : ch == 3 ? "rgb" : ch == 4 ? "rgba"
                            : "1 (grayscale), 3 (rgb) or 4 (rgba) channels in model.input_shape");
    cz_err *e = bad(v, "preprocessing.color_mode", why);
    free(why);
    return e;
  }
  const char *names[2] = {"preprocessing.mean", "preprocessing.std"};
  const cz_cfloats *lists[2] = {&p->mean, &p->std};
  for (int i = 0; i < 2; i++) {
    if (lists[i]->n == 1 || (int64_t)lists[i]->n == ch) continue;
    char *why = cz_asprintf("has %zu values but model.input_shape has %lld channel%s; expected 1 or %lld values",
                            lists[i]->n, (long long)ch, ch == 1 ? "" : "s", (long long)ch);
    cz_err *e = bad(v, names[i], why);
    free(why);
    return e;
  }
  for (size_t i = 0; i < p->std.n; i++)
    if (p->std.v[i] == 0) return bad(v, "preprocessing.std", "expected only non-zero values");
  return NULL;
}

cz_err *cz_config_validate(cz_config *cfg, const cz_ynode *root, const char *file) {
  if (!cfg->operation_mode.set) {
    return cz_err_new(CZ_EXIT_USAGE, "%s: operation_mode: missing; expected one of training, "
                      "evaluation, quantization, prediction, benchmarking, deployment, chain_tqeb, "
                      "chain_tqe, chain_eqe, chain_qb, chain_eqeb, chain_qd", file);
  }
  vctx v = {cfg, root, file, cz_mode_names[cfg->operation_mode.v]};
  unsigned steps = cz_mode_steps((cz_mode)cfg->operation_mode.v);
  cz_cfg_training *t = &cfg->training;
  if (steps & CZ_STEP_TRAIN) {
    if (!t->batch_size.set) return missing(&v, "training.batch_size", "it (images per training step)");
    if (!t->epochs.set) return missing(&v, "training.epochs", "it (number of passes over the training data)");
  }
  if (t->batch_size.set && !t->validation_batch_size.set) t->validation_batch_size = t->batch_size;
  cz_err *e = check_model(&v, steps);
  if (!e) e = check_dataset(&v, steps);
  if (!e) e = check_preprocessing(&v);
  if (e) return e;
  /* onnxruntime runs SmoothQuant through Intel Neural Compressor; czoo has
   * no SmoothQuant: refused before anything runs rather than ignored. */
  const cz_cbool *sq = &cfg->quantization.onnx_extra_options.smooth_quant;
  if ((steps & CZ_STEP_QUANT) && sq->set && sq->v)
    return bad(&v, "quantization.onnx_extra_options.SmoothQuant",
               "SmoothQuant is not supported by czoo (expected False)");
  if ((steps & CZ_STEP_BENCH) && !cfg->benchmarking_board.set)
    return missing(&v, "benchmarking.board", "the STM32 board to benchmark for, e.g. STM32H747I-DISCO");
  if ((steps & CZ_STEP_DEPLOY) && !cfg->deployment.hardware_setup.board.set)
    return missing(&v, "deployment.hardware_setup.board", "the STM32 board to deploy to");
  return NULL;
}
