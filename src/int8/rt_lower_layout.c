/* Layout arithmetic of the int8 lowering's data-movement ops (see
 * rt_lower_layout.h). */
#include "int8/rt_lower_layout.h"

#include <string.h>

void rtl_default(const cz_shape *s, rtl_layout *l) {
  l->shape = *s;
  for (int a = 0; a < CZ_MAX_RANK; a++) l->ord[a] = (int8_t)a;
  if (s->rank == 4) l->ord[1] = 2, l->ord[2] = 3, l->ord[3] = 1;
}

bool rtl_is_default(const rtl_layout *l) {
  rtl_layout d;
  rtl_default(&l->shape, &d);
  return memcmp(d.ord, l->ord, sizeof d.ord) == 0;
}

/* Element stride of each logical dim (>= 1) within an image. */
static void strides(const rtl_layout *l, int64_t st[CZ_MAX_RANK]) {
  int64_t s = 1;
  for (int k = l->shape.rank - 1; k >= 1; k--) {
    st[l->ord[k]] = s;
    s *= l->shape.d[l->ord[k]];
  }
}

static bool add_factor(rtl_map *m, int64_t size, int64_t stride, int dim) {
  if (m->n == RTL_MAX_F) return false;
  m->size[m->n] = size, m->stride[m->n] = stride, m->dim[m->n] = dim;
  m->n++;
  return true;
}

bool rtl_map_transpose(const rtl_layout *x, const int *perm, rtl_map *m) {
  int64_t st[CZ_MAX_RANK];
  strides(x, st);
  memset(m, 0, sizeof *m);
  if (perm[0] != 0) return false;
  m->out.rank = x->shape.rank;
  m->out.d[0] = x->shape.d[0];
  for (int k = 1; k < x->shape.rank; k++) {
    m->out.d[k] = x->shape.d[perm[k]];
    add_factor(m, x->shape.d[perm[k]], st[perm[k]], k);
  }
  return true;
}

bool rtl_map_slice(const rtl_layout *x, const int64_t *start, const int64_t *step,
                   const cz_shape *out, rtl_map *m) {
  int64_t st[CZ_MAX_RANK];
  strides(x, st);
  memset(m, 0, sizeof *m);
  if (start[0] != 0 || step[0] != 1 || out->d[0] != x->shape.d[0] || out->rank != x->shape.rank)
    return false;
  m->out = *out;
  for (int k = 1; k < out->rank; k++) {
    m->base += start[k] * st[k];
    add_factor(m, out->d[k], st[k] * step[k], k);
  }
  return true;
}

bool rtl_map_reshape(const rtl_layout *x, const cz_shape *out, rtl_map *m) {
  int64_t st[CZ_MAX_RANK];
  strides(x, st);
  memset(m, 0, sizeof *m);
  m->out = *out;
  const int ri = x->shape.rank, ro = out->rank;
  if (ri < 1 || ro < 1 || x->shape.d[0] != out->d[0]) return false;
  int64_t pi = 1, po = 1;
  for (int a = 1; a < ri; a++) pi *= x->shape.d[a];
  for (int a = 1; a < ro; a++) po *= out->d[a];
  if (pi != po) return false;
  /* the common refinement, row-major, with each factor's input dim */
  int fin[RTL_MAX_F];
  int i = 1, j = 1;
  int64_t ra = i < ri ? x->shape.d[i] : 1, rb = j < ro ? out->d[j] : 1;
  while (i < ri && j < ro) {
    if (ra == 1) {
      ra = ++i < ri ? x->shape.d[i] : 1;
      continue;
    }
    if (rb == 1) {
      rb = ++j < ro ? out->d[j] : 1;
      continue;
    }
    int64_t f;
    if (ra == rb) f = ra;
    else if (rb % ra == 0) f = ra;
    else if (ra % rb == 0) f = rb;
    else return false;
    if (m->n == RTL_MAX_F) return false;
    fin[m->n] = i;
    add_factor(m, f, 0, j);
    ra /= f, rb /= f;
  }
  /* strides: within an input dim, a factor steps over the later ones */
  int64_t inner[CZ_MAX_RANK];
  for (int a = 0; a < CZ_MAX_RANK; a++) inner[a] = 1;
  for (int f = m->n - 1; f >= 0; f--) {
    m->stride[f] = st[fin[f]] * inner[fin[f]];
    inner[fin[f]] *= m->size[f];
  }
  return true;
}

