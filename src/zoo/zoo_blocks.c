/* timm block strings: decoder and model assembly (zoo_blocks.h). Facts
 * from timm 1.0.31 (_efficientnet_builder.py: _decode_block_str,
 * EfficientNetBuilder, round_channels; _efficientnet_blocks.py: the block
 * modules and their forward order; efficientnet.py / mobilenetv3.py: stem
 * and heads); the code is czoo's own. */
#include "zoo/zoo_blocks.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZB_MAX_DEFS 64 /* block strings in one model */

int zb_make_divisible(double v, int divisor) {
  int nv = (int)(v + divisor / 2.0) / divisor * divisor;
  if (nv < divisor) nv = divisor;
  if (nv < 0.9 * v) nv += divisor;
  return nv;
}

static cz_err *bad(const char *s, size_t len, const char *what) {
  return cz_err_new(CZ_EXIT_RUNTIME, "block string '%.*s': %s", (int)len, s, what);
}

/* One `_`-separated option: key letters, then a number from the first
 * digit on (timm splits at the first digit). */
static cz_err *option(const char *s, size_t len, const char *op, size_t n, zb_block *b,
                      unsigned *seen) {
  if (n == 6 && memcmp(op, "noskip", 6) == 0) return b->skip = 0, NULL;
  if (n == 4 && memcmp(op, "skip", 4) == 0) return b->skip = 1, NULL;
  if (op[0] == 'n' && n == 3 && !isdigit((unsigned char)op[1])) {
    static const struct { const char *k; zl_act a; } acts[] = {
        {"re", ZL_RELU}, {"r6", ZL_RELU6}, {"hs", ZL_HSWISH}, {"sw", ZL_SILU}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
      if (memcmp(op + 1, acts[i].k, 2) == 0) return b->act = acts[i].a, NULL;
    return bad(s, len, "unknown activation (expected nre, nr6, nhs or nsw)");
  }
  size_t kl = 0;
  while (kl < n && !isdigit((unsigned char)op[kl])) kl++;
  if (kl == 0 || kl == n) return bad(s, len, "an option is not a letter key and a number");
  char key[8] = {0}, val[24] = {0};
  if (kl >= sizeof key || n - kl >= sizeof val) return bad(s, len, "an option is too long");
  memcpy(key, op, kl);
  memcpy(val, op + kl, n - kl);
  char *end;
  double v = strtod(val, &end);
  if (*end) return bad(s, len, "mixed kernel sizes or a malformed number are not supported");
  static const char *const keys[] = {"r", "k", "s", "e", "c", "se", "a", "p"};
  for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (strcmp(key, keys[i]) != 0) continue;
    *seen |= 1u << i;
    switch (i) {
    case 0: b->repeat = (int)v; break;
    case 1: b->k = (int)v; break;
    case 2: b->stride = (int)v; break;
    case 3: b->exp = v; break;
    case 4: b->cout = (int)v; break;
    case 5: b->se = v; break;
    case 6: b->a = (int)v; break;
    default: b->p = (int)v; break;
    }
    return NULL;
  }
  return bad(s, len, "option not built by czoo (CondConv, groups, attention, space-to-depth)");
}

cz_err *zb_decode(const char *s, size_t len, zb_block *b) {
  *b = (zb_block){.skip = -1, .exp = 1.0, .a = -1, .p = -1};
  size_t t = 0;
  while (t < len && s[t] != '_') t++;
  static const struct { const char *n; zb_type t; } types[] = {
      {"ds", ZB_DS}, {"dsa", ZB_DSA}, {"ir", ZB_IR}, {"er", ZB_ER}, {"cn", ZB_CN}, {"uir", ZB_UIR}};
  bool found = false;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strlen(types[i].n) == t && memcmp(s, types[i].n, t) == 0) b->type = types[i].t, found = true;
  if (!found) return bad(s, len, "unknown block type (expected ds, dsa, ir, er, cn or uir)");
  unsigned seen = 0;
  for (size_t i = t; i < len;) {
    size_t j = i + 1;
    while (j < len && s[j] != '_') j++;
    if (j > i + 1) {
      cz_err *e = option(s, len, s + i + 1, j - i - 1, b, &seen);
      if (e) return e;
    }
    i = j;
  }
  bool uir = b->type == ZB_UIR;
  unsigned need = 0x17u; /* r, k, s, c */
  if (uir || b->type == ZB_IR || b->type == ZB_ER) need |= 0x8u; /* e */
  if ((seen & need) != need) return bad(s, len, "missing one of r, k, s, e, c");
  if (b->repeat < 1 || b->stride < 1 || b->stride > 2 || b->cout < 1 || b->k < 0 || b->exp <= 0)
    return bad(s, len, "r, s (1 or 2), c, k or e out of range");
  if (b->type == ZB_CN || b->type == ZB_DS || b->type == ZB_DSA) b->exp = 1.0;
  if (b->a < 0) b->a = uir ? 0 : 1;
  if (b->p < 0) b->p = uir ? 0 : 1;
  if (uir && b->stride > 1 && !b->a && !b->k && !b->p)
    return bad(s, len, "a strided uir block needs a depthwise kernel");
  return NULL;
}

