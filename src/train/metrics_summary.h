/* summary.csv, the per-epoch metrics table of a training run, in the format
 * timm's train.py writes (timm/utils/summary.py::update_summary): header
 * "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr" written when the file
 * is new or empty, one row per epoch, numbers as Python's str() prints them
 * (the epoch as an integer, the rest as float repr), lines ended "\r\n" as
 * Python's csv module (excel dialect) ends them. Every change rewrites the
 * whole file atomically (util/atomic_file.h): a kill at any moment leaves
 * either the old or the new table, never a truncated one. */
#ifndef CZ_TRAIN_METRICS_SUMMARY_H
#define CZ_TRAIN_METRICS_SUMMARY_H

#include "util/err.h"

typedef struct {
  int epoch;
  double train_loss, eval_loss;
  double eval_top1, eval_top5; /* percentages, as timm's accuracy() */
  double lr;                   /* mean over parameter groups */
} cz_summary_row;

/* The row's CSV line, "\r\n" included (caller frees). */
char *cz_summary_format_row(const cz_summary_row *row);

/* Appends row to the table at path (creating it, header first, when it is
 * missing or empty). */
cz_err *cz_summary_append(const char *path, const cz_summary_row *row);

/* Replaces the table at path by the header and these n rows (an empty
 * file when n is 0: the next append writes the header). A resumed run
 * writes the rows its checkpoint carries this way. */
cz_err *cz_summary_write(const char *path, const cz_summary_row *rows, int n);

/* For a resumed run, as timm's trim_summary: keeps the header line and the
 * rows whose epoch is < start_epoch (dropping repeated headers, blank rows
 * and rows whose epoch is not a number); when no row is left the file
 * becomes empty (the next append writes the header again). A missing file
 * is left missing. */
cz_err *cz_summary_trim(const char *path, int start_epoch);

#endif
