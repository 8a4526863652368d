/* Progress reporting: formats one status line and decides, per output kind,
 * how often it may be written so logs stay short and terminals stay calm. */
#include "util/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/strbuf.h"

#define REDRAW_INTERVAL_S 0.1
#define PLAIN_INTERVAL_S 30.0

struct cz_progress {
  char *label;   /* owned */
  char *unit;    /* owned */
  char *extra;   /* owned copy of the last extra, or NULL */
  int64_t total; /* 0 = unknown */
  int64_t done;
  int tty;
  FILE *out; /* borrowed */
  double (*now)(void);
  double t0;
  double last_draw;  /* terminal redraw time; < 0 before the first */
  double last_plain; /* time of the last plain/log line */
  int last_decile;   /* tenths of total already reported */
  size_t drawn_len;  /* length of the line now on the terminal */
};

static int g_force_tty = -1;
static double (*g_now)(void);
static FILE *g_out;

void cz_progress_set_test_hooks(int force_tty, double (*now_s)(void),
                                FILE *out) {
  g_force_tty = force_tty;
  g_now = now_s;
  g_out = out;
}

static double monotonic_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

cz_progress *cz_progress_start(const char *label, int64_t total,
                               const char *unit) {
  cz_progress *p = cz_xcalloc(1, sizeof *p);
  p->label = cz_xstrdup(label ? label : "");
  p->unit = cz_xstrdup(unit ? unit : "");
  p->total = total > 0 ? total : 0;
  p->out = g_out ? g_out : stdout;
  p->now = g_now ? g_now : monotonic_now;
  p->tty = g_force_tty >= 0 ? g_force_tty : isatty(fileno(p->out));
  p->t0 = p->now();
  p->last_draw = -1.0;
  p->last_plain = p->t0;
  return p;
}

/* "MM:SS", or "H:MM:SS" past an hour; "--:--" when not meaningful. */
static void put_duration(cz_strbuf *sb, double s) {
  if (!isfinite(s) || s < 0 || s > 99.0 * 86400) {
    cz_sb_append(sb, "--:--");
    return;
  }
  long long t = (long long)(s + 0.5);
  long long h = t / 3600;
  int m = (int)(t / 60 % 60), sec = (int)(t % 60);
  if (h > 0)
    cz_sb_printf(sb, "%lld:%02d:%02d", h, m, sec);
  else
    cz_sb_printf(sb, "%02d:%02d", m, sec);
}

static void put_rate(cz_strbuf *sb, double rate, const char *unit) {
  if (!isfinite(rate) || rate < 0)
    cz_sb_printf(sb, "-- %s/s", unit);
  else if (rate < 1.0)
    cz_sb_printf(sb, "%.2f %s/s", rate, unit);
  else if (rate < 1000.0)
    cz_sb_printf(sb, "%.1f %s/s", rate, unit);
  else
    cz_sb_printf(sb, "%.0f %s/s", rate, unit);
}

/* label: done/total unit (pct%) | rate | elapsed | ETA | tail */
static char *format_line(const cz_progress *p, double now, const char *tail,
                         int final) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  double elapsed = now - p->t0;
  if (p->label[0]) cz_sb_printf(&sb, "%s: ", p->label);
  if (p->total > 0)
    cz_sb_printf(&sb, "%lld/%lld %s (%.1f%%)", (long long)p->done,
                 (long long)p->total, p->unit,
                 100.0 * (double)p->done / (double)p->total);
  else
    cz_sb_printf(&sb, "%lld %s", (long long)p->done, p->unit);
  cz_sb_append(&sb, " | ");
  double rate = elapsed > 0 ? (double)p->done / elapsed : NAN;
  put_rate(&sb, rate, p->unit);
  cz_sb_append(&sb, " | elapsed ");
  put_duration(&sb, elapsed);
  if (p->total > 0 && !final) {
    cz_sb_append(&sb, " | ETA ");
    double left = (double)(p->total - p->done);
    put_duration(&sb, rate > 0 ? (left > 0 ? left : 0) / rate : NAN);
  }
  if (tail && tail[0]) cz_sb_printf(&sb, " | %s", tail);
  char *line = cz_sb_take(&sb);
  return line;
}

/* Columns of the terminal behind out, or 0 if unknown: a redrawn line that
 * wraps would scroll instead of overwriting itself. */
static size_t terminal_width(FILE *out) {
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 0;
}

static void draw(cz_progress *p, const char *line, int newline) {
  size_t len = strlen(line);
  size_t width = terminal_width(p->out);
  if (width > 1 && len > width - 1) len = width - 1;
  fputc('\r', p->out);
  fwrite(line, 1, len, p->out);
  for (size_t i = len; i < p->drawn_len; i++) fputc(' ', p->out);
  if (newline) {
    fputc('\n', p->out);
    p->drawn_len = 0;
  } else {
    p->drawn_len = len;
  }
  fflush(p->out);
}

static void emit_plain(cz_progress *p, const char *line) {
  if (!p->tty) {
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
  }
  cz_log_file_line(CZ_LOG_INFO, line);
}

void cz_progress_update(cz_progress *p, int64_t done, const char *extra) {
  double now = p->now();
  p->done = done;
  char *copy = extra ? cz_xstrdup(extra) : NULL;
  free(p->extra);
  p->extra = copy;

  int plain_due = 0;
  if (p->total > 0) {
    double tenths = floor(10.0 * (double)done / (double)p->total);
    int decile = tenths < 0 ? 0 : tenths > 10 ? 10 : (int)tenths;
    if (decile > p->last_decile) {
      p->last_decile = decile;
      plain_due = 1;
    }
  }
  if (now - p->last_plain >= PLAIN_INTERVAL_S) plain_due = 1;
  int redraw_due =
      p->tty && (p->last_draw < 0 || now - p->last_draw >= REDRAW_INTERVAL_S);
  if (!plain_due && !redraw_due) return;

  char *line = format_line(p, now, p->extra, 0);
  if (plain_due) {
    p->last_plain = now;
    emit_plain(p, line);
  }
  if (redraw_due) {
    p->last_draw = now;
    draw(p, line, 0);
  }
  free(line);
}

void cz_progress_finish(cz_progress *p, const char *summary) {
  if (!p) return;
  char *line = format_line(p, p->now(), summary ? summary : p->extra, 1);
  if (p->tty)
    draw(p, line, 1);
  else
    fprintf(p->out, "%s\n", line);
  fflush(p->out);
  cz_log_file_line(CZ_LOG_INFO, line);
  free(line);
  free(p->label);
  free(p->unit);
  free(p->extra);
  free(p);
}
