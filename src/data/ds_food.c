/* Food-101: images/<class>/<id>.jpg listed by meta/train.txt and
 * meta/test.txt ("class/id" lines), classes in meta/classes.txt order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "util/mem.h"

/* Non-blank lines of a text file (CR before LF dropped), with their line
 * numbers; blank lines are skipped, as the meta files end with one. */
typedef struct {
  char **v;
  size_t *lineno;
  size_t n;
} lines;

static void lines_free(lines *l) {
  cz_ds_free_names(l->v, l->n);
  free(l->lineno);
}

static cz_err *read_lines(const char *path, lines *out) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return cz_err_new(CZ_EXIT_USAGE, "food101: %s: cannot open it: %s", path,
                      strerror(errno));
  lines l = {0};
  size_t cap = 0, no = 0;
  char *buf = NULL;
  size_t bcap = 0;
  ssize_t r;
  while ((r = getline(&buf, &bcap, f)) >= 0) {
    size_t len = (size_t)r;
    no++;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;
    if (!len) continue;
    if (l.n == cap) {
      cap = cap ? 2 * cap : 256;
      l.v = cz_xrealloc(l.v, cap * sizeof *l.v);
      l.lineno = cz_xrealloc(l.lineno, cap * sizeof *l.lineno);
    }
    l.lineno[l.n] = no;
    l.v[l.n++] = cz_xstrndup(buf, len);
  }
  free(buf);
  fclose(f);
  if (!l.n)
    return cz_err_new(CZ_EXIT_RUNTIME, "food101: %s: empty: expected one entry per line",
                      path);
  *out = l;
  return NULL;
}


/* Index of the class each sorted name came from. */
typedef struct {
  char **sorted; /* borrowed names, sorted */
  size_t *index;
  size_t n;
} class_index;

static size_t find_class(const class_index *ci, const char *name) {
  size_t lo = 0, hi = ci->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(ci->sorted[mid], name);
    if (!c) return ci->index[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return (size_t)-1;
}


/* Sorting (name, position) pairs through a small struct keeps qsort simple. */
typedef struct {
  const char *name;
  size_t pos;
} named;

static int cmp_named(const void *a, const void *b) {
  return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

static cz_err *build_index(const char *path, char **names, size_t n, class_index *ci) {
  named *t = cz_xmalloc(n * sizeof *t);
  for (size_t i = 0; i < n; i++) t[i] = (named){names[i], i};
  qsort(t, n, sizeof *t, cmp_named);
  for (size_t i = 1; i < n; i++)
    if (!strcmp(t[i].name, t[i - 1].name)) {
      cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s: class \"%s\" is listed twice: "
                             "expected each class once", path, t[i].name);
      free(t);
      return e;
    }
  ci->sorted = cz_xmalloc(n * sizeof *ci->sorted);
  ci->index = cz_xmalloc(n * sizeof *ci->index);
  ci->n = n;
  for (size_t i = 0; i < n; i++) ci->sorted[i] = (char *)t[i].name, ci->index[i] = t[i].pos;
  free(t);
  return NULL;
}

/* "class/id" lines become samples root/images/class/id.jpg. */
static cz_err *list_split(const char *root, const char *path, const char *cpath,
                          const class_index *ci, cz_ds_split *out) {
  lines l;
  cz_err *e = read_lines(path, &l);
  if (e) return e;
  out->s = cz_xmalloc(l.n * sizeof *out->s);
  out->n = 0;
  for (size_t i = 0; i < l.n && !e; i++) {
    const char *slash = strchr(l.v[i], '/');
    if (!slash || slash == l.v[i] || !slash[1]) {
      e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s line %zu: \"%s\": expected class/id",
                     path, l.lineno[i], l.v[i]);
      break;
    }
    char *cls = cz_xstrndup(l.v[i], (size_t)(slash - l.v[i]));
    size_t k = find_class(ci, cls);
    if (k == (size_t)-1)
      e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s line %zu: class \"%s\" is not in %s: "
                     "expected one of the classes listed there", path, l.lineno[i], cls,
                     cpath);
    else
      out->s[out->n++] = (cz_ds_sample){cz_asprintf("%s/images/%s.jpg", root, l.v[i]), 0,
                                        (int32_t)k};
    free(cls);
  }
  lines_free(&l);
  if (!e) e = cz_ds_check_files("food101", out);
  return e;
}

cz_err *cz_ds_load_food(const char *data_dir, cz_ds_set *s) {
  char *root = cz_asprintf("%s/food-101", data_dir);
  char *cp = cz_asprintf("%s/meta/classes.txt", root),
       *tp = cz_asprintf("%s/meta/train.txt", root), *sp = cz_asprintf("%s/meta/test.txt", root);
  lines cl = {0};
  class_index ci = {0};
  cz_err *e = read_lines(cp, &cl);
  if (!e) e = build_index(cp, cl.v, cl.n, &ci);
  if (!e) e = list_split(root, tp, cp, &ci, &s->train);
  if (!e) e = list_split(root, sp, cp, &ci, &s->test);
  if (!e) {
    s->class_names = cl.v;
    s->num_classes = cl.n;
    cl.v = NULL;
    cl.n = 0;
  }
  lines_free(&cl);
  free(ci.sorted);
  free(ci.index);
  free(cp);
  free(tp);
  free(sp);
  free(root);
  return e;
}
