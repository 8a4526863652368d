/* Oxford Flowers-102: jpg/image_NNNNN.jpg with labels and split ids in
 * MATLAB files (imagelabels.mat, setid.mat), read with libmatio. */
#include <matio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "util/mem.h"

enum { FLOWERS_CLASSES = 102 };

/* The numeric value of element i, whatever numeric class MATLAB stored. */
static double elem(const matvar_t *v, size_t i) {
  switch (v->class_type) {
  case MAT_C_DOUBLE: return ((const double *)v->data)[i];
  case MAT_C_SINGLE: return ((const float *)v->data)[i];
  case MAT_C_INT8: return ((const int8_t *)v->data)[i];
  case MAT_C_UINT8: return ((const uint8_t *)v->data)[i];
  case MAT_C_INT16: return ((const int16_t *)v->data)[i];
  case MAT_C_UINT16: return ((const uint16_t *)v->data)[i];
  case MAT_C_INT32: return ((const int32_t *)v->data)[i];
  case MAT_C_UINT32: return ((const uint32_t *)v->data)[i];
  default: return NAN;
  }
}

static int numeric_class(enum matio_classes c) {
  return c == MAT_C_DOUBLE || c == MAT_C_SINGLE || c == MAT_C_INT8 || c == MAT_C_UINT8 ||
         c == MAT_C_INT16 || c == MAT_C_UINT16 || c == MAT_C_INT32 || c == MAT_C_UINT32;
}

/* Reads variable `name` of `path` as a non-empty real vector of whole
 * numbers in lo..hi; `hi_what` says where hi comes from, for the message. */
static cz_err *read_vec(mat_t *m, const char *path, const char *name, double lo, double hi,
                        const char *hi_what, uint32_t **out, size_t *n) {
  matvar_t *v = Mat_VarRead(m, name);
  if (!v)
    return cz_err_new(CZ_EXIT_RUNTIME, "flowers102: %s: no variable %s in it: expected "
                      "the Flowers-102 file", path, name);
  cz_err *e = NULL;
  size_t len = 0;
  if (v->rank == 2 && (v->dims[0] == 1 || v->dims[1] == 1)) len = v->dims[0] * v->dims[1];
  if (!numeric_class(v->class_type) || v->isComplex)
    e = cz_err_new(CZ_EXIT_RUNTIME, "flowers102: %s: variable %s is not a real numeric "
                   "array: expected a vector of numbers", path, name);
  else if (v->rank != 2 || (v->dims[0] != 1 && v->dims[1] != 1) || len == 0) {
    char shape[96] = "";
    for (int i = 0; i < v->rank && i < 4; i++) {
      size_t l = strlen(shape);
      snprintf(shape + l, sizeof shape - l, "%s%zu", i ? "x" : "", v->dims[i]);
    }
    e = cz_err_new(CZ_EXIT_RUNTIME, "flowers102: %s: variable %s has shape %s: expected a "
                   "non-empty 1xN or Nx1 vector", path, name, shape);
  } else if (!v->data)
    e = cz_err_new(CZ_EXIT_RUNTIME, "flowers102: %s: variable %s has no data: expected a "
                   "vector of numbers", path, name);
  uint32_t *a = e ? NULL : cz_xmalloc(len * sizeof *a);
  for (size_t i = 0; !e && i < len; i++) {
    double x = elem(v, i);
    if (!(x >= lo && x <= hi) || x != floor(x))
      e = cz_err_new(CZ_EXIT_RUNTIME, "flowers102: %s: variable %s: %g at element %zu: "
                     "expected a whole number from %g to %g (%s)", path, name, x, i + 1, lo,
                     hi, hi_what);
    else a[i] = (uint32_t)x;
  }
  Mat_VarFree(v);
  if (e) {
    free(a);
    return e;
  }
  *out = a;
  *n = len;
  return NULL;
}

static cz_err *open_mat(const char *path, mat_t **m) {
  struct stat st;
  if (stat(path, &st) != 0)
    return cz_err_new(CZ_EXIT_USAGE, "flowers102: %s: does not exist: expected the "
                      "Flowers-102 files in dataset.data_dir/flowers-102", path);
  *m = Mat_Open(path, MAT_ACC_RDONLY);
  if (!*m)
    return cz_err_new(CZ_EXIT_RUNTIME, "flowers102: %s: cannot be read as a MATLAB file: "
                      "expected a .mat file", path);
  return NULL;
}

/* One split: ids (1-based image numbers) become samples. */
static void make_split(const char *root, const uint32_t *ids, size_t n, const uint32_t *labels,
                       cz_ds_split *out) {
  out->s = cz_xmalloc(n * sizeof *out->s);
  out->n = n;
  for (size_t i = 0; i < n; i++)
    out->s[i] = (cz_ds_sample){cz_asprintf("%s/jpg/image_%05u.jpg", root, ids[i]), 0,
                               (int32_t)labels[ids[i] - 1] - 1};
}

cz_err *cz_ds_load_flowers(const char *data_dir, cz_ds_set *s) {
  char *root = cz_asprintf("%s/flowers-102", data_dir);
  char *lp = cz_asprintf("%s/imagelabels.mat", root), *sp = cz_asprintf("%s/setid.mat", root);
  static const char *const vars[3] = {"trnid", "valid", "tstid"};
  uint32_t *labels = NULL, *ids[3] = {NULL, NULL, NULL};
  size_t nl = 0, nid[3] = {0, 0, 0};
  mat_t *m = NULL;
  cz_err *e = open_mat(lp, &m);
  if (!e) {
    e = read_vec(m, lp, "labels", 1, FLOWERS_CLASSES, "the class numbers", &labels, &nl);
    Mat_Close(m);
    m = NULL;
  }
  if (!e) e = open_mat(sp, &m);
  if (!e) {
    /* Every id must index labels, so its length bounds the ids. */
    char *what = cz_asprintf("the length of labels in %s", lp);
    for (int k = 0; k < 3 && !e; k++)
      e = read_vec(m, sp, vars[k], 1, (double)nl, what, &ids[k], &nid[k]);
    free(what);
    Mat_Close(m);
  }
  if (!e) {
    make_split(root, ids[0], nid[0], labels, &s->train);
    make_split(root, ids[1], nid[1], labels, &s->val);
    make_split(root, ids[2], nid[2], labels, &s->test);
    /* No names ship with the data (nor with torchvision's Flowers102), so
     * class i is called by its label number in the .mat file, i + 1. */
    s->num_classes = FLOWERS_CLASSES;
    s->class_names = cz_xmalloc(FLOWERS_CLASSES * sizeof *s->class_names);
    for (int i = 0; i < FLOWERS_CLASSES; i++) s->class_names[i] = cz_asprintf("%d", i + 1);
    e = cz_ds_check_files("flowers102", &s->train);
    if (!e) e = cz_ds_check_files("flowers102", &s->val);
    if (!e) e = cz_ds_check_files("flowers102", &s->test);
  }
  for (int k = 0; k < 3; k++) free(ids[k]);
  free(labels);
  free(lp);
  free(sp);
  free(root);
  return e;
}
