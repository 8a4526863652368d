/* Broadcasting elementwise arithmetic (op_binary.h). Every operand is
 * addressed through its own strides over the output's axes (0 on broadcast
 * axes), walked in the output's memory order with adjacent axes merged, so
 * the common cases come out as one long inner loop: same shape and layout
 * (one axis), NHWC activation times a per-(n,c) [N,C,1,1] tensor
 * (squeeze-excitation: inner loop over C, both contiguous), and scalars or
 * per-channel constants (inner stride 0 or 1). */
#include "ops/op_binary.h"

#include <string.h>

#include "ops/op_util.h"

/* Partial sums per broadcast-gradient reduction: at most this many chunks,
 * fixed by the shapes, never by the thread count. */
#define BIN_MAX_CHUNKS 16

cz_err *cz_binary_infer(cz_graph *g, cz_node *n) {
  cz_err *e;
  if ((e = cz_op_want_float(g, n, 0)) || (e = cz_op_want_float(g, n, 1))) return e;
  const cz_value *a = cz_in_value(g, n, 0), *b = cz_in_value(g, n, 1);
  cz_shape o = {.rank = a->shape.rank > b->shape.rank ? a->shape.rank : b->shape.rank};
  for (int i = 0; i < o.rank; i++) {
    int ia = i - (o.rank - a->shape.rank), ib = i - (o.rank - b->shape.rank);
    int64_t da = ia >= 0 ? a->shape.d[ia] : 1, db = ib >= 0 ? b->shape.d[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[CZ_SHAPE_STR_MAX], sb[CZ_SHAPE_STR_MAX];
      return cz_node_err(g, n,
                         "cannot broadcast input 0 '%s' %s with input 1 '%s' %s "
                         "(axis %d: %lld vs %lld)",
                         a->name, cz_shape_str(&a->shape, sa, sizeof sa), b->name,
                         cz_shape_str(&b->shape, sb, sizeof sb), i, (long long)da,
                         (long long)db);
    }
    o.d[i] = da == 1 ? db : da;
  }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = o;
  return NULL;
}

/* Strides of operand t over the axes of output shape o (right-aligned,
 * 0 where t is broadcast). */
static void bcast_strides(const cz_tensor *t, const cz_shape *o, int64_t st[CZ_MAX_RANK]) {
  int64_t ts[CZ_MAX_RANK];
  cz_strides(&t->shape, t->layout, ts);
  int off = o->rank - t->shape.rank;
  for (int i = 0; i < o->rank; i++) {
    int j = i - off;
    st[i] = (j >= 0 && t->shape.d[j] != 1) ? ts[j] : 0;
  }
}

/* The output's axes in memory order, size-1 axes dropped, neighbours merged
 * where every tensor steps through them as one. Tensor 0 is the output (or
 * its gradient, same layout); the others are addressed with broadcast
 * strides over the output's axes. */
#define WALK_MAX 4
typedef struct {
  int r, nt;
  int64_t d[CZ_MAX_RANK];
  int64_t s[WALK_MAX][CZ_MAX_RANK];
} walk;

static walk make_walk(const cz_tensor *y, int nt, const cz_tensor *const *t) {
  int64_t st[WALK_MAX][CZ_MAX_RANK];
  cz_strides(&y->shape, y->layout, st[0]);
  for (int i = 1; i < nt; i++) bcast_strides(t[i - 1], &y->shape, st[i]);
  int order[CZ_MAX_RANK], r = y->shape.rank;
  for (int i = 0; i < r; i++) order[i] = i;
  if (y->layout == CZ_NHWC) order[1] = 2, order[2] = 3, order[3] = 1;
  walk w = {.nt = nt};
  for (int k = 0; k < r; k++) {
    int ax = order[k];
    int64_t d = y->shape.d[ax];
    if (d == 1) continue;
    if (w.r > 0) {
      int q = w.r - 1;
      bool merge = true;
      for (int i = 0; i < nt; i++)
        if (w.s[i][q] != st[i][ax] * d) merge = false;
      if (merge) {
        w.d[q] *= d;
        for (int i = 0; i < nt; i++) w.s[i][q] = st[i][ax];
        continue;
      }
    }
    w.d[w.r] = d;
    for (int i = 0; i < nt; i++) w.s[i][w.r] = st[i][ax];
    w.r++;
  }
  if (w.r == 0) { /* a single element */
    w.r = 1;
    w.d[0] = 1;
    for (int i = 0; i < nt; i++) w.s[i][0] = 1;
  }
  return w;
}

