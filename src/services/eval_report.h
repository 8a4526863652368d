/* What the evaluation writes to the run directory: the confusion matrix as
 * CSV (counts) and PNG (row-normalized heatmap, class names on the axes),
 * and per-class accuracy as CSV; plus the CSV quoting the prediction
 * service shares. */
#ifndef CZ_SERVICES_EVAL_REPORT_H
#define CZ_SERVICES_EVAL_REPORT_H
#include <stdio.h>

#include "services/eval_metrics.h"
#include "util/err.h"

/* One CSV field, quoted (RFC 4180) when it holds a comma, quote or newline. */
void cz_csv_field(FILE *f, const char *s);

/* Rows are true classes, columns predicted; the first row and column carry
 * the class names. Atomic. */
cz_err *cz_write_confusion_csv(const char *path, const cz_metrics *m, char *const *names);
/* class,images,correct,accuracy_percent per class (accuracy empty when the
 * class has no image). Atomic. */
cz_err *cz_write_class_acc_csv(const char *path, const cz_metrics *m, char *const *names);
/* The row-normalized confusion matrix as a PNG (cairo), `title` on top.
 * Cells show percentages up to 30 classes; up to 100 classes the names
 * stay legible (the image grows with the class count). */
cz_err *cz_write_confusion_png(const char *path, const cz_metrics *m, char *const *names,
                               const char *title);
#endif
