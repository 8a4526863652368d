/* Annotated copies of predicted images (see pred_annotate.c). */
#ifndef CZ_SERVICES_PRED_ANNOTATE_H
#define CZ_SERVICES_PRED_ANNOTATE_H
#include "util/err.h"

/* Writes <run_dir>/predictions/<stem of image_path>.png: the image with
 * "<label>: <100 * prob:.1f>%" in white on black at the top-left. */
cz_err *cz_pred_annotate(const char *run_dir, const char *image_path, const char *label,
                         double prob);
#endif
