/* Building a zoo model by name: options, validation, graph setup and
 * weight initialization (zoo.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "util/mem.h"
#include "util/rng.h"
#include "zoo/zoo.h"
#include "zoo/zoo_init.h"

cz_zoo_opts cz_zoo_default_opts(const cz_zoo_entry *e) {
  return (cz_zoo_opts){.num_classes = 1000, .channels = e->default_c, .height = e->default_h,
                       .width = e->default_w, .drop_rate = -1.0f, .batch = 1};
}

/* Edit distance, for "did you mean". */
static int distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  int *row = cz_xmalloc((lb + 1) * sizeof *row);
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  int d = row[lb];
  free(row);
  return d;
}

static cz_err *unknown_model(const char *name) {
  const cz_zoo_entry *best = NULL;
  int bd = 1 << 30;
  for (int i = 0; i < cz_zoo_count(); i++) {
    int d = distance(name, cz_zoo_at(i)->name);
    if (d < bd) bd = d, best = cz_zoo_at(i);
  }
  if (best && bd <= (int)strlen(name) / 2)
    return cz_err_new(CZ_EXIT_USAGE,
                      "model.model_name = '%s': not a zoo model; did you mean '%s'? "
                      "(`czoo models` lists them)",
                      name, best->name);
  return cz_err_new(CZ_EXIT_USAGE,
                    "model.model_name = '%s': not a zoo model (`czoo models` lists them)", name);
}

/* Conv weights: normal(0, sqrt(2 / fan_out)) (He, fan_out: what torchvision
 * and timm use for these models); Linear weights normal(0, 0.01); biases
 * zero; BatchNorm keeps weight 1, bias 0, mean 0, var 1 from the builder.
 * One Philox stream per parameter, keyed by its index, so adding a model
 * never changes another model's initial weights. */
static void init_weights(cz_graph *g, uint64_t seed) {
  for (int ni = 0; ni < g->n_nodes; ni++) {
    const cz_node *n = &g->nodes[ni];
    bool conv = strcmp(n->op->name, "Conv") == 0, gemm = strcmp(n->op->name, "Gemm") == 0;
    if (!conv && !gemm) continue;
    cz_value *w = &g->values[n->in[1]];
    if (w->kind != CZ_V_PARAM) continue;
    int64_t k = cz_shape_numel(&w->shape);
    double sd = 0.01;
    if (conv) {
      int64_t fan_out = w->shape.d[0];
      for (int i = 2; i < w->shape.rank; i++) fan_out *= w->shape.d[i];
      sd = sqrt(2.0 / (double)fan_out);
    }
    cz_rng r = cz_rng_make(seed, cz_rng_stream(0x5a4f4f, (uint64_t)n->in[1], 0));
    float *d = w->data;
    for (int64_t i = 0; i < k; i++) d[i] = (float)(sd * cz_rng_normal(&r));
  }
}

static cz_err *check_opts(const cz_zoo_entry *e, const cz_zoo_opts *o) {
  if (o->num_classes < 1 || o->num_classes > 1000000)
    return cz_err_new(CZ_EXIT_USAGE, "dataset.num_classes = %d: expected 1 to 1000000 (model %s)",
                      o->num_classes, e->name);
  if (o->channels != 1 && o->channels != 3)
    return cz_err_new(CZ_EXIT_USAGE,
                      "model.input_shape channels = %d: expected 1 or 3 (model %s)", o->channels,
                      e->name);
  if (o->height < 8 || o->width < 8 || o->height > 4096 || o->width > 4096)
    return cz_err_new(CZ_EXIT_USAGE,
                      "model.input_shape = [%d, %d, %d]: expected heights and widths of 8 to "
                      "4096 (model %s)",
                      o->channels, o->height, o->width, e->name);
  if (o->drop_rate >= 1.0f || o->drop_path_rate < 0 || o->drop_path_rate >= 1.0f)
    return cz_err_new(CZ_EXIT_USAGE, "dropout %g / drop_path %g: expected values in [0, 1)",
                      (double)o->drop_rate, (double)o->drop_path_rate);
  return NULL;
}

cz_err *cz_zoo_build(const char *name, const cz_zoo_opts *o, cz_graph **out) {
  *out = NULL;
  const cz_zoo_entry *e = cz_zoo_find(name);
  if (!e) return unknown_model(name);
  cz_err *err = check_opts(e, o);
  if (err) return err;
  cz_graph *g = cz_graph_new(e->name);
  int batch = o->batch > 0 ? o->batch : 1;
  int x = cz_graph_input(g, "input", CZ_F32, cz_shape4(batch, o->channels, o->height, o->width));
  int logits = -1;
  err = e->build(g, e, o, x, &logits);
  if (!err) {
    cz_graph_mark_output(g, logits);
    err = cz_graph_toposort(g);
  }
  if (!err) err = cz_graph_infer(g);
  if (err) {
    cz_graph_free(g);
    return cz_err_prefix(err, "model %s at input [%d, %d, %d]", e->name, o->channels, o->height,
                         o->width);
  }
  if (e->init) {
    e->init(g, o->seed); /* timm's and torchvision's laws */
  } else {
    init_weights(g, o->seed);
    cz_zoo_reference_init(g, e, o->seed); /* ST's and pytorchcv's own laws */
  }
  *out = g;
  return NULL;
}
