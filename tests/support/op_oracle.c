/* PyTorch oracle cases: spec parsing, one-node graph, comparison
 * (op_oracle.h). */
#include "op_oracle.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "util/mem.h"

#define MAX_ATTR 32
#define MAX_LIST 16

/* Input kinds of the spec; ABSENT is "-", an optional input left out. */
enum { K_INPUT, K_PARAM, K_BUFFER, K_CONST, K_ABSENT };

typedef struct {
  char *buf; /* owned copy of the spec, cut into the strings below */
  const char *op;
  int n_in, n_out;
  struct {
    const char *name;
    int kind;
    bool grad;
  } in[CZ_MAX_IO];
  bool training;
  int n_attr;
  char *attr[MAX_ATTR]; /* "name=type:value" */
} spec;

static bool fail(ct_oracle_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(ct_oracle_result *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  return false;
}

static char *trim(char *s) {
  while (*s == ' ') s++;
  size_t n = strlen(s);
  while (n && s[n - 1] == ' ') s[--n] = '\0';
  return s;
}

static bool parse_int(const char *s, long long *v) {
  char *end;
  errno = 0;
  *v = strtoll(s, &end, 10);
  return end != s && *end == '\0' && errno == 0;
}

static bool parse_inputs(char *list, spec *s, ct_oracle_result *r) {
  static const char *const kinds[] = {"input", "param", "buffer", "const"};
  char *save = NULL;
  for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    if (s->n_in == CZ_MAX_IO) return fail(r, "spec: more than %d inputs", CZ_MAX_IO);
    int i = s->n_in++;
    s->in[i].kind = K_ABSENT;
    item = trim(item);
    if (strcmp(item, "-") == 0) continue;
    char *kind = strchr(item, ':');
    if (!kind) return fail(r, "spec: input '%s' has no kind", item);
    *kind++ = '\0';
    char *grad = strchr(kind, ':');
    if (grad) *grad++ = '\0';
    s->in[i].name = item;
    s->in[i].kind = -1;
    for (int k = 0; k < 4; k++)
      if (strcmp(kind, kinds[k]) == 0) s->in[i].kind = k;
    if (s->in[i].kind < 0)
      return fail(r, "spec: input '%s' has kind '%s' (expected input, param, buffer, const)",
                  item, kind);
    if (grad && (strcmp(grad, "grad") != 0 || s->in[i].kind != K_INPUT))
      return fail(r, "spec: input '%s': ':%s' (only inputs take ':grad')", item, grad);
    s->in[i].grad = grad != NULL;
  }
  return true;
}

static bool parse_spec(const ct_bundle *b, spec *s, ct_oracle_result *r) {
  memset(s, 0, sizeof *s);
  const ct_tensor *t = ct_bundle_get(b, "spec");
  if (!t || !t->is_text) return fail(r, "bundle has no text tensor 'spec'");
  s->buf = cz_xstrdup(t->data);
  s->n_out = 1;
  char *save = NULL;
  for (char *tok = strtok_r(s->buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
    tok = trim(tok);
    long long v;
    if (strncmp(tok, "op=", 3) == 0) {
      s->op = tok + 3;
    } else if (strncmp(tok, "in=", 3) == 0) {
      if (!parse_inputs(tok + 3, s, r)) return false;
    } else if (strncmp(tok, "out=", 4) == 0) {
      if (!parse_int(tok + 4, &v) || v < 1 || v > CZ_MAX_IO)
        return fail(r, "spec: bad '%s' (expected 1..%d outputs)", tok, CZ_MAX_IO);
      s->n_out = (int)v;
    } else if (strncmp(tok, "training=", 9) == 0) {
      if (!parse_int(tok + 9, &v) || (v != 0 && v != 1))
        return fail(r, "spec: bad '%s' (expected 0 or 1)", tok);
      s->training = v;
    } else if (strncmp(tok, "attr ", 5) == 0) {
      if (s->n_attr == MAX_ATTR) return fail(r, "spec: more than %d attributes", MAX_ATTR);
      s->attr[s->n_attr++] = trim(tok + 5);
    } else if (*tok) {
      return fail(r, "spec: unknown item '%s'", tok);
    }
  }
  if (!s->op || !*s->op) return fail(r, "spec: no 'op='");
  snprintf(r->op, sizeof r->op, "%s", s->op);
  return true;
}

/* "name=type:value" onto node n. */
static bool set_attr(cz_graph *g, int n, char *a, ct_oracle_result *r) {
  char *type = strchr(a, '='), *val = type ? strchr(type, ':') : NULL;
  if (!val) return fail(r, "spec: attribute '%s' is not name=type:value", a);
  *type++ = '\0';
  *val++ = '\0';
  if (strcmp(type, "string") == 0) {
    cz_node_set_string(g, n, a, val);
    return true;
  }
  int64_t ints[MAX_LIST];
  float floats[MAX_LIST];
  int count = 0;
  bool is_float = strcmp(type, "float") == 0 || strcmp(type, "floats") == 0;
  bool is_list = strcmp(type, "ints") == 0 || strcmp(type, "floats") == 0;
  if (!is_list && !is_float && strcmp(type, "int") != 0)
    return fail(r, "spec: attribute '%s' has type '%s'", a, type);
  char *save = NULL;
  for (char *item = strtok_r(val, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    if (count == MAX_LIST) return fail(r, "spec: attribute '%s' has too many values", a);
    char *end;
    errno = 0;
    if (is_float)
      floats[count] = strtof(item, &end);
    else
      ints[count] = strtoll(item, &end, 10);
    if (end == item || *end || errno)
      return fail(r, "spec: attribute '%s': bad value '%s'", a, item);
    count++;
  }
  if (!is_list && count != 1) return fail(r, "spec: attribute '%s' needs one value", a);
  if (strcmp(type, "int") == 0) cz_node_set_int(g, n, a, ints[0]);
  if (strcmp(type, "float") == 0) cz_node_set_float(g, n, a, floats[0]);
  if (strcmp(type, "ints") == 0) cz_node_set_ints(g, n, a, count, ints);
  if (strcmp(type, "floats") == 0) cz_node_set_floats(g, n, a, count, floats);
  return true;
}

/* The comparison metric (op_oracle.h) of `got` (logical row-major)
 * against the float32 reference tensor. */
static double rel_err(const float *got, const ct_tensor *ref) {
  const float *e = ref->data;
  int64_t n = cz_shape_numel(&ref->shape);
  double diff = 0, scale = 1e-6;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(got[i])) return INFINITY;
    diff = fmax(diff, fabs((double)got[i] - e[i]));
    scale = fmax(scale, fabs((double)e[i]));
  }
  return diff / scale;
}

