/* The quantization service (operation_mode 'quantization' and the chains'
 * quantization step): the float model (the chain's ONNX file, or
 * model.model_path, or the zoo model with its weights) is calibrated on
 * the quantization images and rewritten as an ONNX QDQ model by the
 * quantizer (src/quant), with onnxruntime's quantize_static settings taken
 * from quantization.*; the file goes to
 * <run>/<export_dir>/<stem>_quant_qdq_pc.onnx (_pt per tensor) and is the
 * model the next step works on.
 * Calibration images: dataset.quantization_path, else the seeded
 * quantization split of the training data (ds_split.c), both through the
 * eval transform (the tool we replace uses the training augmentation and
 * an unseeded subset); no images at all: ten seeded uniform [0, 1) images,
 * as the reference's "fake dataset". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "data/pipeline.h"
#include "onnx/onnx_export.h"
#include "quant/quant.h"
#include "services/model_open.h"
#include "services/svc.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/rng.h"

/* The options, or an error for what czoo does not do. */
static cz_err *make_opts(const cz_cfg_quantization *q, cz_quant_opts *o) {
  *o = cz_quant_default_opts();
  /* operating_mode (schema: 'default' only) and SmoothQuant (refused in
   * cfg_validate.c) need nothing here; SmoothQuantAlpha / Folding only
   * matter with SmoothQuant, as in onnxruntime. */
  o->per_channel = !q->granularity.set || q->granularity.v == CZ_GRAN_PER_CHANNEL;
  if (q->onnx_quant_parameters.weight_type.set) o->weight_type = q->onnx_quant_parameters.weight_type.v == CZ_QTYPE_UINT8 ? CZ_U8 : CZ_I8;
  if (q->onnx_quant_parameters.activ_type.set) o->act_type = q->onnx_quant_parameters.activ_type.v == CZ_QTYPE_UINT8 ? CZ_U8 : CZ_I8;
  if (q->onnx_quant_parameters.calibrate_method.set)
    o->calib = q->onnx_quant_parameters.calibrate_method.v == CZ_CALIB_ENTROPY      ? CZ_QCAL_ENTROPY
               : q->onnx_quant_parameters.calibrate_method.v == CZ_CALIB_PERCENTILE ? CZ_QCAL_PERCENTILE
                                                              : CZ_QCAL_MINMAX;
  if (q->onnx_extra_options.weight_symmetric.set) o->weight_symmetric = q->onnx_extra_options.weight_symmetric.v;
  if (q->onnx_extra_options.activation_symmetric.set) o->act_symmetric = q->onnx_extra_options.activation_symmetric.v;
  if (q->onnx_extra_options.calib_moving_average.set) o->moving_average = q->onnx_extra_options.calib_moving_average.v;
  if (q->onnx_extra_options.calib_moving_average_constant.set)
    o->averaging_constant = q->onnx_extra_options.calib_moving_average_constant.v;
  if (q->onnx_extra_options.quantize_bias.set) o->quantize_bias = q->onnx_extra_options.quantize_bias.v;
  return NULL;
}

/* NULL-terminated copy of a string list (the strings borrowed). */
static const char **str_list(const cz_cstrs *l) {
  if (!l->set || !l->n) return NULL;
  const char **r = cz_xcalloc(l->n + 1, sizeof *r);
  for (size_t i = 0; i < l->n; i++) r[i] = l->v[i];
  return r;
}

typedef struct {
  cz_pipe *pipe;      /* NULL: the fake images */
  float *fake;        /* NHWC */
  int64_t fake_n, fake_pos, per;
  int64_t batch;
} calib_src;

static cz_err *src_start(void *ctx) {
  calib_src *s = ctx;
  if (s->pipe) cz_pipe_start_epoch(s->pipe, 0);
  s->fake_pos = 0;
  return NULL;
}

static cz_err *src_next(void *ctx, const float **x, int64_t *n) {
  calib_src *s = ctx;
  if (!s->pipe) {
    *n = s->fake_n - s->fake_pos < s->batch ? s->fake_n - s->fake_pos : s->batch;
    *x = s->fake + s->fake_pos * s->per;
    s->fake_pos += *n;
    return NULL;
  }
  cz_loader_batch b;
  cz_err *e = cz_pipe_next(s->pipe, &b);
  if (e) return e;
  *n = b.n;
  *x = b.x;
  return NULL;
}

