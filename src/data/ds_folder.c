/* ImageFolder-style scan, following torchvision's rules: classes are the
 * subfolders of the root, in byte order; each class folder is walked
 * recursively (symlinks followed); files are taken by extension alone. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "util/mem.h"

/* torchvision walks with os.walk(followlinks=True), which would loop on a
 * symlink cycle; a depth limit turns that into an error. */
enum { MAX_DEPTH = 64 };

int cz_ds_is_image_name(const char *name) {
  static const char *const exts[] = {".jpg", ".jpeg", ".png", ".bmp"};
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    size_t k = strlen(exts[i]);
    if (n >= k && strcasecmp(name + n - k, exts[i]) == 0) return 1;
  }
  return 0;
}

typedef struct {
  char *dir, *name; /* walk root of the file, and its name in that root */
} found;

typedef struct {
  found *v;
  size_t n, cap;
} found_list;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted(os.walk(...)) orders by folder path, then sorted(files) by name:
 * "c/z.jpg" comes before "c/sub/a.jpg" although a full-path sort would
 * not put it there. */
static int cmp_found(const void *a, const void *b) {
  const found *x = a, *y = b;
  int c = strcmp(x->dir, y->dir);
  return c ? c : strcmp(x->name, y->name);
}

static cz_err *open_dir(const char *path, DIR **out) {
  DIR *d = opendir(path);
  if (d) {
    *out = d;
    return NULL;
  }
  if (errno == ENOENT)
    return cz_err_new(CZ_EXIT_USAGE, "dataset folder %s: does not exist", path);
  if (errno == ENOTDIR)
    return cz_err_new(CZ_EXIT_USAGE, "dataset folder %s: is not a folder", path);
  return cz_err_new(CZ_EXIT_RUNTIME, "dataset folder %s: cannot read it: %s", path,
                    strerror(errno));
}

static int is_dir_follow(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static cz_err *walk(const char *dir, int depth, found_list *out) {
  if (depth > MAX_DEPTH)
    return cz_err_new(CZ_EXIT_USAGE, "dataset folder %s: nested more than %d deep (a "
                      "symlink loop?)", dir, MAX_DEPTH);
  DIR *d = NULL;
  cz_err *e = open_dir(dir, &d);
  if (e) return e;
  struct dirent *ent;
  while (!e && (ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    char *p = cz_asprintf("%s/%s", dir, ent->d_name);
    if (is_dir_follow(p)) {
      e = walk(p, depth + 1, out);
    } else if (cz_ds_is_image_name(ent->d_name)) {
      if (out->n == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 64;
        out->v = cz_xrealloc(out->v, out->cap * sizeof *out->v);
      }
      out->v[out->n++] = (found){cz_xstrdup(dir), cz_xstrdup(ent->d_name)};
    }
    free(p);
  }
  closedir(d);
  return e;
}

static void found_free(found_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].dir);
    free(l->v[i].name);
  }
  free(l->v);
}

/* The class folders of root, sorted. */
static cz_err *list_classes(const char *root, char ***names, size_t *n) {
  DIR *d = NULL;
  cz_err *e = open_dir(root, &d);
  if (e) return e;
  size_t cap = 0, k = 0;
  char **v = NULL;
  struct dirent *ent;
  while ((ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    char *p = cz_asprintf("%s/%s", root, ent->d_name);
    if (is_dir_follow(p)) {
      if (k == cap) {
        cap = cap ? 2 * cap : 16;
        v = cz_xrealloc(v, cap * sizeof *v);
      }
      v[k++] = cz_xstrdup(ent->d_name);
    }
    free(p);
  }
  closedir(d);
  if (!k)
    return cz_err_new(CZ_EXIT_USAGE, "dataset folder %s: no class folders in it: expected "
                      "one subfolder per class", root);
  qsort(v, k, sizeof *v, cmp_str);
  *names = v;
  *n = k;
  return NULL;
}

cz_err *cz_ds_folder_scan(const char *root_in, cz_ds_folder *out) {
  memset(out, 0, sizeof *out);
  /* "data/" and "data" name the same folder; keep sample paths clean. */
  char *root = cz_xstrdup(root_in);
  for (size_t l = strlen(root); l > 1 && root[l - 1] == '/'; l--) root[l - 1] = 0;
  char **classes = NULL;
  size_t nc = 0;
  cz_err *e = list_classes(root, &classes, &nc);
  cz_ds_split s = {0};
  size_t cap = 0;
  for (size_t c = 0; c < nc && !e; c++) {
    char *cdir = cz_asprintf("%s/%s", root, classes[c]);
    found_list fl = {0};
    e = walk(cdir, 0, &fl);
    if (!e && fl.n == 0)
      e = cz_err_new(CZ_EXIT_USAGE, "class folder %s: no image files in it: expected "
                     ".jpg, .jpeg, .png or .bmp (any case)", cdir);
    if (!e) {
      qsort(fl.v, fl.n, sizeof *fl.v, cmp_found);
      if (s.n + fl.n > cap) {
        cap = 2 * (s.n + fl.n);
        s.s = cz_xrealloc(s.s, cap * sizeof *s.s);
      }
      for (size_t i = 0; i < fl.n; i++)
        s.s[s.n++] = (cz_ds_sample){cz_asprintf("%s/%s", fl.v[i].dir, fl.v[i].name), 0,
                                    (int32_t)c};
    }
    found_free(&fl);
    free(cdir);
  }
  free(root);
  if (e) {
    cz_ds_split_free(&s);
    cz_ds_free_names(classes, nc);
    return e;
  }
  out->classes = classes;
  out->num_classes = nc;
  out->samples = s;
  return NULL;
}

void cz_ds_folder_free(cz_ds_folder *f) {
  cz_ds_free_names(f->classes, f->num_classes);
  cz_ds_split_free(&f->samples);
  memset(f, 0, sizeof *f);
}
