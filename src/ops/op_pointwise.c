/* Helpers of the pointwise ops (op_pointwise.h). */
#include "ops/op_pointwise.h"

#include <math.h>

#include "util/rng.h"

int64_t cz_relayout_index(int64_t p, const cz_shape *s, cz_layout from, cz_layout to) {
  if (from == to) return p;
  /* Physical extents of `from`, innermost last; peel the index apart, then
   * map each physical axis back to its logical axis. */
  int64_t pd[CZ_MAX_RANK], idx[CZ_MAX_RANK], st[CZ_MAX_RANK];
  cz_physical_dims(s, from, pd);
  for (int i = s->rank - 1; i >= 0; i--) {
    idx[i] = pd[i] ? p % pd[i] : 0;
    p = pd[i] ? p / pd[i] : 0;
  }
  int64_t logical[CZ_MAX_RANK];
  if (from == CZ_NHWC) { /* physical N,H,W,C */
    logical[0] = idx[0], logical[1] = idx[3], logical[2] = idx[1], logical[3] = idx[2];
  } else {
    for (int i = 0; i < s->rank; i++) logical[i] = idx[i];
  }
  cz_strides(s, to, st);
  int64_t q = 0;
  for (int i = 0; i < s->rank; i++) q += logical[i] * st[i];
  return q;
}

int64_t cz_macc_per_out(const cz_graph *g, const cz_node *n) {
  return cz_shape_numel(&g->values[n->out[0]].shape);
}

cz_mask_stream cz_mask_stream_make(const cz_kctx *k, uint64_t tag) {
  cz_mask_stream s = {.key = {(uint32_t)k->seed, (uint32_t)(k->seed >> 32)},
                      .stream = cz_rng_stream(tag, k->step, (uint64_t)k->node_index)};
  return s;
}

void cz_mask_block(const cz_mask_stream *s, uint64_t block, uint32_t w[4]) {
  /* The counter layout of cz_rng: block number low words, stream id high. */
  uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)s->stream,
                     (uint32_t)(s->stream >> 32)};
  cz_philox4x32_10(ctr, s->key, w);
}

uint32_t cz_mask_threshold(float p) {
  double t = ldexp((double)p, 32);
  if (t <= 0) return 0;
  if (t >= 4294967295.0) return UINT32_MAX;
  return (uint32_t)llround(t);
}
