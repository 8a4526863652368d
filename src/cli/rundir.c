/* Run directory creation and its Hydra files. mkdir() of the final
 * component is the atomic step that keeps two runs apart. */
#include "cli/rundir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/atomic_file.h"
#include "util/mem.h"

static cz_err *mkdir_parents(const char *path) {
  char *p = cz_xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot create directory: %s", p, strerror(errno));
      free(p);
      return e;
    }
    *s = '/';
  }
  free(p);
  return NULL;
}

cz_err *cz_rundir_create(const char *pattern, char **out) {
  char *base = cz_xstrdup(pattern);
  size_t len = strlen(base);
  while (len > 1 && base[len - 1] == '/') base[--len] = '\0';
  cz_err *err = mkdir_parents(base);
  for (int i = 0; !err && i < 10000; i++) {
    char *dir = i ? cz_asprintf("%s_%d", base, i) : cz_xstrdup(base);
    if (mkdir(dir, 0755) == 0) {
      free(base);
      *out = dir;
      return NULL;
    }
    if (errno != EEXIST)
      err = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot create run directory: %s", dir, strerror(errno));
    free(dir);
  }
  if (!err) err = cz_err_new(CZ_EXIT_RUNTIME, "%s: too many run directories with this name", base);
  free(base);
  return err;
}

cz_err *cz_rundir_write_hydra(const char *dir, const cz_ynode *composed,
                              char *const *overrides, size_t n_overrides) {
  char *hydra = cz_asprintf("%s/.hydra", dir);
  cz_err *err = NULL;
  if (mkdir(hydra, 0755) != 0 && errno != EEXIST)
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot create directory: %s", hydra, strerror(errno));
  char *text = NULL;
  if (!err) err = cz_yaml_write(composed, &text);
  if (!err) {
    char *path = cz_asprintf("%s/config.yaml", hydra);
    err = cz_write_file_atomic(path, text, strlen(text));
    free(path);
  }
  free(text);
  text = NULL;
  if (!err) {
    cz_ynode *list = cz_ynode_new_map("");
    list->kind = CZ_Y_SEQ;
    list->items = cz_xcalloc(n_overrides, sizeof *list->items);
    for (size_t i = 0; i < n_overrides; i++) list->items[i] = cz_ynode_new_scalar(overrides[i], false, "");
    list->n_items = n_overrides;
    err = cz_yaml_write(list, &text);
    cz_ynode_free(list);
  }
  if (!err) {
    char *path = cz_asprintf("%s/overrides.yaml", hydra);
    err = cz_write_file_atomic(path, text, strlen(text));
    free(path);
  }
  free(text);
  free(hydra);
  return err;
}
