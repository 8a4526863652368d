/* The int8 plan and its executor (host side): a list of kernel calls over
 * int8 NHWC buffers, planned once for a maximum batch by the lowering of a
 * QDQ graph (rt_lower.h). The float image batch is quantized at the entry
 * and the output tensor dequantized at the end; everything between is the
 * integer kernels of rt_kernels.h (their fast variants on the host), split
 * by output rows between the compute threads. Owns every buffer. */
#ifndef CZ_INT8_RT_PLAN_H
#define CZ_INT8_RT_PLAN_H
#include <stdint.h>

#include "int8/rt_fast.h"
#include "int8/rt_kernels.h"

typedef enum {
  RT_STEP_CONV, /* convolution or fully connected (rt_conv_fast) */
  RT_STEP_ADD,
  RT_STEP_MUL,
  RT_STEP_LUT,
  RT_STEP_AVGPOOL,
  RT_STEP_MAXPOOL,
  RT_STEP_GAVGPOOL,
  RT_STEP_COPY, /* requantizing copy: Concat slices, reshapes, scale changes */
} rt_step_kind;

/* One int8 tensor of the plan, per image: elems = H*W*C (or the row). */
typedef struct {
  char *name;
  int64_t elems;
  float scale;
  int32_t zp; /* int8 domain (a uint8 tensor's zero point minus 128) */
  int8_t *data; /* batch x elems */
} rt_tensor;

typedef struct {
  rt_step_kind kind;
  char *node; /* the graph node it came from (errors, profiles) */
  int in0, in1, out;
  int rows;        /* kernel rows per image */
  int64_t work;    /* multiply-adds (or elements) per image: sizes the thread count */
  int64_t out_off; /* COPY: element offset of the slice in the output's row */
  rt_conv_fast conv;
  rt_add_p add;
  rt_mul_p mul;
  int8_t lut[256];
  int lut_row;
  rt_pool_p pool;
  int32_t *pool_mult, *pool_shift; /* owned */
  rt_requant_copy_p copy;
  void *own[6]; /* arrays the kernel parameters point into (weights, ...) */
} rt_step;

typedef struct rt_plan {
  int batch;        /* the largest batch a run may pass */
  int n_tensors, n_steps;
  rt_tensor *tensors;
  rt_step *steps;
  int input, output; /* tensor ids */
  int in_c, in_h, in_w;
  int out_dims;      /* output elements per image */
  int input_u8, output_u8; /* the file's types (for reports) */
  void *scratch;     /* CZ_K_SLOTS slots of scratch_slot bytes */
  size_t scratch_slot;
  double *prof;      /* NULL, or n_steps seconds each run adds to (profiles) */
} rt_plan;

/* Runs n (<= batch) float NHWC images x through the plan into n rows of
 * dequantized float outputs. */
void rt_plan_run(rt_plan *p, const float *x, int n, float *out);
/* Same, with the reference kernels only (the code the board runs): tests
 * compare the two bit for bit. */
void rt_plan_run_ref(rt_plan *p, const float *x, int n, float *out);
/* The int8 output of the last run (n x out_dims), for tests. */
const int8_t *rt_plan_output_q(const rt_plan *p);
void rt_plan_free(rt_plan *p);
#endif
