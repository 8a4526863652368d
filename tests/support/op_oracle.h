/* Runs one PyTorch oracle case: a CZT1 bundle written by
 * tests/oracle/gen_op_cases.py (its docstring describes the bundle and the
 * spec mini-language) becomes a one-node graph, run forward and backward,
 * and its outputs, gradients and updated buffers are compared with
 * PyTorch's. */
#ifndef CZ_TEST_OP_ORACLE_H
#define CZ_TEST_OP_ORACLE_H
#include <stdbool.h>

#include "tensor_file.h"

typedef struct {
  char op[64];
  /* Max relative error over outputs and updated buffers (fwd) and over
   * gradients (bwd; has_bwd false when the case has none): per tensor,
   * max|czoo - ref| / max(max|ref|, 1e-6); NaN or Inf counts as infinite. */
  double fwd_err, bwd_err;
  bool has_bwd;
  double bound;
  char worst[96];  /* the tensor with the largest error */
  char msg[512];   /* why the case could not run ("" when it ran) */
} ct_oracle_result;

/* Runs the case with the fast (reference = false) or the reference
 * kernels. True when it ran and both errors are within the bound; any
 * failure (unknown or unimplemented op, shape rule error, shape mismatch,
 * missing gradient) is described in r->msg rather than aborting. */
bool ct_oracle_run(const ct_bundle *b, bool reference, ct_oracle_result *r);

/* The op named in the bundle's spec ("" when there is none). */
void ct_oracle_op(const ct_bundle *b, char *op, int size);
#endif
