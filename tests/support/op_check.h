/* Test support for ops: run a small graph forward and backward with a
 * random upstream gradient, check gradients against central finite
 * differences, and compare the fast kernels with the reference ones. */
#ifndef CZ_TEST_OP_CHECK_H
#define CZ_TEST_OP_CHECK_H
#include <stdbool.h>
#include <stdint.h>

#include "graph/exec.h"
#include "graph/graph.h"

/* Data for every graph input, logical row-major (NCHW), as floats or the
 * input's dtype; ct_inputs_random makes normal(0,1) floats for float
 * inputs (scaled by `scale`) and leaves others zero. */
typedef struct {
  int n;
  void *data[CZ_MAX_IO];
} ct_inputs;
ct_inputs ct_inputs_random(const cz_graph *g, uint64_t seed, float scale);
void ct_inputs_free(ct_inputs *in);

/* Fills every PARAM and BUFFER of g with normal(0,1) * scale (+ offset). */
void ct_params_random(cz_graph *g, uint64_t seed, float scale);

/* One forward (and backward, when backward) run: output values and the
 * gradients of every parameter and requires_grad input, all row-major. */
typedef struct {
  int n_out;
  float *out[CZ_MAX_IO];
  int64_t out_n[CZ_MAX_IO];
  int n_grad;
  int grad_value[64];
  float *grad[64];
  int64_t grad_n[64];
  size_t arena_bytes;
} ct_run;
/* Upstream gradients are normal(0,1) from `seed`. */
ct_run ct_run_graph(cz_graph *g, const ct_inputs *in, bool training, bool backward,
                    bool reference, uint64_t seed);
void ct_run_free(ct_run *r);

/* Largest |a-b| / max(|a|,|b|, floor) over outputs and gradients. */
double ct_compare_runs(const ct_run *a, const ct_run *b, double floor);

/* Central finite differences of L = sum_i r_i * y_i (r from `seed`, the
 * same upstream gradient as ct_run_graph) in double, with step h, on up to
 * `max_elems` elements of each parameter and requires_grad float input.
 * Returns the largest |fd - analytic| / max(|fd|, |analytic|, floor).
 * Prints the worst element when verbose. */
double ct_check_fd(cz_graph *g, const ct_inputs *in, bool training, double h, int max_elems,
                   uint64_t seed, double floor, bool verbose);
#endif
