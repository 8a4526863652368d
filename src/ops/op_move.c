/* Layout-aware data movement for the shape ops (op_move.h). Pointers are
 * advanced with signed element offsets so that negative strides stay
 * well-defined arithmetic inside the buffer. */
#include "ops/op_move.h"

#include <assert.h>
#include <string.h>

#include "ops/op_util.h"

/* One element: copy (any size; constant sizes let the compiler emit a
 * single move) or float add. */
static inline void elem(char *d, const char *s, size_t es, bool add) {
  if (add) {
    float a, b;
    memcpy(&a, d, 4);
    memcpy(&b, s, 4);
    a += b;
    memcpy(d, &a, 4);
    return;
  }
  switch (es) {
    case 4: memcpy(d, s, 4); break;
    case 8: memcpy(d, s, 8); break;
    case 1: *d = *s; break;
    default: memcpy(d, s, es); break;
  }
}

static inline char *at(void *base, int64_t off, size_t es) {
  return (char *)base + (ptrdiff_t)off * (ptrdiff_t)es;
}
static inline const char *cat(const void *base, int64_t off, size_t es) {
  return (const char *)base + (ptrdiff_t)off * (ptrdiff_t)es;
}

/* n elements with strides ts (dst) and ss (src). */
static void run(char *dst, int64_t ts, const char *src, int64_t ss, int64_t n, size_t es,
                bool add) {
  if (n <= 0) return;
  if (add) {
    assert(es == 4);
    float *d = (float *)(void *)dst;
    const float *s = (const float *)(const void *)src;
    if (ts == 1 && ss == 1) {
      for (int64_t i = 0; i < n; i++) d[i] += s[i];
    } else {
      for (int64_t i = 0; i < n; i++) d[i * ts] += s[i * ss];
    }
    return;
  }
  if (ts == 1 && ss == 1) {
    memcpy(dst, src, (size_t)n * es);
    return;
  }
  for (int64_t i = 0; i < n; i++) elem(at(dst, i * ts, es), cat(src, i * ss, es), es, false);
}

/* Advances a row-major odometer over shape s by one, moving an offset by
 * the strides st. */
static inline void advance(int64_t *idx, const cz_shape *s, const int64_t *st, int64_t *off) {
  for (int a = s->rank - 1; a >= 0; a--) {
    *off += st[a];
    if (++idx[a] < s->d[a]) return;
    *off -= st[a] * s->d[a];
    idx[a] = 0;
  }
}

static void strided_ref(const void *src, const int64_t *sst, void *dst, const int64_t *dst_st,
                        const cz_shape *s, size_t es, bool add) {
  int64_t n = cz_shape_numel(s);
  int64_t ia[CZ_MAX_RANK] = {0}, ib[CZ_MAX_RANK] = {0}, so = 0, to = 0;
  for (int64_t k = 0; k < n; k++) {
    elem(at(dst, to, es), cat(src, so, es), es, add);
    advance(ia, s, sst, &so);
    advance(ib, s, dst_st, &to);
  }
}

/* Drops extent-1 axes and merges neighbours that are contiguous on both
 * sides, so most copies become few long runs. Returns the new rank. */
static int simplify(const cz_shape *sh, const int64_t *sst, const int64_t *dst_st, int64_t *d,
                    int64_t *s, int64_t *t) {
  int r = 0;
  for (int a = 0; a < sh->rank; a++) {
    if (sh->d[a] == 1) continue;
    if (r > 0 && s[r - 1] == sst[a] * sh->d[a] && t[r - 1] == dst_st[a] * sh->d[a]) {
      d[r - 1] *= sh->d[a];
      s[r - 1] = sst[a];
      t[r - 1] = dst_st[a];
      continue;
    }
    d[r] = sh->d[a];
    s[r] = sst[a];
    t[r] = dst_st[a];
    r++;
  }
  return r;
}

#define CHUNK 16384

void cz_mv_strided(const void *src, const int64_t *sst, void *dst, const int64_t *dst_st,
                   const cz_shape *s, size_t es, bool add, bool reference) {
  int64_t total = cz_shape_numel(s);
  if (total == 0) return;
  if (reference) {
    strided_ref(src, sst, dst, dst_st, s, es, add);
    return;
  }
  int64_t d[CZ_MAX_RANK], ss[CZ_MAX_RANK], ts[CZ_MAX_RANK];
  int r = simplify(s, sst, dst_st, d, ss, ts);
  if (r == 0) {
    run(dst, 1, src, 1, 1, es, add);
    return;
  }
  if (r == 1 && total > CZ_PAR_MIN) {
    /* One long run: split it so that all threads share it. */
    int64_t chunks = (total + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
      int64_t lo = c * CHUNK, n = total - lo < CHUNK ? total - lo : CHUNK;
      run(at(dst, lo * ts[0], es), ts[0], cat(src, lo * ss[0], es), ss[0], n, es, add);
    }
    return;
  }
  int64_t len = d[r - 1], rows = total / len;
#pragma omp parallel for schedule(static) if (total > CZ_PAR_MIN)
  for (int64_t row = 0; row < rows; row++) {
    int64_t rem = row, so = 0, to = 0;
    for (int a = r - 2; a >= 0; a--) {
      int64_t i = rem % d[a];
      rem /= d[a];
      so += i * ss[a];
      to += i * ts[a];
    }
    run(at(dst, to, es), ts[r - 1], cat(src, so, es), ss[r - 1], len, es, add);
  }
}

