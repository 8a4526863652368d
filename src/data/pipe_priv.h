/* The cz_pipe struct, shared by pipeline.c and pipe_grid.c. */
#ifndef CZ_DATA_PIPE_PRIV_H
#define CZ_DATA_PIPE_PRIV_H

#include "data/ds_sample.h"
#include "data/pipeline.h"
#include "data/tf.h"
#include "data/tf_train.h"

enum { CZ_PIPE_GRID_MAX = 16, CZ_PIPE_GRID_COLS = 4, CZ_PIPE_GRID_PAD = 2 };

struct cz_pipe {
  cz_pipe_opts opts;
  cz_tf_train tf_train;   /* train split */
  cz_tf_eval tf_eval;     /* other splits */
  cz_ds_sample_ctx sample; /* points at tf_train or tf_eval above */
  cz_loader *loader;
  uint64_t epoch;
  int64_t batch;          /* batches handed out this epoch */
  float *grid;            /* first batch's first grid_n images (save_images) */
  int64_t grid_n;
  /* aug_splits > 1: the split-major batch handed out (S * batch rows). */
  float *sx, *ssoft;
  int64_t *sy, *sindex;
};

#endif