typedef struct {
  zl_ctx *c;
  const zb_model *m;
  char p[48]; /* "blocks.<stage>.<i>" */
} blk;

static int act(blk *b, int x, zl_act a, const char *where) {
  return zl_act_node(b->c, x, a, "%s.%s.act", b->p, where);
}

static int conv_bn(blk *b, int x, int cout, int k, int stride, int groups, const char *conv,
                   const char *bn) {
  zl_conv_spec s = {.cout = cout, .k = k, .stride = stride, .pad = -1, .groups = groups};
  x = zl_conv(b->c, x, s, "%s.%s", b->p, conv);
  return zl_bn(b->c, x, "%s.%s", b->p, bn);
}

/* SqueezeExcite: mean over H,W, conv_reduce (bias), act1, conv_expand
 * (bias), sigmoid gate, times x. rd = round-half-even(ch * ratio). */
static int se(blk *b, int x, double ratio, zl_act a) {
  int ch = zl_channels(b->c, x), rd = (int)rint(ch * ratio);
  int s = zl_global_avgpool(b->c, x);
  s = zl_conv(b->c, s, (zl_conv_spec){.cout = rd, .k = 1, .pad = 0, .bias = true},
              "%s.se.conv_reduce", b->p);
  s = zl_act_node(b->c, s, a, "%s.se.act1", b->p);
  s = zl_conv(b->c, s, (zl_conv_spec){.cout = ch, .k = 1, .pad = 0, .bias = true},
              "%s.se.conv_expand", b->p);
  s = zl_act_node(b->c, s, ZL_SIGMOID, "%s.se.gate", b->p);
  return zl_mul(b->c, x, s);
}

static int block(blk *b, int x, const zb_block *d, int stride, float dpr) {
  zl_ctx *c = b->c;
  const zb_model *m = b->m;
  int cin = zl_channels(c, x), cout = zb_make_divisible(d->cout * m->width, 8);
  zl_act a = d->act != ZL_NONE ? d->act : m->act;
  double se_ratio = d->se;
  if (!m->se_from_exp) se_ratio /= d->exp;
  bool skip = cin == cout && stride == 1 && d->skip != 0;
  int y = x;
  switch (d->type) {
  case ZB_DS:
  case ZB_DSA:
    y = act(b, conv_bn(b, y, cin, d->k, stride, cin, "conv_dw", "bn1"), a, "bn1");
    if (d->se > 0) y = se(b, y, se_ratio, a);
    y = conv_bn(b, y, cout, d->p, 1, 1, "conv_pw", "bn2");
    if (d->type == ZB_DSA) y = act(b, y, a, "bn2"), skip = false;
    break;
  case ZB_IR: {
    int mid = zb_make_divisible(cin * d->exp, 8);
    y = act(b, conv_bn(b, y, mid, d->a, 1, 1, "conv_pw", "bn1"), a, "bn1");
    y = act(b, conv_bn(b, y, mid, d->k, stride, mid, "conv_dw", "bn2"), a, "bn2");
    if (d->se > 0) y = se(b, y, se_ratio, a);
    y = conv_bn(b, y, cout, d->p, 1, 1, "conv_pwl", "bn3");
    break;
  }
  case ZB_ER: {
    int mid = zb_make_divisible(cin * d->exp, 8);
    y = act(b, conv_bn(b, y, mid, d->k, stride, 1, "conv_exp", "bn1"), a, "bn1");
    if (d->se > 0) y = se(b, y, se_ratio, a);
    y = conv_bn(b, y, cout, d->p, 1, 1, "conv_pwl", "bn2");
    break;
  }
  case ZB_CN:
    y = act(b, conv_bn(b, y, cout, d->k, stride, 1, "conv", "bn1"), a, "bn1");
    skip = skip && d->skip == 1;
    break;
  case ZB_UIR: {
    int mid = zb_make_divisible(cin * d->exp, 8);
    if (d->a) y = conv_bn(b, y, cin, d->a, d->k ? 1 : stride, cin, "dw_start.conv", "dw_start.bn");
    y = act(b, conv_bn(b, y, mid, 1, 1, 1, "pw_exp.conv", "pw_exp.bn"), a, "pw_exp");
    if (d->k) y = act(b, conv_bn(b, y, mid, d->k, stride, mid, "dw_mid.conv", "dw_mid.bn"), a, "dw_mid");
    if (d->se > 0) y = se(b, y, se_ratio, a);
    y = conv_bn(b, y, cout, 1, 1, 1, "pw_proj.conv", "pw_proj.bn");
    if (d->p)
      y = conv_bn(b, y, cout, d->p, !d->a && !d->k ? stride : 1, cout, "dw_end.conv", "dw_end.bn");
    break;
  }
  }
  if (skip) y = zl_add(c, zl_drop_path(c, y, dpr), x);
  return y;
}