/* The output's (size, stride) runs in layout y's physical order, size-1
 * dims dropped and contiguous neighbours merged; returns the count. */
static int runs(const rtl_map *m, const rtl_layout *y, int64_t *size, int64_t *stride) {
  int n = 0;
  for (int k = 1; k < y->shape.rank; k++)
    for (int f = 0; f < m->n; f++) {
      if (m->dim[f] != y->ord[k] || m->size[f] == 1) continue;
      if (n > 0 && stride[n - 1] == m->stride[f] * m->size[f]) {
        size[n - 1] *= m->size[f];
        stride[n - 1] = m->stride[f];
        continue;
      }
      size[n] = m->size[f], stride[n] = m->stride[f];
      n++;
    }
  if (n == 0) size[0] = 1, stride[0] = 1, n = 1;
  return n;
}

bool rtl_is_identity(const rtl_map *m, const rtl_layout *y, int64_t in_elems) {
  int64_t size[RTL_MAX_F], stride[RTL_MAX_F];
  int n = runs(m, y, size, stride);
  return n == 1 && stride[0] == 1 && m->base == 0 && size[0] == in_elems;
}

void rtl_pick_order(const rtl_map *m, int64_t in_elems, rtl_layout *y) {
  rtl_default(&m->out, y);
  const int r = m->out.rank;
  if (r == 4) return; /* maps are NHWC: the kernels read them so */
  int64_t key[CZ_MAX_RANK];
  for (int k = 1; k < r; k++) { /* each dim's factors must form one run */
    rtl_layout one = {.shape = m->out};
    one.shape.rank = 2;
    one.ord[0] = 0, one.ord[1] = (int8_t)k;
    int64_t size[RTL_MAX_F], stride[RTL_MAX_F];
    if (runs(m, &one, size, stride) != 1) return;
    key[k] = m->out.d[k] == 1 ? INT64_MAX : stride[0];
  }
  rtl_layout c = *y;
  for (int a = 1; a < r; a++) /* stable insertion sort, largest stride first */
    for (int b = a; b > 1 && key[c.ord[b - 1]] < key[c.ord[b]]; b--) {
      int8_t t = c.ord[b];
      c.ord[b] = c.ord[b - 1], c.ord[b - 1] = t;
    }
  if (rtl_is_identity(m, &c, in_elems)) *y = c;
}

bool rtl_gather(const rtl_map *m, const rtl_layout *y, int64_t in_elems, rt_move_p *p) {
  int64_t size[RTL_MAX_F], stride[RTL_MAX_F];
  int n = runs(m, y, size, stride);
  memset(p, 0, sizeof *p);
  int first = n > 1 ? 1 : 0; /* the outermost run makes the rows */
  if (n - first > RT_MOVE_MAX_DIMS) return false;
  int64_t len = 1;
  for (int k = first; k < n; k++) len *= size[k];
  if (len > (1 << 30) || in_elems > ((int64_t)1 << 30)) return false;
  p->rows = first ? (int)size[0] : 1;
  p->row_stride = first ? (long)stride[0] : 0;
  p->ndim = n - first;
  for (int k = first; k < n; k++) {
    p->size[k - first] = (int)size[k];
    p->x_stride[k - first] = (long)stride[k];
  }
  p->row_len = (int)len;
  p->x_image = (long)in_elems;
  p->x_off = (long)m->base;
  return true;
}
