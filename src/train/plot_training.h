/* The training curves of a run as three PNG charts in one directory:
 * loss.png (train and eval loss), accuracy.png (eval top-1 and top-5) and
 * lr.png (learning rate), each 800x500, per epoch, from the summary rows. */
#ifndef CZ_TRAIN_PLOT_TRAINING_H
#define CZ_TRAIN_PLOT_TRAINING_H

#include "train/metrics_summary.h"
#include "util/err.h"

enum { CZ_PLOT_WIDTH = 800, CZ_PLOT_HEIGHT = 500 };

/* Rewrites dir/loss.png, dir/accuracy.png and dir/lr.png (atomically) from
 * rows[0..n), n >= 1. */
cz_err *cz_plot_training(const char *dir, const cz_summary_row *rows, int n);

#endif
