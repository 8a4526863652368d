/* Food-101: images/<class>/<id>.jpg listed by meta/train.txt and
 * meta/test.txt ("class/id" lines), or by meta/train.json and
 * meta/test.json ({"class": ["class/id", ...], ...}, the files torchvision's
 * Food101 reads) where a .txt list is absent; classes in meta/classes.txt
 * order. When both lists of a split exist they must name the same images
 * (the .txt order is used). JSON is read with libyaml (JSON is YAML flow
 * syntax), so syntax errors name the file, line and column. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/ds.h"
#include "io/yaml_doc.h"
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

static void lines_add(lines *l, size_t *cap, const char *text, size_t lineno) {
  if (l->n == *cap) {
    *cap = *cap ? 2 * *cap : 256;
    l->v = cz_xrealloc(l->v, *cap * sizeof *l->v);
    l->lineno = cz_xrealloc(l->lineno, *cap * sizeof *l->lineno);
  }
  l->lineno[l->n] = lineno;
  l->v[l->n++] = cz_xstrdup(text);
}

/* meta/<split>.json: a map of class -> list of "class/id" strings; each
 * entry keeps the line it was written on. */
static cz_err *read_json(const char *path, lines *out) {
  cz_ynode *root;
  cz_err *e = cz_yaml_load_file(path, &root);
  if (e) return cz_err_prefix(e, "food101");
  lines l = {0};
  size_t cap = 0;
  for (size_t i = 0; i < root->n_entries && !e; i++) {
    const cz_yentry *en = &root->entries[i];
    const cz_ynode *v = en->val;
    if (v->kind != CZ_Y_SEQ) {
      e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s line %d: class \"%s\": expected a list of "
                     "\"%s/<id>\" strings", path, en->line, en->key, en->key);
      break;
    }
    size_t klen = strlen(en->key);
    for (size_t j = 0; j < v->n_items && !e; j++) {
      const cz_ynode *it = v->items[j];
      if (it->kind != CZ_Y_SCALAR || strncmp(it->text, en->key, klen) || it->text[klen] != '/')
        e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s line %d: %s%s%s under class \"%s\": "
                       "expected \"%s/<id>\"", path, it->line,
                       it->kind == CZ_Y_SCALAR ? "\"" : "",
                       it->kind == CZ_Y_SCALAR ? it->text : "a non-string entry",
                       it->kind == CZ_Y_SCALAR ? "\"" : "", en->key, en->key);
      else
        lines_add(&l, &cap, it->text, (size_t)it->line);
    }
  }
  cz_ynode_free(root);
  if (!e && !l.n)
    e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s: no entries: expected {\"class\": "
                   "[\"class/id\", ...]}", path);
  if (e) {
    lines_free(&l);
    return e;
  }
  *out = l;
  return NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .txt and .json lists of a split must hold the same entries. */
static cz_err *check_agree(const char *tpath, const lines *t, const char *jpath, const lines *j) {
  char **a = cz_xmalloc((t->n + 1) * sizeof *a), **b = cz_xmalloc((j->n + 1) * sizeof *b);
  memcpy(a, t->v, t->n * sizeof *a);
  memcpy(b, j->v, j->n * sizeof *b);
  qsort(a, t->n, sizeof *a, cmp_str);
  qsort(b, j->n, sizeof *b, cmp_str);
  cz_err *e = NULL;
  size_t i = 0, k = 0;
  while (!e && (i < t->n || k < j->n)) {
    int c = i == t->n ? 1 : k == j->n ? -1 : strcmp(a[i], b[k]);
    if (c < 0)
      e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s lists \"%s\" but %s does not: expected "
                     "both lists to name the same images", tpath, a[i], jpath);
    else if (c > 0)
      e = cz_err_new(CZ_EXIT_RUNTIME, "food101: %s lists \"%s\" but %s does not: expected "
                     "both lists to name the same images", jpath, b[k], tpath);
    i++, k++;
  }
  free(a);
  free(b);
  return e;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* The split's list: meta/<name>.txt, else meta/<name>.json; when both
 * exist, they must agree and the .txt order is kept. *path names the list
 * for errors (owned). */
static cz_err *read_split(const char *root, const char *name, lines *out, char **path) {
  char *tp = cz_asprintf("%s/meta/%s.txt", root, name), *jp = cz_asprintf("%s/meta/%s.json", root, name);
  cz_err *e = NULL;
  bool has_t = exists(tp), has_j = exists(jp);
  *path = NULL;
  if (!has_t && !has_j) {
    e = cz_err_new(CZ_EXIT_USAGE, "food101: neither %s nor %s exists: expected the %s list",
                   tp, jp, name);
  } else if (!has_t) {
    e = read_json(jp, out);
    if (!e) *path = cz_xstrdup(jp);
  } else {
    e = read_lines(tp, out);
    if (!e && has_j) {
      lines j = {0};
      e = read_json(jp, &j);
      if (!e) {
        e = check_agree(tp, out, jp, &j);
        lines_free(&j);
      }
      if (e) lines_free(out);
    }
    if (!e) *path = cz_xstrdup(tp);
  }
  free(tp);
  free(jp);
  return e;
}

/* "class/id" entries become samples root/images/class/id.jpg. */
static cz_err *list_split(const char *root, const char *name, const char *cpath,
                          const class_index *ci, cz_ds_split *out) {
  lines l = {0};
  char *path;
  cz_err *e = read_split(root, name, &l, &path);
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
  free(path);
  if (!e) e = cz_ds_check_files("food101", out);
  return e;
}

cz_err *cz_ds_load_food(const char *data_dir, cz_ds_set *s) {
  char *root = cz_asprintf("%s/food-101", data_dir);
  char *cp = cz_asprintf("%s/meta/classes.txt", root);
  lines cl = {0};
  class_index ci = {0};
  cz_err *e = read_lines(cp, &cl);
  if (!e) e = build_index(cp, cl.v, cl.n, &ci);
  if (!e) e = list_split(root, "train", cp, &ci, &s->train);
  if (!e) e = list_split(root, "test", cp, &ci, &s->test);
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
  free(root);
  return e;
}
