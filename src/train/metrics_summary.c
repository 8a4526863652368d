/* summary.csv writer: reads the current table, adds to it or trims it, and
 * replaces the file atomically. The table is a few kilobytes at most. */
#include "train/metrics_summary.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file_bytes.h"
#include "train/metrics_pyfloat.h"
#include "util/atomic_file.h"
#include "util/mem.h"
#include "util/strbuf.h"

static const char summary_header[] = "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n";

char *cz_summary_format_row(const cz_summary_row *row) {
  char a[CZ_PYFLOAT_MAX], b[CZ_PYFLOAT_MAX], c[CZ_PYFLOAT_MAX], d[CZ_PYFLOAT_MAX],
      e[CZ_PYFLOAT_MAX];
  return cz_asprintf("%d,%s,%s,%s,%s,%s\r\n", row->epoch, cz_pyfloat_repr(row->train_loss, a),
                     cz_pyfloat_repr(row->eval_loss, b), cz_pyfloat_repr(row->eval_top1, c),
                     cz_pyfloat_repr(row->eval_top5, d), cz_pyfloat_repr(row->lr, e));
}

/* Reads path into *buf; a missing file reads as empty (*exists = 0). */
static cz_err *read_table(const char *path, uint8_t **buf, size_t *size, int *exists) {
  struct stat st;
  *buf = NULL;
  *size = 0;
  *exists = stat(path, &st) == 0;
  if (!*exists) {
    if (errno == ENOENT) return NULL;
    return cz_err_new(CZ_EXIT_RUNTIME, "summary: cannot access '%s': %s", path, strerror(errno));
  }
  return cz_err_prefix(cz_read_file_bytes(path, buf, size), "summary");
}

cz_err *cz_summary_append(const char *path, const cz_summary_row *row) {
  uint8_t *old;
  size_t n;
  int exists;
  cz_err *e = read_table(path, &old, &n, &exists);
  if (e) return e;
  cz_strbuf sb;
  cz_sb_init(&sb);
  if (n) cz_sb_appendn(&sb, (const char *)old, n);
  else cz_sb_append(&sb, summary_header);
  char *line = cz_summary_format_row(row);
  cz_sb_append(&sb, line);
  free(line);
  free(old);
  e = cz_write_file_atomic(path, sb.data, sb.len);
  cz_sb_free(&sb);
  return cz_err_prefix(e, "summary");
}

cz_err *cz_summary_write(const char *path, const cz_summary_row *rows, int n) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  if (n > 0) cz_sb_append(&sb, summary_header);
  for (int i = 0; i < n; i++) {
    char *line = cz_summary_format_row(&rows[i]);
    cz_sb_append(&sb, line);
    free(line);
  }
  cz_err *e = cz_write_file_atomic(path, n > 0 ? sb.data : "", n > 0 ? sb.len : 0);
  cz_sb_free(&sb);
  return cz_err_prefix(e, "summary");
}

cz_err *cz_summary_trim(const char *path, int start_epoch) {
  uint8_t *old;
  size_t n;
  int exists;
  cz_err *e = read_table(path, &old, &n, &exists);
  if (e || !exists) return e;
  /* Keeps the first line (the header) and the rows before start_epoch. */
  cz_strbuf sb;
  cz_sb_init(&sb);
  const char *p = (const char *)old, *end = p + n;
  size_t kept = 0;
  for (int first = 1; p < end; first = 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *next = nl ? nl + 1 : end;
    if (first) {
      cz_sb_appendn(&sb, p, (size_t)(next - p));
    } else if (next - p > 2 || (*p != '\r' && *p != '\n')) {
      char *stop;
      double ep = strtod(p, &stop); /* int(float(r[0])), as timm */
      if (stop != p && *stop == ',' && (long long)ep < start_epoch) {
        cz_sb_appendn(&sb, p, (size_t)(next - p));
        if (!nl) cz_sb_append(&sb, "\r\n"); /* csv.writer ends every row */
        kept++;
      }
    }
    p = next;
  }
  free(old);
  e = cz_write_file_atomic(path, kept ? sb.data : "", kept ? sb.len : 0);
  cz_sb_free(&sb);
  return cz_err_prefix(e, "summary");
}
