/* Layer builders shared by the zoo's families (zoo_layers.h). */
#include "zoo/zoo_layers.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "util/mem.h"
#include "util/rng.h"

void zl_init(zl_ctx *c, cz_graph *g, const cz_zoo_opts *o, int input, float bn_eps,
             float bn_momentum) {
  *c = (zl_ctx){.g = g, .o = o, .bn_eps = bn_eps, .bn_momentum = bn_momentum};
  if (o->bn_eps > 0) c->bn_eps = o->bn_eps;
  if (o->bn_momentum > 0) c->bn_momentum = o->bn_momentum;
  zl_set_channels(c, input, o->channels);
}

void zl_free(zl_ctx *c) {
  free(c->ch);
  c->ch = NULL;
  c->ch_cap = 0;
}

int zl_channels(const zl_ctx *c, int v) { return v >= 0 && v < c->ch_cap ? c->ch[v] : 0; }

void zl_set_channels(zl_ctx *c, int v, int ch) {
  if (v >= c->ch_cap) {
    int cap = c->ch_cap ? c->ch_cap : 256;
    while (cap <= v) cap *= 2;
    c->ch = cz_xrealloc(c->ch, (size_t)cap * sizeof *c->ch);
    for (int i = c->ch_cap; i < cap; i++) c->ch[i] = 0;
    c->ch_cap = cap;
  }
  c->ch[v] = ch;
}

const char *zl_name(zl_ctx *c, const char *stem) {
  snprintf(c->namebuf, sizeof c->namebuf, "%s_%d", stem, c->uniq++);
  return c->namebuf;
}

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *fmt, va_list ap) {
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  char *s = cz_xmalloc((size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

static int out1(zl_ctx *c, const char *op, const char *name, int n_in, const int *in, int ch) {
  int y = cz_node_out(c->g, cz_graph_node(c->g, op, name, n_in, in, 1, NULL), 0);
  zl_set_channels(c, y, ch);
  return y;
}

static int param(zl_ctx *c, const char *base, const char *suffix, cz_shape s, float fill) {
  char *n = cz_asprintf("%s.%s", base, suffix);
  int64_t k = cz_shape_numel(&s);
  float *v = NULL;
  if (fill != 0.0f) {
    v = cz_xmalloc((size_t)k * sizeof *v);
    for (int64_t i = 0; i < k; i++) v[i] = fill;
  }
  int id = cz_graph_param(c->g, n, s, v);
  free(v);
  free(n);
  return id;
}

int zl_conv(zl_ctx *c, int x, zl_conv_spec s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *name = vfmt(fmt, ap);
  va_end(ap);
  int groups = s.groups ? s.groups : 1, stride = s.stride ? s.stride : 1;
  int dil = s.dilation ? s.dilation : 1, pad = s.pad >= 0 ? s.pad : ((s.k - 1) / 2) * dil;
  int cin = zl_channels(c, x);
  int in[3] = {x, param(c, name, "weight", cz_shape4(s.cout, cin / groups, s.k, s.k), 0), -1};
  int n_in = 2;
  if (s.bias) in[n_in++] = param(c, name, "bias", cz_shape1(s.cout), 0);
  int node = cz_graph_node(c->g, "Conv", name, n_in, in, 1, NULL);
  int64_t ks[2] = {s.k, s.k}, st[2] = {stride, stride}, dl[2] = {dil, dil};
  int64_t pads[4] = {pad, pad, pad, pad};
  cz_node_set_ints(c->g, node, "kernel_shape", 2, ks);
  cz_node_set_ints(c->g, node, "strides", 2, st);
  cz_node_set_ints(c->g, node, "pads", 4, pads);
  cz_node_set_ints(c->g, node, "dilations", 2, dl);
  cz_node_set_int(c->g, node, "group", groups);
  free(name);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, s.cout);
  return y;
}

int zl_bn(zl_ctx *c, int x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *name = vfmt(fmt, ap);
  va_end(ap);
  int ch = zl_channels(c, x);
  float *ones = cz_xmalloc((size_t)ch * sizeof *ones);
  for (int i = 0; i < ch; i++) ones[i] = 1.0f;
  char *rm = cz_asprintf("%s.running_mean", name), *rv = cz_asprintf("%s.running_var", name);
  int in[5] = {x, param(c, name, "weight", cz_shape1(ch), 1.0f),
               param(c, name, "bias", cz_shape1(ch), 0.0f),
               cz_graph_buffer(c->g, rm, cz_shape1(ch), NULL),
               cz_graph_buffer(c->g, rv, cz_shape1(ch), ones)};
  int node = cz_graph_node(c->g, "BatchNormalization", name, 5, in, 1, NULL);
  cz_node_set_float(c->g, node, "epsilon", c->bn_eps);
  cz_node_set_float(c->g, node, "momentum", 1.0f - c->bn_momentum);
  free(rm), free(rv), free(ones), free(name);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, ch);
  return y;
}

int zl_act_node(zl_ctx *c, int x, zl_act a, const char *fmt, ...) {
  if (a == ZL_NONE) return x;
  va_list ap;
  va_start(ap, fmt);
  char *name = vfmt(fmt, ap);
  va_end(ap);
  int ch = zl_channels(c, x), y;
  static const char *const ops[] = {[ZL_RELU] = "Relu",       [ZL_HSWISH] = "HardSwish",
                                    [ZL_HSIGMOID] = "HardSigmoid", [ZL_SIGMOID] = "Sigmoid",
                                    [ZL_SILU] = "Silu"};
  if (a == ZL_RELU6) {
    float lo = 0.0f, hi = 6.0f;
    char *ln = cz_asprintf("%s.min", name), *hn = cz_asprintf("%s.max", name);
    int in[3] = {x, cz_graph_const(c->g, ln, CZ_F32, (cz_shape){0}, &lo),
                 cz_graph_const(c->g, hn, CZ_F32, (cz_shape){0}, &hi)};
    y = out1(c, "Clip", name, 3, in, ch);
    free(ln), free(hn);
  } else {
    int node = cz_graph_node(c->g, ops[a], name, 1, &x, 1, NULL);
    if (a == ZL_HSIGMOID) {
      cz_node_set_float(c->g, node, "alpha", 1.0f / 6.0f);
      cz_node_set_float(c->g, node, "beta", 0.5f);
    }
    y = cz_node_out(c->g, node, 0);
    zl_set_channels(c, y, ch);
  }
  free(name);
  return y;
}

int zl_linear(zl_ctx *c, int x, int out, bool bias, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *name = vfmt(fmt, ap);
  va_end(ap);
  int in[3] = {x, param(c, name, "weight", cz_shape2(out, zl_channels(c, x)), 0), -1};
  int n_in = 2;
  if (bias) in[n_in++] = param(c, name, "bias", cz_shape1(out), 0);
  int node = cz_graph_node(c->g, "Gemm", name, n_in, in, 1, NULL);
  cz_node_set_int(c->g, node, "transB", 1);
  free(name);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, out);
  return y;
}

