/* Arena placement by buffer lifetimes (see exec_plan.h). */
#include "graph/exec_plan.h"

#include <stdlib.h>

#include "util/mem.h"

#define ALIGN 64

static int by_size_desc(const void *a, const void *b) {
  const cz_plan_buf *x = *(const cz_plan_buf *const *)a, *y = *(const cz_plan_buf *const *)b;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  if (x->birth != y->birth) return x->birth < y->birth ? -1 : 1;
  return x < y ? -1 : (x > y);
}

static int by_offset(const void *a, const void *b) {
  const cz_plan_buf *x = *(const cz_plan_buf *const *)a, *y = *(const cz_plan_buf *const *)b;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return 0;
}

size_t cz_plan_place(cz_plan_buf *b, int n) {
  if (n == 0) return 0;
  cz_plan_buf **order = cz_xmalloc((size_t)n * sizeof *order);
  cz_plan_buf **placed = cz_xmalloc((size_t)n * sizeof *placed);
  cz_plan_buf **live = cz_xmalloc((size_t)n * sizeof *live);
  for (int i = 0; i < n; i++) order[i] = &b[i];
  qsort(order, (size_t)n, sizeof *order, by_size_desc);
  int np = 0;
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    cz_plan_buf *x = order[i];
    size_t need = (x->bytes + ALIGN - 1) / ALIGN * ALIGN;
    /* Placed buffers alive at the same time, by offset; take the first gap
     * that fits. */
    int nl = 0;
    for (int j = 0; j < np; j++)
      if (placed[j]->birth <= x->death && x->birth <= placed[j]->death) live[nl++] = placed[j];
    qsort(live, (size_t)nl, sizeof *live, by_offset);
    size_t off = 0;
    for (int j = 0; j < nl; j++) {
      size_t lo = live[j]->offset;
      size_t hi = lo + (live[j]->bytes + ALIGN - 1) / ALIGN * ALIGN;
      if (off + need <= lo) break;
      if (hi > off) off = hi;
    }
    x->offset = off;
    if (off + need > total) total = off + need;
    placed[np++] = x;
  }
  free(order);
  free(placed);
  free(live);
  return total;
}
