/* Progress lines for long work (epochs, evaluation, export): a redrawn line
 * on a terminal, sparse full lines otherwise, and the same lines in the run
 * log either way. */
#ifndef CZ_UTIL_PROGRESS_H
#define CZ_UTIL_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

/* Owned by the caller from start until finish (which frees it). Used from
 * one thread; other threads report their counts to that one. */
typedef struct cz_progress cz_progress;

/* total 0 means unknown (no percentage, no ETA); unit names one item, e.g.
 * "img" or "batch". label and unit are copied. Prints nothing yet. */
cz_progress *cz_progress_start(const char *label, int64_t total,
                               const char *unit);

/* done is the absolute count so far. extra is a short free-form tail such
 * as "loss 0.412 (0.530)  lr 1.0e-03", or NULL. On a terminal the line is
 * redrawn at most ~10 times a second; otherwise, and always in the run log,
 * a full line is written at each 10% of total or every 30 s. */
void cz_progress_update(cz_progress *p, int64_t done, const char *extra);

/* Writes the final line (with summary, or the last extra when NULL) to the
 * console and the run log, and frees p. */
void cz_progress_finish(cz_progress *p, const char *summary);

/* For tests: force_tty -1 asks isatty, 0 or 1 forces the mode; now_s NULL
 * uses CLOCK_MONOTONIC; out NULL writes to stdout. Applies to progress
 * objects started afterwards. */
void cz_progress_set_test_hooks(int force_tty, double (*now_s)(void),
                                FILE *out);

#endif