int zl_add(zl_ctx *c, int a, int b) {
  int in[2] = {a, b};
  return out1(c, "Add", zl_name(c, "add"), 2, in, zl_channels(c, a));
}

int zl_mul(zl_ctx *c, int a, int b) {
  int in[2] = {a, b}, ca = zl_channels(c, a), cb = zl_channels(c, b);
  return out1(c, "Mul", zl_name(c, "mul"), 2, in, ca > cb ? ca : cb);
}

int zl_concat(zl_ctx *c, int n, const int *xs) {
  int ch = 0;
  for (int i = 0; i < n; i++) ch += zl_channels(c, xs[i]);
  int node = cz_graph_node(c->g, "Concat", zl_name(c, "concat"), n, xs, 1, NULL);
  cz_node_set_int(c->g, node, "axis", 1);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, ch);
  return y;
}

int zl_global_avgpool(zl_ctx *c, int x) {
  return out1(c, "GlobalAveragePool", zl_name(c, "gap"), 1, &x, zl_channels(c, x));
}

int zl_flatten(zl_ctx *c, int x) {
  int node = cz_graph_node(c->g, "Flatten", zl_name(c, "flatten"), 1, &x, 1, NULL);
  cz_node_set_int(c->g, node, "axis", 1);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, zl_channels(c, x));
  return y;
}

static int pool(zl_ctx *c, const char *op, int x, int k, int stride, int pad, bool ceil_mode) {
  int node = cz_graph_node(c->g, op, zl_name(c, op), 1, &x, 1, NULL);
  int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
  cz_node_set_ints(c->g, node, "kernel_shape", 2, ks);
  cz_node_set_ints(c->g, node, "strides", 2, st);
  cz_node_set_ints(c->g, node, "pads", 4, pads);
  cz_node_set_int(c->g, node, "ceil_mode", ceil_mode);
  return node;
}

int zl_maxpool(zl_ctx *c, int x, int k, int stride, int pad, bool ceil_mode) {
  int y = cz_node_out(c->g, pool(c, "MaxPool", x, k, stride, pad, ceil_mode), 0);
  zl_set_channels(c, y, zl_channels(c, x));
  return y;
}

int zl_avgpool(zl_ctx *c, int x, int k, int stride, int pad, bool ceil_mode,
               bool count_include_pad) {
  int node = pool(c, "AveragePool", x, k, stride, pad, ceil_mode);
  cz_node_set_int(c->g, node, "count_include_pad", count_include_pad);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, zl_channels(c, x));
  return y;
}