/* Offsets of row `row` (all axes but the innermost) in each tensor. */
static void row_offsets(const walk *w, int64_t row, int64_t off[WALK_MAX]) {
  for (int t = 0; t < w->nt; t++) off[t] = 0;
  for (int i = w->r - 2; i >= 0; i--) {
    int64_t idx = row % w->d[i];
    row /= w->d[i];
    for (int t = 0; t < w->nt; t++) off[t] += idx * w->s[t][i];
  }
}

#define E_ADD(a, b) ((a) + (b))
#define E_SUB(a, b) ((a) - (b))
#define E_MUL(a, b) ((a) * (b))
#define E_DIV(a, b) ((a) / (b))

/* One output row: the inner strides pick a contiguous, scalar-broadcast or
 * general loop. */
#define ROW_LOOP(E)                                                              \
  do {                                                                           \
    if (sa == 1 && sb == 1) {                                                    \
      _Pragma("omp simd") for (int64_t j = 0; j < n; j++) y[j] = E(a[j], b[j]);  \
    } else if (sa == 1 && sb == 0) {                                             \
      float bv = b[0];                                                           \
      _Pragma("omp simd") for (int64_t j = 0; j < n; j++) y[j] = E(a[j], bv);    \
    } else if (sa == 0 && sb == 1) {                                             \
      float av = a[0];                                                           \
      _Pragma("omp simd") for (int64_t j = 0; j < n; j++) y[j] = E(av, b[j]);    \
    } else {                                                                     \
      for (int64_t j = 0; j < n; j++) y[j] = E(a[j * sa], b[j * sb]);            \
    }                                                                            \
  } while (0)

static void fwd_row(cz_binop op, int64_t n, const float *a, int64_t sa, const float *b,
                    int64_t sb, float *y) {
  switch (op) {
    case CZ_BIN_ADD: ROW_LOOP(E_ADD); break;
    case CZ_BIN_SUB: ROW_LOOP(E_SUB); break;
    case CZ_BIN_MUL: ROW_LOOP(E_MUL); break;
    case CZ_BIN_DIV: ROW_LOOP(E_DIV); break;
  }
}

static float apply(cz_binop op, float a, float b) {
  switch (op) {
    case CZ_BIN_ADD: return a + b;
    case CZ_BIN_SUB: return a - b;
    case CZ_BIN_MUL: return a * b;
    case CZ_BIN_DIV: return a / b;
  }
  return 0.0f;
}

/* The reference kernels' addressing: the output's logical indices in
 * row-major order, each tensor's offset kept as sum(index * stride). */
typedef struct {
  const cz_shape *o;
  int64_t idx[CZ_MAX_RANK];
} odometer;

static int64_t odo_offset(const odometer *m, const int64_t *st) {
  int64_t off = 0;
  for (int ax = 0; ax < m->o->rank; ax++) off += m->idx[ax] * st[ax];
  return off;
}

static void odo_next(odometer *m) {
  for (int ax = m->o->rank - 1; ax >= 0; ax--) {
    if (++m->idx[ax] < m->o->d[ax]) return;
    m->idx[ax] = 0;
  }
}

void cz_binary_forward(cz_kctx *k, cz_binop op) {
  const cz_tensor *Y = &k->out[0], *A = &k->in[0], *B = &k->in[1];
  const float *a = cz_f32(A), *b = cz_f32(B);
  float *y = cz_f32(Y);
  int64_t total = cz_numel(Y);
  if (total == 0) return;
  if (k->reference) {
    int64_t sy[CZ_MAX_RANK], sa[CZ_MAX_RANK], sb[CZ_MAX_RANK];
    cz_strides(&Y->shape, Y->layout, sy);
    bcast_strides(A, &Y->shape, sa);
    bcast_strides(B, &Y->shape, sb);
    odometer m = {.o = &Y->shape};
    for (int64_t i = 0; i < total; i++, odo_next(&m))
      y[odo_offset(&m, sy)] = apply(op, a[odo_offset(&m, sa)], b[odo_offset(&m, sb)]);
    return;
  }
  const cz_tensor *ops[2] = {A, B};
  walk w = make_walk(Y, 3, ops);
  int64_t inner = w.d[w.r - 1], rows = total / inner;
  int64_t ia = w.s[1][w.r - 1], ib = w.s[2][w.r - 1];
#pragma omp parallel for schedule(static) if (total > CZ_PAR_MIN && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    int64_t off[WALK_MAX];
    row_offsets(&w, r, off);
    fwd_row(op, inner, a + off[1], ia, b + off[2], ib, y + off[0]);
  }
}

