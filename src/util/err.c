/* Error values with a formatted message and an exit status. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/mem.h"

struct cz_err {
  int code;
  char *msg;
};

cz_err *cz_err_new(int code, const char *fmt, ...) {
  cz_err *e = cz_xmalloc(sizeof *e);
  va_list ap;
  va_start(ap, fmt);
  e->msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  e->code = code;
  return e;
}

cz_err *cz_err_prefix(cz_err *e, const char *fmt, ...) {
  if (!e) return NULL;
  va_list ap;
  va_start(ap, fmt);
  char *prefix = cz_vasprintf(fmt, ap);
  va_end(ap);
  char *joined = cz_asprintf("%s: %s", prefix, e->msg);
  free(prefix);
  free(e->msg);
  e->msg = joined;
  return e;
}

const char *cz_err_msg(const cz_err *e) { return e ? e->msg : ""; }
int cz_err_code(const cz_err *e) { return e ? e->code : CZ_EXIT_OK; }

void cz_err_free(cz_err *e) {
  if (!e) return;
  free(e->msg);
  free(e);
}
