/* Shapes, layouts and layout conversion for the engine's tensors. */
#include "tensor/tensor.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t cz_dtype_size(cz_dtype t) {
  switch (t) {
    case CZ_F32: return 4;
    case CZ_I64: return 8;
    case CZ_I32: return 4;
    case CZ_I8: return 1;
    case CZ_U8: return 1;
  }
  return 0;
}

const char *cz_dtype_name(cz_dtype t) {
  switch (t) {
    case CZ_F32: return "float32";
    case CZ_I64: return "int64";
    case CZ_I32: return "int32";
    case CZ_I8: return "int8";
    case CZ_U8: return "uint8";
  }
  return "?";
}

cz_shape cz_shape_make(int rank, const int64_t *d) {
  assert(rank >= 0 && rank <= CZ_MAX_RANK);
  cz_shape s = {.rank = rank};
  for (int i = 0; i < rank; i++) s.d[i] = d[i];
  return s;
}

cz_shape cz_shape1(int64_t a) { return (cz_shape){.rank = 1, .d = {a}}; }
cz_shape cz_shape2(int64_t a, int64_t b) { return (cz_shape){.rank = 2, .d = {a, b}}; }
cz_shape cz_shape4(int64_t n, int64_t c, int64_t h, int64_t w) {
  return (cz_shape){.rank = 4, .d = {n, c, h, w}};
}

int64_t cz_shape_numel(const cz_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n *= s->d[i];
  return n;
}

bool cz_shape_eq(const cz_shape *a, const cz_shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i]) return false;
  return true;
}

char *cz_shape_str(const cz_shape *s, char *buf, size_t size) {
  size_t k = 0;
  int w = snprintf(buf, size, "[");
  if (w > 0) k = (size_t)w;
  for (int i = 0; i < s->rank && k < size; i++) {
    w = snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)s->d[i]);
    if (w > 0) k += (size_t)w;
  }
  if (k < size) snprintf(buf + k, size - k, "]");
  return buf;
}

void cz_strides(const cz_shape *s, cz_layout l, int64_t st[CZ_MAX_RANK]) {
  if (l == CZ_NHWC) {
    assert(s->rank == 4);
    int64_t c = s->d[1], h = s->d[2], w = s->d[3];
    st[0] = h * w * c;
    st[1] = 1;
    st[2] = w * c;
    st[3] = c;
    return;
  }
  int64_t acc = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s->d[i];
  }
}

void cz_physical_dims(const cz_shape *s, cz_layout l, int64_t pd[CZ_MAX_RANK]) {
  if (l == CZ_NHWC) {
    pd[0] = s->d[0];
    pd[1] = s->d[2];
    pd[2] = s->d[3];
    pd[3] = s->d[1];
    return;
  }
  for (int i = 0; i < s->rank; i++) pd[i] = s->d[i];
}

/* Recursive over axes; the innermost axis is a tight loop. */
static void copy_rec(const char *src, const int64_t *sst, char *dst, const int64_t *dst_st,
                     const cz_shape *s, int axis, size_t es) {
  int64_t n = s->d[axis];
  if (axis == s->rank - 1) {
    if (sst[axis] == 1 && dst_st[axis] == 1) {
      memcpy(dst, src, (size_t)n * es);
      return;
    }
    for (int64_t i = 0; i < n; i++)
      memcpy(dst + (size_t)(i * dst_st[axis]) * es, src + (size_t)(i * sst[axis]) * es, es);
    return;
  }
  for (int64_t i = 0; i < n; i++)
    copy_rec(src + (size_t)(i * sst[axis]) * es, sst, dst + (size_t)(i * dst_st[axis]) * es,
             dst_st, s, axis + 1, es);
}

void cz_strided_copy(const void *src, const int64_t *sst, void *dst, const int64_t *dst_st,
                     const cz_shape *s, size_t elem_size) {
  if (cz_shape_numel(s) == 0) return;
  if (s->rank == 0) {
    memcpy(dst, src, elem_size);
    return;
  }
  copy_rec(src, sst, dst, dst_st, s, 0, elem_size);
}

/* A network's input, converted once per batch: plain loops over 4-byte
 * elements (the generic copy moves one element per call). */
static void nchw_to_nhwc(const void *src, void *dst, const cz_shape *s) {
  const int64_t N = s->d[0], C = s->d[1], HW = s->d[2] * s->d[3];
  const uint32_t *x = src;
  uint32_t *y = dst;
  for (int64_t n = 0; n < N; n++, x += C * HW, y += C * HW) {
    if (C == 3) { /* RGB images: a fixed count the compiler unrolls */
      for (int64_t i = 0; i < HW; i++) {
        y[3 * i] = x[i];
        y[3 * i + 1] = x[HW + i];
        y[3 * i + 2] = x[2 * HW + i];
      }
      continue;
    }
    for (int64_t i = 0; i < HW; i++)
      for (int64_t c = 0; c < C; c++) y[i * C + c] = x[c * HW + i];
  }
}

void cz_relayout(const void *src, cz_layout ls, void *dst, cz_layout ld, const cz_shape *s,
                 size_t elem_size) {
  if (ls == ld) {
    memcpy(dst, src, (size_t)cz_shape_numel(s) * elem_size);
    return;
  }
  if (ls == CZ_ROWMAJOR && ld == CZ_NHWC && elem_size == sizeof(float)) {
    nchw_to_nhwc(src, dst, s);
    return;
  }
  int64_t a[CZ_MAX_RANK], b[CZ_MAX_RANK];
  cz_strides(s, ls, a);
  cz_strides(s, ld, b);
  cz_strided_copy(src, a, dst, b, s, elem_size);
}