/* Compares a tensor of the run (any layout) with the bundle's `name`; the
 * worse of that and *err goes to *err. */
static bool compare(const cz_tensor *t, const ct_bundle *b, const char *name, double *err,
                    ct_oracle_result *r) {
  const ct_tensor *ref = ct_bundle_get(b, name);
  if (!ref || ref->is_text || ref->dtype != CZ_F32)
    return fail(r, "bundle has no float tensor '%s'", name);
  char s1[CZ_SHAPE_STR_MAX], s2[CZ_SHAPE_STR_MAX];
  if (t->dtype != CZ_F32 || !cz_shape_eq(&t->shape, &ref->shape))
    return fail(r, "%s: czoo has %s %s, PyTorch float32 %s", name, cz_dtype_name(t->dtype),
                cz_shape_str(&t->shape, s1, sizeof s1), cz_shape_str(&ref->shape, s2, sizeof s2));
  int64_t n = cz_numel(t);
  float *rm = cz_xmalloc(((size_t)n + 1) * sizeof *rm);
  cz_relayout(t->data, t->layout, rm, CZ_ROWMAJOR, &t->shape, sizeof(float));
  double e = rel_err(rm, ref);
  free(rm);
  if (!r->worst[0] || !(e <= fmax(r->fwd_err, r->bwd_err)))
    snprintf(r->worst, sizeof r->worst, "%s", name);
  if (!(e <= *err)) *err = e;
  return true;
}

/* Builds the graph, runs it, compares. Values and data come from the
 * bundle; g is freed by the caller. */
