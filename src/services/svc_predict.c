/* The prediction service (operation_mode 'prediction'): every image of
 * dataset.prediction_path (a folder, not recursive, or one file; .png .jpg
 * .jpeg as the reference's PredictionDataset takes, in name order) through
 * the eval transform and the model; the top-k classes with softmax
 * probabilities (the tool we replace prints 100 x the raw logit) as a
 * table on the console and in predictions.csv, and an annotated copy of
 * each image in <run>/predictions/ (pred_annotate.c). A file that cannot be read
 * is reported on its own line and row; no image at all is an error. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "data/ds_sample.h"
#include "data/tf.h"
#include "io/img.h"
#include "services/eval_metrics.h"
#include "services/eval_report.h"
#include "services/infer.h"
#include "services/model_open.h"
#include "services/pred_annotate.h"
#include "services/svc.h"
#include "util/atomic_file.h"
#include "util/log.h"
#include "util/mem.h"

enum { TOP_K = 5, PRED_BATCH = 16 };

static bool is_pred_image(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The image files to predict, sorted by name (the reference uses
 * os.listdir's arbitrary order). */
static cz_err *list_images(const char *root, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  struct stat st;
  if (stat(root, &st) != 0)
    return cz_err_new(CZ_EXIT_USAGE, "dataset.prediction_path = '%s': not found", root);
  if (!S_ISDIR(st.st_mode)) {
    *out = cz_xmalloc(sizeof **out);
    (*out)[0] = cz_xstrdup(root);
    *n = 1;
    return NULL;
  }
  DIR *d = opendir(root);
  if (!d) return cz_err_new(CZ_EXIT_RUNTIME, "dataset.prediction_path = '%s': cannot open the folder", root);
  size_t cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!is_pred_image(e->d_name)) continue;
    char *p = cz_asprintf("%s/%s", root, e->d_name);
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(p);
      continue;
    }
    if (*n == cap) *out = realloc(*out, (cap = cap ? 2 * cap : 16) * sizeof **out);
    if (!*out) abort();
    (*out)[(*n)++] = p;
  }
  closedir(d);
  if (*n == 0)
    return cz_err_new(CZ_EXIT_USAGE, "dataset.prediction_path = '%s': no image in the folder: "
                      "expected .png, .jpg or .jpeg files", root);
  qsort(*out, *n, sizeof **out, cmp_str);
  return NULL;
}

typedef struct {
  char **files;
  size_t n;
  char **err;      /* per file: the reason it could not be read, or NULL */
  float *logits;   /* n x classes */
} pred_results;

static cz_err *predict_all(const cz_config *cfg, cz_model *m, pred_results *r) {
  cz_tf_eval tf;
  bool use_resizing = cfg->preprocessing.resize_mode.set &&
                      cfg->preprocessing.resize_mode.v == CZ_RESIZE_CONFIG;
  /* An ONNX model brings its own input shape; the config may omit it. */
  cz_config local = *cfg;
  int64_t shape[3] = {m->c, m->h, m->w};
  if (!local.model.input_shape.set) local.model.input_shape = (cz_cints){true, 3, shape};
  cz_err *err = cz_tf_eval_init(&local, use_resizing, &tf);
  if (err) return err;
  if (tf.c != m->c || tf.h != m->h || tf.w != m->w)
    return cz_err_new(CZ_EXIT_USAGE, "model.input_shape = [%d, %d, %d], but the model takes "
                      "[%d, %d, %d]: expected them to agree", tf.c, tf.h, tf.w, m->c, m->h, m->w);
  cz_infer *inf = NULL;
  if ((err = cz_infer_new(m->g, PRED_BATCH, &inf))) return err;
  size_t img_floats = (size_t)m->c * m->h * m->w;
  float *x = cz_xmalloc(PRED_BATCH * img_floats * sizeof(float));
  size_t *rows = cz_xmalloc(PRED_BATCH * sizeof *rows);
  r->logits = cz_xcalloc(r->n * (size_t)m->num_classes, sizeof(float));
  r->err = cz_xcalloc(r->n, sizeof *r->err);
  int min_side = cz_ds_eval_min_side(&tf);
  size_t fill = 0;
  for (size_t i = 0; i <= r->n; i++) {
    if (i < r->n) {
      cz_image img = {0};
      cz_err *e = cz_image_load(r->files[i], tf.c, min_side, min_side, &img);
      if (!e) e = cz_tf_eval_apply(&tf, &img, x + fill * img_floats);
      cz_image_free(&img);
      if (e) {
        r->err[i] = cz_xstrdup(cz_err_msg(e));
        cz_warn("%s: cannot predict: %s", r->files[i], cz_err_msg(e));
        cz_err_free(e);
      } else {
        rows[fill++] = i;
      }
    }
    if (fill == PRED_BATCH || (i == r->n && fill > 0)) {
      float *out = cz_xmalloc(fill * (size_t)m->num_classes * sizeof(float));
      cz_infer_run(inf, x, (int64_t)fill, out);
      for (size_t j = 0; j < fill; j++)
        memcpy(r->logits + rows[j] * m->num_classes, out + j * m->num_classes,
               (size_t)m->num_classes * sizeof(float));
      free(out);
      fill = 0;
    }
  }
  free(x), free(rows);
  cz_infer_free(inf);
  return NULL;
}

