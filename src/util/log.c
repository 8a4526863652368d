/* Console and run-log logging. One mutex keeps lines whole across threads. */
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "util/mem.h"
#include "util/strbuf.h"

static cz_log_level g_level = CZ_LOG_INFO;
static FILE *g_file;
/* Lines logged before the run log exists (config warnings, start-up), kept
 * so the log still receives everything the run printed. */
static cz_strbuf g_pending;
enum { MAX_PENDING = 1 << 20 };
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_name(cz_log_level level) {
  switch (level) {
    case CZ_LOG_DEBUG: return "DEBUG";
    case CZ_LOG_INFO: return "INFO";
    case CZ_LOG_WARN: return "WARNING";
    case CZ_LOG_ERROR: return "ERROR";
  }
  return "INFO";
}

void cz_log_set_level(cz_log_level level) { g_level = level; }
cz_log_level cz_log_get_level(void) { return g_level; }
int cz_log_has_file(void) { return g_file != NULL; }

cz_err *cz_log_open_file(const char *path) {
  FILE *f = fopen(path, "a");
  if (!f)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot open log file: %s", path,
                      strerror(errno));
  pthread_mutex_lock(&g_lock);
  if (g_file) fclose(g_file);
  g_file = f;
  if (g_pending.len) {
    fputs(g_pending.data, g_file);
    fflush(g_file);
  }
  cz_sb_free(&g_pending);
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

void cz_log_close_file(void) {
  pthread_mutex_lock(&g_lock);
  if (g_file) fclose(g_file);
  g_file = NULL;
  cz_sb_free(&g_pending);
  pthread_mutex_unlock(&g_lock);
}

/* Caller holds g_lock. Format: [2026-11-26 17:41:00,123][INFO] - message */
static void write_file_line(cz_log_level level, const char *line) {
  if (!g_file && g_pending.len > MAX_PENDING) return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  if (!g_file) {
    cz_sb_printf(&g_pending, "[%s,%03d][%s] - %s\n", stamp, (int)(tv.tv_usec / 1000),
                 level_name(level), line);
    return;
  }
  fprintf(g_file, "[%s,%03d][%s] - %s\n", stamp, (int)(tv.tv_usec / 1000),
          level_name(level), line);
  fflush(g_file);
}

void cz_log_file_line(cz_log_level level, const char *line) {
  pthread_mutex_lock(&g_lock);
  write_file_line(level, line);
  pthread_mutex_unlock(&g_lock);
}

void cz_log(cz_log_level level, const char *fmt, ...) {
  if (level < g_level) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&g_lock);
  FILE *out = level >= CZ_LOG_WARN ? stderr : stdout;
  fprintf(out, "[%s] : %s\n", level_name(level), msg);
  fflush(out);
  write_file_line(level, msg);
  pthread_mutex_unlock(&g_lock);
  free(msg);
}
