/* Data movement shared by the shape ops (Concat, Split, Slice, Reshape,
 * Flatten, Transpose, Pad, Identity): copies defined on LOGICAL indices,
 * whatever the memory layout of each side. */
#ifndef CZ_OPS_OP_MOVE_H
#define CZ_OPS_OP_MOVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/tensor.h"

/* For every logical index i of shape s: dst[i . dst_st] = src[i . sst], or
 * += when add (float32 only; es must be 4). Strides are in elements and may
 * be negative (Slice with negative steps); the destination addresses must
 * be distinct. reference: one element at a time in logical order; else
 * axes are merged into contiguous runs and rows are spread over OpenMP
 * threads (same result: each destination element is written once). */
void cz_mv_strided(const void *src, const int64_t *sst, void *dst, const int64_t *dst_st,
                   const cz_shape *s, size_t es, bool add, bool reference);

/* True when the tensor's memory order is the row-major order of its
 * logical shape (ROWMAJOR always; NHWC when C == 1 or H == W == 1). */
bool cz_mv_is_rowmajor(const cz_tensor *t);

/* Reshape semantics: the k-th element of src in row-major logical order
 * goes to the k-th of dst (equal element counts, any shapes and layouts).
 * add as in cz_mv_strided. */
void cz_mv_reshape(const cz_tensor *src, const cz_tensor *dst, bool add, bool reference);

/* Concat / Split: `parts` lie one after another along logical `axis` of
 * `whole`. gather: parts -> whole (Concat forward, Split backward); else
 * whole -> parts (Split forward, Concat backward). Parts whose data is NULL
 * are skipped; add[i] (NULL: none) adds part i's elements into the
 * destination instead of overwriting. */
void cz_mv_parts(const cz_tensor *whole, const cz_tensor *parts, int n, int axis, bool gather,
                 const bool *add, bool reference);

/* Fills n elements of es bytes with the value at `val`. */
void cz_mv_fill(void *dst, int64_t n, const void *val, size_t es, bool reference);

/* The logical axis stored at each physical position, outermost first
 * (NHWC: 0,2,3,1; ROWMAJOR: identity). */
void cz_mv_phys_order(cz_layout l, int rank, int order[CZ_MAX_RANK]);

#endif
