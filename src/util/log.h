/* Levelled logging to the console and, once a run directory exists, to the
 * run's log file (stm32ai_main.log) with a timestamp on every line.
 * Console: "[INFO] : message" on stdout; warnings and errors on stderr. */
#ifndef CZ_UTIL_LOG_H
#define CZ_UTIL_LOG_H

#include "util/err.h"

typedef enum {
  CZ_LOG_DEBUG = 0,
  CZ_LOG_INFO = 1,
  CZ_LOG_WARN = 2,
  CZ_LOG_ERROR = 3,
} cz_log_level;

/* Messages below this level are dropped (default INFO; CZOO_LOG_LEVEL=debug). */
void cz_log_set_level(cz_log_level level);
cz_log_level cz_log_get_level(void);

/* Starts appending every logged line to path (created if absent), first
 * the lines logged before it was opened. */
cz_err *cz_log_open_file(const char *path);
/* Closes the log file and drops lines still waiting for one. */
void cz_log_close_file(void);
int cz_log_has_file(void);

void cz_log(cz_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes one line, timestamped, to the log file only (e.g. progress lines
 * that the console shows as a redrawn bar). */
void cz_log_file_line(cz_log_level level, const char *line);

#define cz_debug(...) cz_log(CZ_LOG_DEBUG, __VA_ARGS__)
#define cz_info(...) cz_log(CZ_LOG_INFO, __VA_ARGS__)
#define cz_warn(...) cz_log(CZ_LOG_WARN, __VA_ARGS__)
#define cz_error(...) cz_log(CZ_LOG_ERROR, __VA_ARGS__)

#endif