static char *out_path(const cz_svc_ctx *ctx, const cz_cfg_quantization *q, const char *stem,
                      bool per_channel, cz_err **err) {
  const char *ed = q->export_dir.set ? q->export_dir.v : "quantized_models";
  char *dir = ed[0] == '/' ? cz_xstrdup(ed) : cz_asprintf("%s/%s", ctx->run_dir, ed);
  *err = NULL;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    *err = cz_err_new(CZ_EXIT_RUNTIME, "quantization.export_dir: cannot create '%s': %s", dir,
                      strerror(errno));
  char *p = *err ? NULL : cz_asprintf("%s/%s_quant_qdq_%s.onnx", dir, stem, per_channel ? "pc" : "pt");
  free(dir);
  return p;
}

cz_err *cz_svc_quantize(cz_svc_ctx *ctx) {
  const cz_config *cfg = ctx->cfg;
  const cz_cfg_quantization *q = &cfg->quantization;
  cz_quant_opts o;
  cz_err *err = make_opts(q, &o);
  if (err) return err;
  cz_ds_set ds = {0};
  cz_model m = {0};
  cz_pipe *pipe = NULL;
  calib_src src = {0};
  cz_graph *qg = NULL;
  const char **ops = NULL, **incl = NULL, **excl = NULL;
  char *path = NULL;
  err = cz_ds_load(&cfg->dataset, &ds);
  if (!err) err = cz_model_open_plain(cfg, ctx->model_path, (int)ds.num_classes, &m);
  if (err) goto done;
  if (cz_graph_is_quantized(m.g) || cz_graph_has_qdq(m.g)) {
    cz_info("The input ONNX model is already quantized! Returning the same model!");
    ctx->quantized = true;
    goto done;
  }
  cz_info("Quantizing the model %s ... This might take few minutes ...", m.stem);
  cz_config pc = *cfg;
  int64_t shape[3] = {m.c, m.h, m.w};
  if (!pc.model.input_shape.set) pc.model.input_shape = (cz_cints){true, 3, shape};
  if (ds.quant.n > 0) {
    if ((err = cz_pipe_open(&pc, &ds, CZ_PIPE_QUANT, &pipe))) goto done;
    const cz_pipe_opts *po = cz_pipe_options(pipe);
    if (po->loader.c != m.c || po->loader.h != m.h || po->loader.w != m.w) {
      err = cz_err_new(CZ_EXIT_USAGE, "model.input_shape = [%lld, %lld, %lld], but the model "
                       "takes [%d, %d, %d]: expected them to agree", (long long)po->loader.c,
                       (long long)po->loader.h, (long long)po->loader.w, m.c, m.h, m.w);
      goto done;
    }
    src.pipe = pipe;
    src.batch = po->loader.batch_size;
    cz_info("Calibrating on %zu images (%s)", ds.quant.n,
            cfg->dataset.quantization_path.set ? cfg->dataset.quantization_path.v
                                               : "quantization split of the training data");
  } else {
    cz_info("Quantizing by using fake dataset...");
    src.fake_n = 10, src.batch = 10;
    src.per = (int64_t)m.c * m.h * m.w;
    src.fake = cz_xmalloc((size_t)(src.fake_n * src.per) * sizeof *src.fake);
    uint64_t seed = cfg->general.seed.set ? (uint64_t)cfg->general.seed.v : 0;
    cz_rng r = cz_rng_make(seed, 0x71);
    for (int64_t i = 0; i < src.fake_n * src.per; i++) src.fake[i] = cz_rng_uniformf(&r);
  }
  ops = str_list(&q->onnx_quant_parameters.op_types_to_quantize);
  incl = str_list(&q->onnx_quant_parameters.nodes_to_quantize);
  excl = str_list(&q->onnx_quant_parameters.nodes_to_exclude);
  o.op_types_to_quantize = ops, o.nodes_to_quantize = incl, o.nodes_to_exclude = excl;
  cz_quant_data d = {.ctx = &src, .start = src_start, .next = src_next,
                     .total = pipe ? (int64_t)ds.quant.n : src.fake_n, .batch = src.batch};
  if ((err = cz_quantize(m.g, &o, &d, &qg))) goto done;
  path = out_path(ctx, q, m.stem, o.per_channel, &err);
  if (err) goto done;
  cz_onnx_export_opts eo = {.opset = q->target_opset.set ? (int)q->target_opset.v : 17};
  if ((err = cz_onnx_export(qg, &eo, path))) goto done;
  cz_info("Quantized model path: %s", path);
  cz_info("Quantization complete.");
  free(ctx->model_path);
  ctx->model_path = path;
  path = NULL;
  ctx->quantized = true;
done:
  free(path), free(ops), free(incl), free(excl), free(src.fake);
  cz_graph_free(qg);
  cz_pipe_free(pipe);
  cz_model_close(&m);
  cz_ds_set_free(&ds);
  return err;
}