static bool run_graph(const ct_bundle *b, const spec *s, cz_graph *g, bool reference,
                      ct_oracle_result *r) {
  int ids[CZ_MAX_IO];
  const void *input_data[CZ_MAX_IO];
  bool want_grad = false;
  for (int i = 0; i < s->n_in; i++) {
    ids[i] = -1;
    if (s->in[i].kind == K_ABSENT) continue;
    const char *name = s->in[i].name;
    const ct_tensor *t = ct_bundle_get(b, name);
    if (!t || t->is_text) return fail(r, "bundle has no tensor '%s' (input %d)", name, i);
    if ((s->in[i].kind == K_PARAM || s->in[i].kind == K_BUFFER) && t->dtype != CZ_F32)
      return fail(r, "input '%s': params and buffers are float32", name);
    switch (s->in[i].kind) {
    case K_INPUT:
      input_data[g->n_inputs] = t->data;
      ids[i] = cz_graph_input(g, name, t->dtype, t->shape);
      g->values[ids[i]].requires_grad = s->in[i].grad;
      want_grad |= s->in[i].grad;
      break;
    case K_PARAM:
      ids[i] = cz_graph_param(g, name, t->shape, t->data);
      want_grad = true;
      break;
    case K_BUFFER: ids[i] = cz_graph_buffer(g, name, t->shape, t->data); break;
    default: ids[i] = cz_graph_const(g, name, t->dtype, t->shape, t->data); break;
    }
  }
  char names[CZ_MAX_IO][16];
  const char *out_names[CZ_MAX_IO];
  for (int i = 0; i < s->n_out; i++) {
    snprintf(names[i], sizeof names[i], "y%d", i);
    out_names[i] = names[i];
  }
  int node = cz_graph_node(g, s->op, "n", s->n_in, ids, s->n_out, out_names);
  for (int i = 0; i < s->n_attr; i++) {
    char *a = cz_xstrdup(s->attr[i]);
    bool ok = set_attr(g, node, a, r);
    free(a);
    if (!ok) return false;
  }
  for (int i = 0; i < s->n_out; i++) cz_graph_mark_output(g, cz_node_out(g, node, i));
  cz_graph_set_training(g, s->training);

  cz_exec_opts o = {.training = s->training, .backward = want_grad, .reference = reference,
                    .seed = 1};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, &o, &ex);
  if (e) {
    fail(r, "%s", cz_err_msg(e));
    cz_err_free(e);
    return false;
  }
  for (int i = 0; i < g->n_inputs; i++) cz_exec_set_input(ex, i, input_data[i], CZ_ROWMAJOR);
  cz_exec_set_step(ex, 1);
  cz_exec_forward(ex);

  bool ok = true;
  char key[96];
  const float *seeds[CZ_MAX_IO] = {0};
  for (int i = 0; ok && i < s->n_out; i++) {
    cz_tensor t = cz_exec_value(ex, cz_node_out(g, node, i));
    snprintf(key, sizeof key, "y.%d", i);
    ok = compare(&t, b, key, &r->fwd_err, r);
    snprintf(key, sizeof key, "gy.%d", i);
    const ct_tensor *gy = ct_bundle_get(b, key);
    if (ok && want_grad && gy) {
      float *p = cz_xmalloc(gy->bytes + sizeof(float));
      cz_relayout(gy->data, CZ_ROWMAJOR, p, t.layout, &t.shape, sizeof(float));
      seeds[i] = p;
    }
  }
  if (ok && want_grad) {
    r->has_bwd = true;
    cz_exec_backward(ex, seeds);
    for (int i = 0; ok && i < s->n_in; i++) {
      bool wants = s->in[i].kind == K_PARAM || (s->in[i].kind == K_INPUT && s->in[i].grad);
      if (!wants) continue;
      cz_tensor t = cz_exec_grad(ex, ids[i]);
      if (!t.data) {
        ok = fail(r, "no gradient for '%s' (op without backward?)", s->in[i].name);
        break;
      }
      snprintf(key, sizeof key, "g.%s", s->in[i].name);
      ok = compare(&t, b, key, &r->bwd_err, r);
    }
  }
  /* BatchNorm's running statistics, updated in place by the forward. */
  for (int i = 0; ok && i < s->n_in; i++) {
    if (s->in[i].kind != K_BUFFER) continue;
    snprintf(key, sizeof key, "after.%s", s->in[i].name);
    if (!ct_bundle_get(b, key)) continue;
    cz_tensor t = cz_exec_value(ex, ids[i]);
    ok = compare(&t, b, key, &r->fwd_err, r);
  }
  for (int i = 0; i < s->n_out; i++) free((void *)seeds[i]);
  cz_exec_free(ex);
  return ok;
}

void ct_oracle_op(const ct_bundle *b, char *op, int size) {
  ct_oracle_result r = {0};
  spec s;
  snprintf(op, (size_t)size, "%s", parse_spec(b, &s, &r) ? s.op : "");
  free(s.buf);
}

bool ct_oracle_run(const ct_bundle *b, bool reference, ct_oracle_result *r) {
  memset(r, 0, sizeof *r);
  r->bound = 1e-4;
  const ct_tensor *tol = ct_bundle_get(b, "tol");
  if (tol && !tol->is_text && tol->dtype == CZ_F32 && cz_shape_numel(&tol->shape) == 1)
    r->bound = *(const float *)tol->data;
  spec s;
  bool ok = parse_spec(b, &s, r);
  if (ok) {
    const cz_op *op = cz_op_find(s.op);
    if (!op) {
      ok = fail(r, "unknown op '%s' (not in the op table)", s.op);
    } else if (!op->forward) {
      /* A placeholder op (op_stub.h): say so rather than report whatever
       * its shape rule trips on first. */
      ok = fail(r, "op %s is not implemented (placeholder without a forward kernel)", s.op);
    } else {
      cz_graph *g = cz_graph_new("oracle");
      ok = run_graph(b, &s, g, reference, r);
      cz_graph_free(g);
    }
  }
  free(s.buf);
  if (!ok) return false;
  return r->fwd_err <= r->bound && (!r->has_bwd || r->bwd_err <= r->bound);
}
