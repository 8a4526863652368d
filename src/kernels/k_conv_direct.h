/* Direct (implicit GEMM) convolution for kernels with few taps per output
 * (k_conv_direct.c); k_conv.c uses it in place of im2col when it applies. */
#ifndef CZ_KERNELS_K_CONV_DIRECT_H
#define CZ_KERNELS_K_CONV_DIRECT_H
#include <stdbool.h>
#include <stddef.h>

#include "kernels/k_conv.h"

/* Largest kH*kW*C/group handled (one block of the micro-kernels' K). */
#define CZ_K_DIRECT_MAX_K 256

bool cz_k_direct_ok(const cz_k_conv *p);

/* Scratch floats (64-byte aligned) and the forward pass: y = conv + b. */
size_t cz_k_direct_fwd_floats(const cz_k_conv *p);
void cz_k_direct_forward(const cz_k_conv *p, const float *x, const float *w, const float *b,
                         float *y, float *work, const float *packed);
/* The weights packed once (inference): floats, and the packing, made at
 * the current instruction set; `packed` for cz_k_direct_forward (NULL:
 * packs w into the scratch on every call). */
size_t cz_k_direct_packed_floats(const cz_k_conv *p);
void cz_k_direct_pack(const cz_k_conv *p, const float *w, float *packed);

/* Scratch floats and the weight gradient, overwriting dw or adding to it. */
size_t cz_k_direct_dw_floats(const cz_k_conv *p);
void cz_k_direct_dw(const cz_k_conv *p, const float *x, const float *dy, float *dw, bool acc,
                    float *work);
#endif