/* Chunks of a broadcast-gradient reduction: a function of the shapes. */
static int64_t red_chunks(int64_t total, int64_t target, int64_t rows) {
  int64_t k = target ? total / target : 1;
  if (k > BIN_MAX_CHUNKS) k = BIN_MAX_CHUNKS;
  if (k > rows) k = rows;
  return k < 1 ? 1 : k;
}

size_t cz_binary_work_bytes(const cz_graph *g, const cz_node *n, bool backward) {
  if (!backward) return 0;
  /* Rows are at least 1 and at most total; bound by the chunk cap. */
  int64_t total = cz_shape_numel(&g->values[n->out[0]].shape), need = 0;
  for (int i = 0; i < 2; i++) {
    int64_t t = cz_shape_numel(&cz_in_value(g, n, i)->shape);
    if (t == total) continue; /* elementwise gradient, no partials */
    int64_t c = red_chunks(total, t, total);
    if (c * t > need) need = c * t;
  }
  return (size_t)need * sizeof(float);
}

/* One row of gradient contributions E(g, a, b), stored (add false) or
 * added to gx with stride sx; sx == 0 sums the row first, in order. */
#define GROW_LOOP(E)                                                               \
  do {                                                                             \
    if (sx == 1 && sa <= 1 && sb <= 1) {                                           \
      if (add) {                                                                   \
        _Pragma("omp simd") for (int64_t j = 0; j < n; j++) gx[j] += E(g[j], a[j * sa], b[j * sb]); \
      } else {                                                                     \
        _Pragma("omp simd") for (int64_t j = 0; j < n; j++) gx[j] = E(g[j], a[j * sa], b[j * sb]);  \
      }                                                                            \
    } else if (sx == 0) {                                                          \
      float s = 0.0f;                                                              \
      for (int64_t j = 0; j < n; j++) s += E(g[j], a[j * sa], b[j * sb]);          \
      gx[0] = add ? gx[0] + s : s;                                                 \
    } else {                                                                       \
      for (int64_t j = 0; j < n; j++) {                                            \
        float c = E(g[j], a[j * sa], b[j * sb]);                                   \
        gx[j * sx] = add ? gx[j * sx] + c : c;                                     \
      }                                                                            \
    }                                                                              \
  } while (0)

/* Contributions per op and operand (which 0: a, 1: b). Add and Sub never
 * read a or b (their data need not be valid: bwd_needs is empty). */
#define G_ID(g, a, b) (g)
#define G_NEG(g, a, b) (-(g))
#define G_MUL_A(g, a, b) ((g) * (b))
#define G_MUL_B(g, a, b) ((g) * (a))
#define G_DIV_A(g, a, b) ((g) / (b))
#define G_DIV_B(g, a, b) (-(g) * (((a) / (b)) / (b))) /* PyTorch's order */

static void grad_row(cz_binop op, int which, bool add, int64_t n, const float *g,
                     const float *a, int64_t sa, const float *b, int64_t sb, float *gx,
                     int64_t sx) {
  switch (op) {
    case CZ_BIN_ADD: GROW_LOOP(G_ID); break;
    case CZ_BIN_SUB:
      if (which) GROW_LOOP(G_NEG);
      else GROW_LOOP(G_ID);
      break;
    case CZ_BIN_MUL:
      if (which) GROW_LOOP(G_MUL_B);
      else GROW_LOOP(G_MUL_A);
      break;
    case CZ_BIN_DIV:
      if (which) GROW_LOOP(G_DIV_B);
      else GROW_LOOP(G_DIV_A);
      break;
  }
}

/* Same contributions, one element at a time, for the reference kernel. */
static float contrib(cz_binop op, int which, float g, float a, float b) {
  switch (op) {
    case CZ_BIN_ADD: return g;
    case CZ_BIN_SUB: return which ? -g : g;
    case CZ_BIN_MUL: return which ? g * a : g * b;
    case CZ_BIN_DIV: return which ? G_DIV_B(g, a, b) : g / b;
  }
  return 0.0f;
}