bool cz_mv_is_rowmajor(const cz_tensor *t) {
  if (t->layout == CZ_ROWMAJOR) return true;
  int64_t st[CZ_MAX_RANK], rm[CZ_MAX_RANK];
  cz_strides(&t->shape, t->layout, st);
  cz_strides(&t->shape, CZ_ROWMAJOR, rm);
  for (int a = 0; a < t->shape.rank; a++)
    if (t->shape.d[a] > 1 && st[a] != rm[a]) return false;
  return true;
}

void cz_mv_reshape(const cz_tensor *src, const cz_tensor *dst, bool add, bool reference) {
  int64_t n = cz_numel(src);
  assert(n == cz_numel(dst));
  if (n == 0) return;
  size_t es = cz_dtype_size(src->dtype);
  int64_t ss[CZ_MAX_RANK], ts[CZ_MAX_RANK], rm[CZ_MAX_RANK];
  cz_strides(&src->shape, src->layout, ss);
  cz_strides(&dst->shape, dst->layout, ts);
  bool src_rm = cz_mv_is_rowmajor(src), dst_rm = cz_mv_is_rowmajor(dst);
  if (!reference && src_rm && dst_rm) {
    cz_shape flat = cz_shape1(n);
    int64_t one = 1;
    cz_mv_strided(src->data, &one, dst->data, &one, &flat, es, add, false);
    return;
  }
  if (!reference && src_rm) { /* walk dst's logical shape; src is flat */
    cz_strides(&dst->shape, CZ_ROWMAJOR, rm);
    cz_mv_strided(src->data, rm, dst->data, ts, &dst->shape, es, add, false);
    return;
  }
  if (!reference && dst_rm) { /* walk src's logical shape; dst is flat */
    cz_strides(&src->shape, CZ_ROWMAJOR, rm);
    cz_mv_strided(src->data, ss, dst->data, rm, &src->shape, es, add, false);
    return;
  }
  /* Reference, and the rare case of two non-row-major sides (NHWC to NHWC
   * with different shapes): two odometers in step, one element at a time. */
  int64_t ia[CZ_MAX_RANK] = {0}, ib[CZ_MAX_RANK] = {0}, so = 0, to = 0;
  for (int64_t k = 0; k < n; k++) {
    elem(at(dst->data, to, es), cat(src->data, so, es), es, add);
    advance(ia, &src->shape, ss, &so);
    advance(ib, &dst->shape, ts, &to);
  }
}

void cz_mv_phys_order(cz_layout l, int rank, int order[CZ_MAX_RANK]) {
  for (int a = 0; a < rank; a++) order[a] = a;
  if (l == CZ_NHWC) {
    assert(rank == 4);
    order[1] = 2, order[2] = 3, order[3] = 1;
  }
}

void cz_mv_parts(const cz_tensor *whole, const cz_tensor *parts, int n, int axis, bool gather,
                 const bool *add, bool reference) {
  if (cz_numel(whole) == 0) return;
  size_t es = cz_dtype_size(whole->dtype);
  int rank = whole->shape.rank;
  bool same = true;
  for (int i = 0; i < n; i++)
    if (parts[i].data && parts[i].layout != whole->layout) same = false;
  if (reference || !same) {
    /* Each part is a box of `whole` starting at `off` along the axis. */
    int64_t wst[CZ_MAX_RANK], pst[CZ_MAX_RANK], off = 0;
    cz_strides(&whole->shape, whole->layout, wst);
    for (int i = 0; i < n; i++) {
      const cz_tensor *p = &parts[i];
      bool ad = add && add[i];
      if (p->data && cz_numel(p) > 0) {
        char *box = at(whole->data, off * wst[axis], es);
        cz_strides(&p->shape, p->layout, pst);
        if (gather)
          cz_mv_strided(p->data, pst, box, wst, &p->shape, es, ad, reference);
        else
          cz_mv_strided(box, wst, p->data, pst, &p->shape, es, ad, reference);
      }
      off += p->shape.d[axis];
    }
    return;
  }
  /* All sides share one layout: along the physical position of `axis`,
   * every outer index holds one contiguous block per part (for NHWC and
   * axis 1: the channels of one pixel). */
  int order[CZ_MAX_RANK], pa = 0;
  int64_t pd[CZ_MAX_RANK];
  cz_mv_phys_order(whole->layout, rank, order);
  cz_physical_dims(&whole->shape, whole->layout, pd);
  for (int p = 0; p < rank; p++)
    if (order[p] == axis) pa = p;
  int64_t outer = 1, inner = 1, D = whole->shape.d[axis];
  for (int p = 0; p < pa; p++) outer *= pd[p];
  for (int p = pa + 1; p < rank; p++) inner *= pd[p];
#pragma omp parallel for schedule(static) if (cz_numel(whole) > CZ_PAR_MIN)
  for (int64_t o = 0; o < outer; o++) {
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
      int64_t di = parts[i].shape.d[axis], len = di * inner;
      if (parts[i].data && len > 0) {
        char *w = at(whole->data, (o * D + off) * inner, es);
        char *p = at(parts[i].data, o * len, es);
        bool ad = add && add[i];
        if (gather)
          run(w, 1, p, 1, len, es, ad);
        else
          run(p, 1, w, 1, len, es, ad);
      }
      off += di;
    }
  }
}

void cz_mv_fill(void *dst, int64_t n, const void *val, size_t es, bool reference) {
#pragma omp parallel for schedule(static) if (!reference && n > CZ_PAR_MIN)
  for (int64_t i = 0; i < n; i++) elem(at(dst, i, es), val, es, false);
}
