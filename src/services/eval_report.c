/* The evaluation's CSV files (see eval_report.h). */
#include "services/eval_report.h"

#include <string.h>

#include "util/atomic_file.h"

void cz_csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

cz_err *cz_write_confusion_csv(const char *path, const cz_metrics *m, char *const *names) {
  cz_afile *af = NULL;
  cz_err *err = cz_afile_open(path, &af);
  if (err) return err;
  FILE *f = cz_afile_stream(af);
  fputs("true\\predicted", f);
  for (int j = 0; j < m->k; j++) fputc(',', f), cz_csv_field(f, names[j]);
  fputc('\n', f);
  for (int i = 0; i < m->k; i++) {
    cz_csv_field(f, names[i]);
    for (int j = 0; j < m->k; j++) fprintf(f, ",%lld", (long long)m->confusion[(int64_t)i * m->k + j]);
    fputc('\n', f);
  }
  return cz_afile_commit(af);
}

cz_err *cz_write_class_acc_csv(const char *path, const cz_metrics *m, char *const *names) {
  cz_afile *af = NULL;
  cz_err *err = cz_afile_open(path, &af);
  if (err) return err;
  FILE *f = cz_afile_stream(af);
  fputs("class,images,correct,accuracy_percent\n", f);
  for (int i = 0; i < m->k; i++) {
    int64_t row = 0;
    for (int j = 0; j < m->k; j++) row += m->confusion[(int64_t)i * m->k + j];
    cz_csv_field(f, names[i]);
    fprintf(f, ",%lld,%lld,", (long long)row, (long long)m->confusion[(int64_t)i * m->k + i]);
    if (row) fprintf(f, "%.2f", cz_metrics_class_acc(m, i));
    fputc('\n', f);
  }
  return cz_afile_commit(af);
}
