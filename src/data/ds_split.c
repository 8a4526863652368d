/* Carving and subsetting splits. Rule: k = floor(frac * n) computed in
 * double (Python's int(n * frac)); a Philox stream keyed by (seed, purpose)
 * shuffles 0..n-1 (Fisher-Yates) and the first k indices of that
 * permutation are taken. Both sides keep the original listing order. */
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "util/mem.h"
#include "util/rng.h"

void cz_ds_split_free(cz_ds_split *s) {
  for (size_t i = 0; i < s->n; i++) free(s->s[i].path);
  free(s->s);
  memset(s, 0, sizeof *s);
}

void cz_ds_free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

static cz_ds_sample sample_copy(const cz_ds_sample *x) {
  return (cz_ds_sample){x->path ? cz_xstrdup(x->path) : NULL, x->index, x->label};
}

void cz_ds_split_copy(const cz_ds_split *src, cz_ds_split *dst) {
  dst->n = src->n;
  dst->images = src->images;
  dst->s = src->n ? cz_xmalloc(src->n * sizeof *dst->s) : NULL;
  for (size_t i = 0; i < src->n; i++) dst->s[i] = sample_copy(&src->s[i]);
}

/* Marks the k chosen indices of 0..n-1. */
static unsigned char *choose(size_t n, size_t k, uint64_t seed, uint64_t purpose) {
  uint32_t *perm = cz_xmalloc((n ? n : 1) * sizeof *perm);
  for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
  cz_rng r = cz_rng_make(seed, purpose);
  cz_rng_shuffle_u32(&r, perm, n);
  unsigned char *mark = cz_xcalloc(n ? n : 1, 1);
  for (size_t i = 0; i < k; i++) mark[perm[i]] = 1;
  free(perm);
  return mark;
}

static size_t take_count(size_t n, double frac) {
  return (size_t)(frac * (double)n);
}

cz_err *cz_ds_carve(cz_ds_split *from, double frac, uint64_t seed, uint64_t purpose,
                    const char *what, cz_ds_split *taken) {
  size_t n = from->n, k = take_count(n, frac);
  if (n > UINT32_MAX)
    return cz_err_new(CZ_EXIT_USAGE, "%s: %zu samples: expected at most %u", what, n,
                      UINT32_MAX);
  if (k == 0 || k == n)
    return cz_err_new(CZ_EXIT_USAGE,
                      "%s = %g of %zu training samples leaves %zu for validation and %zu "
                      "for training: expected at least one in each",
                      what, frac, n, k, n - k);
  unsigned char *mark = choose(n, k, seed, purpose);
  cz_ds_sample *t = cz_xmalloc(k * sizeof *t), *kept = cz_xmalloc((n - k) * sizeof *kept);
  size_t a = 0, b = 0;
  for (size_t i = 0; i < n; i++) {
    if (mark[i]) t[a++] = from->s[i];
    else kept[b++] = from->s[i];
  }
  free(mark);
  free(from->s);
  from->s = kept;
  from->n = n - k;
  *taken = (cz_ds_split){t, k, from->images};
  return NULL;
}

void cz_ds_subset(const cz_ds_split *src, double frac, uint64_t seed, uint64_t purpose,
                  cz_ds_split *out) {
  size_t n = src->n, k = take_count(n, frac);
  if (k == 0 && n > 0) k = 1; /* calibration needs at least one image */
  unsigned char *mark = choose(n, k, seed, purpose);
  out->s = cz_xmalloc((k ? k : 1) * sizeof *out->s);
  out->n = 0;
  out->images = src->images;
  for (size_t i = 0; i < n; i++)
    if (mark[i]) out->s[out->n++] = sample_copy(&src->s[i]);
  free(mark);
}
