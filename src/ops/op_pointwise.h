/* Shared pieces of the pointwise ops (activations, dropout): a kernel
 * template that keeps each activation's forward and derivative together in
 * its own file, and the index mapping for the rare pair of layouts. */
#ifndef CZ_OPS_OP_POINTWISE_H
#define CZ_OPS_OP_POINTWISE_H
#include "ops/op.h"
#include "ops/op_util.h"

/* Offset, in layout `to`, of the element stored at offset p in layout
 * `from` (both of logical shape s). Same-shape ops whose input is a rank-4
 * constant (ROWMAJOR) and whose output is an activation (NHWC) use it. */
int64_t cz_relayout_index(int64_t p, const cz_shape *s, cz_layout from, cz_layout to);

/* MACC of one per output element (documented choice for every arithmetic
 * pointwise op: one operation per element, whatever its cost in cycles). */
int64_t cz_macc_per_out(const cz_graph *g, const cz_node *n);

/* Random words of a dropout-style mask: element (or sample) i gets word
 * i % 4 of Philox block i / 4 of the stream keyed by the run's seed and
 * (tag, step, node index). Any thread can produce any element's word, so
 * the mask is the same for every thread count, and backward regenerates it
 * instead of storing it. */
typedef struct {
  uint32_t key[2];
  uint64_t stream;
} cz_mask_stream;
cz_mask_stream cz_mask_stream_make(const cz_kctx *k, uint64_t tag);
void cz_mask_block(const cz_mask_stream *s, uint64_t block, uint32_t w[4]);
/* Keep threshold for drop probability p in [0, 1): a word is kept when it
 * is >= the threshold, so P(drop) = threshold / 2^32 (within 2^-32 of p). */
uint32_t cz_mask_threshold(float p);

/* Which forward tensor an activation's derivative reads. */
#define CZ_UX 1 /* the input x */
#define CZ_UY 2 /* the output y */

/* Instantiates `static void pfx##_forward(cz_kctx *)` and
 * `pfx##_backward` of an activation from two functions the op file defines
 * just above:
 *   static inline float pfx##_f(float x, const T *p);            y = f(x)
 *   static inline float pfx##_df(float x, float y, const T *p);  dy/dx
 * p is n->priv (NULL for ops without attributes); USE (CZ_UX and/or CZ_UY)
 * says which of x and y df reads, the other is passed as 0 and must match
 * the op's bwd_needs. The reference kernel is the plain loop; the fast one
 * is the same loop threaded, so the two agree bit for bit. */
#define CZ_UNARY_KERNELS(pfx, T, USE)                                                  \
  static void pfx##_forward(cz_kctx *k) {                                              \
    const T *p = (const T *)k->node->priv;                                             \
    const float *x = cz_f32(&k->in[0]);                                                \
    float *y = cz_f32(&k->out[0]);                                                     \
    int64_t n = cz_numel(&k->out[0]);                                                  \
    if (k->in[0].layout != k->out[0].layout) {                                         \
      for (int64_t i = 0; i < n; i++)                                                  \
        y[i] = pfx##_f(x[cz_relayout_index(i, &k->out[0].shape, k->out[0].layout,      \
                                           k->in[0].layout)],                          \
                       p);                                                             \
      return;                                                                          \
    }                                                                                  \
    if (k->reference) {                                                                \
      for (int64_t i = 0; i < n; i++) y[i] = pfx##_f(x[i], p);                         \
      return;                                                                          \
    }                                                                                  \
    _Pragma("omp parallel for simd schedule(static) if (n > CZ_PAR_MIN)")              \
    for (int64_t i = 0; i < n; i++) y[i] = pfx##_f(x[i], p);                           \
  }                                                                                    \
  static void pfx##_backward(cz_kctx *k) {                                             \
    if (!k->gin[0].data) return;                                                       \
    const T *restrict p = (const T *)k->node->priv;                                    \
    const float *restrict x = cz_f32(&k->in[0]);                                       \
    const float *restrict y = cz_f32(&k->out[0]);                                      \
    const float *restrict gy = cz_f32(&k->gout[0]);                                    \
    float *restrict gx = cz_f32(&k->gin[0]);                                           \
    bool acc = k->gin_acc[0];                                                          \
    int64_t n = cz_numel(&k->out[0]);                                                  \
    if (k->in[0].layout != k->out[0].layout) {                                         \
      for (int64_t i = 0; i < n; i++) {                                                \
        int64_t j = cz_relayout_index(i, &k->out[0].shape, k->out[0].layout,           \
                                      k->in[0].layout);                                \
        float g = gy[i] * pfx##_df(((USE)&CZ_UX) ? x[j] : 0.0f,                        \
                                   ((USE)&CZ_UY) ? y[i] : 0.0f, p);                    \
        gx[j] = acc ? gx[j] + g : g;                                                   \
      }                                                                                \
      return;                                                                          \
    }                                                                                  \
    /* Separate loops for overwrite and add, restrict pointers: both        */         \
    /* vectorize (a select per element instead of a mispredicted branch).   */         \
    if (acc) {                                                                         \
      _Pragma("omp parallel for simd schedule(static) if (n > CZ_PAR_MIN && !k->reference)") \
      for (int64_t i = 0; i < n; i++)                                                  \
        gx[i] += gy[i] * pfx##_df(((USE)&CZ_UX) ? x[i] : 0.0f,                         \
                                  ((USE)&CZ_UY) ? y[i] : 0.0f, p);                     \
    } else {                                                                           \
      _Pragma("omp parallel for simd schedule(static) if (n > CZ_PAR_MIN && !k->reference)") \
      for (int64_t i = 0; i < n; i++)                                                  \
        gx[i] = gy[i] * pfx##_df(((USE)&CZ_UX) ? x[i] : 0.0f,                          \
                                 ((USE)&CZ_UY) ? y[i] : 0.0f, p);                      \
    }                                                                                  \
  }
#endif
