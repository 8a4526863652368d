/* Checks that every sample file of a listed split exists, so a broken
 * download fails at listing time rather than midway through an epoch. */
#include <stdlib.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "util/strbuf.h"

enum { SHOW_MISSING = 3 };

cz_err *cz_ds_check_files(const char *what, const cz_ds_split *sp) {
  size_t missing = 0;
  const char *shown[SHOW_MISSING];
  for (size_t i = 0; i < sp->n; i++) {
    struct stat st;
    if (sp->s[i].path && (stat(sp->s[i].path, &st) != 0 || !S_ISREG(st.st_mode))) {
      if (missing < SHOW_MISSING) shown[missing] = sp->s[i].path;
      missing++;
    }
  }
  if (!missing) return NULL;
  cz_strbuf sb;
  cz_sb_init(&sb);
  size_t k = missing < SHOW_MISSING ? missing : SHOW_MISSING;
  for (size_t i = 0; i < k; i++) cz_sb_printf(&sb, "%s%s", i ? ", " : "", shown[i]);
  char *list = cz_sb_take(&sb);
  cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "%s: %zu of %zu listed image files are missing "
                         "(first: %s%s): expected every listed image on disk",
                         what, missing, sp->n, list, missing > k ? ", ..." : "");
  free(list);
  return e;
}
