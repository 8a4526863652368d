/* Instantiates the four micro-kernels of one tile shape (k_gemm_ukr.h in
 * A modes t, o, r, i) for k_gemm.c; no include guard on purpose. Define
 * SET(mode, mr, nv) (the function name), SET_MRT (rows of t and o),
 * SET_MRR (rows of r and i) and SET_NV, besides the vector macros. */
#define UKR_NAME SET(t, SET_MRT, SET_NV)
#define MR SET_MRT
#define NV SET_NV
#define AMODE 0
#include "kernels/k_gemm_ukr.h"
#define UKR_NAME SET(o, SET_MRT, SET_NV)
#define MR SET_MRT
#define NV SET_NV
#define AMODE 3
#include "kernels/k_gemm_ukr.h"
#define UKR_NAME SET(r, SET_MRR, SET_NV)
#define MR SET_MRR
#define NV SET_NV
#define AMODE 1
#include "kernels/k_gemm_ukr.h"
#define UKR_NAME SET(i, SET_MRR, SET_NV)
#define MR SET_MRR
#define NV SET_NV
#define AMODE 2
#include "kernels/k_gemm_ukr.h"
#undef SET_MRT
#undef SET_MRR
#undef SET_NV