static void grad_reference(cz_kctx *k, cz_binop op, int which) {
  const cz_tensor *Y = &k->out[0], *X = &k->gin[which];
  const float *a = cz_f32(&k->in[0]), *b = cz_f32(&k->in[1]), *g = cz_f32(&k->gout[0]);
  float *gx = cz_f32(X);
  int64_t sy[CZ_MAX_RANK], sa[CZ_MAX_RANK], sb[CZ_MAX_RANK], sx[CZ_MAX_RANK];
  cz_strides(&Y->shape, Y->layout, sy);
  bcast_strides(&k->in[0], &Y->shape, sa);
  bcast_strides(&k->in[1], &Y->shape, sb);
  bcast_strides(X, &Y->shape, sx);
  bool reads = op == CZ_BIN_MUL || op == CZ_BIN_DIV; /* Add, Sub: a, b not kept */
  if (!k->gin_acc[which]) memset(gx, 0, (size_t)cz_numel(X) * sizeof *gx);
  odometer m = {.o = &Y->shape};
  for (int64_t i = 0; i < cz_numel(Y); i++, odo_next(&m)) {
    float av = reads ? a[odo_offset(&m, sa)] : 0.0f;
    float bv = reads ? b[odo_offset(&m, sb)] : 0.0f;
    gx[odo_offset(&m, sx)] += contrib(op, which, g[odo_offset(&m, sy)], av, bv);
  }
}

static void grad_fast(cz_kctx *k, cz_binop op, int which) {
  const cz_tensor *Y = &k->out[0], *X = &k->gin[which];
  const float *a = cz_f32(&k->in[0]), *b = cz_f32(&k->in[1]), *g = cz_f32(&k->gout[0]);
  float *gx = cz_f32(X);
  bool acc = k->gin_acc[which];
  int64_t total = cz_numel(Y), target = cz_numel(X);
  /* Walk tensors: 0 the output gradient, 1 the operand's gradient, 2 a, 3 b. */
  const cz_tensor *ops[3] = {X, &k->in[0], &k->in[1]};
  walk w = make_walk(Y, 4, ops);
  int64_t inner = w.d[w.r - 1], rows = total / inner;
  int64_t sx = w.s[1][w.r - 1], sa = w.s[2][w.r - 1], sb = w.s[3][w.r - 1];
  if (target == total) { /* no broadcast: each element written once */
#pragma omp parallel for schedule(static) if (total > CZ_PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
      int64_t o[WALK_MAX];
      row_offsets(&w, r, o);
      grad_row(op, which, acc, inner, g + o[0], a + o[2], sa, b + o[3], sb, gx + o[1], sx);
    }
    return;
  }
  /* Reduction: chunk c sums its rows into partial c, then the partials are
   * added in chunk order. */
  int64_t K = red_chunks(total, target, rows);
  float *part = k->work;
#pragma omp parallel for schedule(static) if (total > CZ_PAR_MIN && K > 1)
  for (int64_t c = 0; c < K; c++) {
    float *p = part + c * target;
    memset(p, 0, (size_t)target * sizeof *p);
    int64_t r0 = rows * c / K, r1 = rows * (c + 1) / K;
    for (int64_t r = r0; r < r1; r++) {
      int64_t o[WALK_MAX];
      row_offsets(&w, r, o);
      grad_row(op, which, true, inner, g + o[0], a + o[2], sa, b + o[3], sb, p + o[1], sx);
    }
  }
#pragma omp parallel for simd schedule(static) if (target > CZ_PAR_MIN)
  for (int64_t i = 0; i < target; i++) {
    float s = part[i];
    for (int64_t c = 1; c < K; c++) s += part[c * target + i];
    gx[i] = acc ? gx[i] + s : s;
  }
}

void cz_binary_backward(cz_kctx *k, cz_binop op) {
  for (int which = 0; which < 2; which++) {
    if (!k->gin[which].data) continue;
    if (cz_numel(&k->out[0]) == 0) { /* an empty output: the gradient is zero */
      if (!k->gin_acc[which])
        memset(k->gin[which].data, 0, (size_t)cz_numel(&k->gin[which]) * sizeof(float));
      continue;
    }
    if (k->reference) grad_reference(k, op, which);
    else grad_fast(k, op, which);
  }
}