int zl_dropout(zl_ctx *c, int x, float p) {
  if (p <= 0) return x;
  const char *name = zl_name(c, "dropout");
  char *rn = cz_asprintf("%s.ratio", name);
  int in[2] = {x, cz_graph_const(c->g, rn, CZ_F32, (cz_shape){0}, &p)};
  free(rn);
  return out1(c, "Dropout", c->namebuf, 2, in, zl_channels(c, x));
}

int zl_drop_path(zl_ctx *c, int x, float p) {
  if (p <= 0) return x;
  int node = cz_graph_node(c->g, "DropPath", zl_name(c, "drop_path"), 1, &x, 1, NULL);
  cz_node_set_float(c->g, node, "drop_prob", p);
  int y = cz_node_out(c->g, node, 0);
  zl_set_channels(c, y, zl_channels(c, x));
  return y;
}

/* ---- Fixed-size pooling heads. ---- */

cz_err *zl_spatial(zl_ctx *c, int x, int *h, int *w) {
  cz_err *e = cz_graph_infer(c->g);
  if (e) return e;
  const cz_shape *s = &c->g->values[x].shape;
  *h = (int)s->d[2];
  *w = (int)s->d[3];
  return NULL;
}

cz_err *zl_fixed_avgpool(zl_ctx *c, int x, int k, int stride, const char *accepted, int *out) {
  int h = 0, w = 0;
  cz_err *e = zl_spatial(c, x, &h, &w);
  if (e) return e;
  if (h < k || w < k || h >= k + stride || w >= k + stride) {
    char need[48];
    if (stride == 1)
      snprintf(need, sizeof need, "%dx%d", k, k);
    else
      snprintf(need, sizeof need, "%dx%d to %dx%d", k, k, k + stride - 1, k + stride - 1);
    return cz_err_new(CZ_EXIT_USAGE,
                      "the input gives a %dx%d feature map at the reference's fixed "
                      "AvgPool2d(%d, stride %d), which needs %s to make one value per channel; "
                      "this model takes input heights and widths of %s",
                      h, w, k, stride, need, accepted);
  }
  *out = zl_avgpool(c, x, k, stride, 0, false, true);
  return NULL;
}

static void draw(cz_graph *g, int v, uint64_t seed, bool normal, double scale) {
  cz_value *w = &g->values[v];
  if (w->kind != CZ_V_PARAM) return;
  cz_rng r = cz_rng_make(seed, cz_rng_stream(0x5a4f4f, (uint64_t)v, 0));
  float *d = w->data;
  for (int64_t i = 0; i < cz_shape_numel(&w->shape); i++)
    d[i] = (float)(normal ? scale * cz_rng_normal(&r) : scale * (2 * cz_rng_uniform(&r) - 1));
}

void zl_init_weights(cz_graph *g, uint64_t seed, zl_init_law conv, zl_init_law linear) {
  for (int ni = 0; ni < g->n_nodes; ni++) {
    const cz_node *n = &g->nodes[ni];
    bool is_conv = strcmp(n->op->name, "Conv") == 0;
    if (!is_conv && strcmp(n->op->name, "Gemm") != 0) continue;
    const cz_shape *s = &g->values[n->in[1]].shape;
    int64_t rf = 1, groups = 1;
    for (int i = 2; i < s->rank; i++) rf *= s->d[i];
    const cz_attr *ga = is_conv ? cz_node_attr(n, "group") : NULL;
    if (ga) groups = ga->i;
    double fan_in = (double)(s->d[1] * rf), fan_out = (double)(s->d[0] * rf);
    zl_init_law law = is_conv ? conv : linear;
    bool normal = law == ZL_INIT_HE_FANOUT || law == ZL_INIT_HE_FANOUT_GROUP ||
                  law == ZL_INIT_NORMAL_001;
    double scale = law == ZL_INIT_HE_FANOUT         ? sqrt(2.0 / fan_out)
                   : law == ZL_INIT_HE_FANOUT_GROUP ? sqrt(2.0 / (fan_out / (double)groups))
                   : law == ZL_INIT_TORCH_DEFAULT   ? 1.0 / sqrt(fan_in)
                   : law == ZL_INIT_NORMAL_001      ? 0.01
                   : law == ZL_INIT_UNIFORM_FANOUT  ? 1.0 / sqrt(fan_out)
                                                    : sqrt(3.0 / fan_out);
    draw(g, n->in[1], seed, normal, scale);
    if (n->n_in > 2 && n->in[2] >= 0) {
      if (law == ZL_INIT_TORCH_DEFAULT) draw(g, n->in[2], seed, false, 1.0 / sqrt(fan_in));
      else if (g->values[n->in[2]].kind == CZ_V_PARAM)
        memset(g->values[n->in[2]].data, 0,
               (size_t)cz_shape_numel(&g->values[n->in[2]].shape) * sizeof(float));
    }
  }
}
