/* Error values: a function that can fail on user input returns a cz_err *
 * (NULL means success) carrying a one-line message and an exit status. */
#ifndef CZ_UTIL_ERR_H
#define CZ_UTIL_ERR_H

/* Exit statuses, also used as error codes. */
enum {
  CZ_EXIT_OK = 0,
  CZ_EXIT_RUNTIME = 1,  /* a run failed while working (I/O, bad data) */
  CZ_EXIT_USAGE = 2,    /* bad command line or config: nothing was done */
  CZ_EXIT_NOTIMPL = 3,  /* the requested service is not built yet */
};

typedef struct cz_err cz_err;

cz_err *cz_err_new(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Puts "prefix: " in front of the message; returns e (NULL stays NULL). */
cz_err *cz_err_prefix(cz_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *cz_err_msg(const cz_err *e);
int cz_err_code(const cz_err *e);
void cz_err_free(cz_err *e);

#endif