/* The k best classes of one row, best first (lower index first on ties). */
static void top_k(const double *p, int classes, int k, int *idx) {
  for (int t = 0; t < k; t++) {
    int best = -1;
    for (int c = 0; c < classes; c++) {
      bool used = false;
      for (int u = 0; u < t; u++) used |= idx[u] == c;
      if (!used && (best < 0 || p[c] > p[best])) best = c;
    }
    idx[t] = best;
  }
}

static cz_err *report(const cz_svc_ctx *ctx, const cz_model *m, char *const *names,
                      const pred_results *r) {
  int k = m->num_classes < TOP_K ? m->num_classes : TOP_K;
  char *path = cz_asprintf("%s/predictions.csv", ctx->run_dir);
  cz_afile *af = NULL;
  cz_err *err = cz_afile_open(path, &af);
  if (err) {
    free(path);
    return err;
  }
  FILE *f = cz_afile_stream(af);
  fputs("file", f);
  for (int t = 1; t <= k; t++) fprintf(f, ",class_%d,probability_%d", t, t);
  fputs(",error\n", f);
  double *p = cz_xmalloc((size_t)m->num_classes * sizeof *p);
  int idx[TOP_K];
  cz_info("Predictions of the %s model %s (softmax probabilities, top %d):", cz_model_kind(m),
          m->stem, k);
  size_t ok = 0;
  for (size_t i = 0; i < r->n; i++) {
    cz_csv_field(f, r->files[i]);
    if (r->err[i]) {
      for (int t = 0; t < k; t++) fputs(",,", f);
      fputc(',', f);
      cz_csv_field(f, r->err[i]);
      fputc('\n', f);
      cz_info("  %-40s  (unreadable)", r->files[i]);
      continue;
    }
    ok++;
    cz_softmax(r->logits + i * m->num_classes, m->num_classes, p);
    top_k(p, m->num_classes, k, idx);
    char line[1024];
    int len = 0;
    for (int t = 0; t < k; t++) {
      fputc(',', f);
      cz_csv_field(f, names[idx[t]]);
      fprintf(f, ",%.6f", p[idx[t]]);
      if (len < (int)sizeof line - 64)
        len += snprintf(line + len, sizeof line - (size_t)len, "  %s %.2f %%",
                        names[idx[t]], 100 * p[idx[t]]);
    }
    fputs(",\n", f);
    cz_info("  %-40s%s", r->files[i], line);
    cz_err *e = cz_pred_annotate(ctx->run_dir, r->files[i], names[idx[0]], p[idx[0]]);
    if (e) {
      cz_warn("%s: no annotated copy: %s", r->files[i], cz_err_msg(e));
      cz_err_free(e);
    }
  }
  free(p);
  err = cz_afile_commit(af);
  if (!err) cz_info("%zu of %zu images predicted; table in %s", ok, r->n, path);
  free(path);
  if (!err && ok == 0)
    err = cz_err_new(CZ_EXIT_RUNTIME, "dataset.prediction_path = '%s': none of the %zu images "
                     "could be read", ctx->cfg->dataset.prediction_path.v, r->n);
  return err;
}

cz_err *cz_svc_predict(cz_svc_ctx *ctx) {
  const cz_config *cfg = ctx->cfg;
  cz_ds_set ds = {0};
  cz_model m = {0};
  pred_results r = {0};
  cz_err *err = list_images(cfg->dataset.prediction_path.v, &r.files, &r.n);
  if (!err) err = cz_ds_load(&cfg->dataset, &ds);
  if (!err) err = cz_model_open(cfg, ctx->model_path, ctx->quantized, (int)ds.num_classes, &m);
  if (!err) err = predict_all(cfg, &m, &r);
  if (!err) err = report(ctx, &m, ds.class_names, &r);
  if (!err) cz_info("Prediction complete.");
  for (size_t i = 0; i < r.n; i++) {
    free(r.files[i]);
    if (r.err) free(r.err[i]);
  }
  free(r.files), free(r.err), free(r.logits);
  cz_model_close(&m);
  cz_ds_set_free(&ds);
  return err;
}