/* Splits the arch into decoded definitions; stage[i] is each one's stage. */
static cz_err *decode_arch(const char *arch, zb_block *defs, int *stage, int *n) {
  int st = 0;
  *n = 0;
  for (const char *s = arch; *s;) {
    if (*s == ' ') { s++; continue; }
    if (*s == '|') { st++, s++; continue; }
    size_t len = strcspn(s, " |");
    if (*n == ZB_MAX_DEFS) return bad(s, len, "too many block strings in one model");
    cz_err *e = zb_decode(s, len, &defs[*n]);
    if (e) return e;
    stage[(*n)++] = st;
    s += len;
  }
  return NULL;
}

cz_err *zb_build(cz_graph *g, const zb_model *m, const cz_zoo_opts *o, int input, int *logits) {
  zb_block defs[ZB_MAX_DEFS];
  int stage[ZB_MAX_DEFS], n, total = 0;
  cz_err *e = decode_arch(m->arch, defs, stage, &n);
  if (e) return e;
  for (int i = 0; i < n; i++) total += defs[i].repeat;
  zl_ctx c;
  zl_init(&c, g, o, input, m->bn_eps, m->bn_momentum);
  blk b = {.c = &c, .m = m};
  int stem = m->fix_stem ? m->stem : zb_make_divisible(m->stem * m->width, 8);
  int x = zl_conv(&c, input, (zl_conv_spec){.cout = stem, .k = 3, .stride = 2, .pad = -1}, "conv_stem");
  x = zl_act_node(&c, zl_bn(&c, x, "bn1"), m->act, "bn1.act");
  /* Global block index drives the drop-path rate: rate * idx / total. */
  int idx = 0;
  for (int i = 0, in_stage = 0; i < n; i++) {
    if (i > 0 && stage[i] != stage[i - 1]) in_stage = 0;
    for (int r = 0; r < defs[i].repeat; r++, in_stage++, idx++) {
      snprintf(b.p, sizeof b.p, "blocks.%d.%d", stage[i], in_stage);
      float dpr = (float)((double)o->drop_path_rate * idx / total);
      x = block(&b, x, &defs[i], in_stage == 0 ? defs[i].stride : 1, dpr);
    }
  }
  zl_conv_spec head = {.cout = m->num_features, .k = 1, .pad = 0};
  if (m->head == ZB_HEAD_EFFNET) {
    x = zl_conv(&c, x, head, "conv_head");
    x = zl_act_node(&c, zl_bn(&c, x, "bn2"), m->act, "bn2.act");
    x = zl_global_avgpool(&c, x);
  } else {
    x = zl_global_avgpool(&c, x);
    head.bias = !m->head_norm && m->head_bias;
    x = zl_conv(&c, x, head, "conv_head");
    if (m->head_norm) x = zl_bn(&c, x, "norm_head");
    x = zl_act_node(&c, x, m->act, "head.act");
  }
  x = zl_flatten(&c, x);
  x = zl_dropout(&c, x, o->drop_rate > 0 ? o->drop_rate : 0.0f);
  *logits = zl_linear(&c, x, o->num_classes, true, "classifier");
  zl_free(&c);
  return NULL;
}
