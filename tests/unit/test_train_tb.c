/* Tests for the TensorBoard event writer: Event messages byte for byte as
 * TensorBoard's protobuf classes serialize them, TFRecord framing with the
 * masked CRC-32C, and whole files whose records all check out, including
 * one from a process killed mid-run (what it flushed survives, whole).
 * With CZOO_TB_OUT set this test is the fixture of oracle.check_train_tb:
 * it leaves in that directory run/ and killed/ (event files), expected
 * tables of what it wrote (tag, step, float32 bits) and a summary.csv,
 * which tests/oracle/check_train_tb.py reads with TensorBoard's
 * EventAccumulator and timm's update_summary. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/file_bytes.h"
#include "train/metrics_summary.h"
#include "train/tb_crc32c.h"
#include "train/tb_events.h"
#include "util/err.h"
#include "util/mem.h"

static char out_dir[512];
static int out_is_temp;

static void assert_ok(cz_err *e) {
  if (e) fail_msg("%s", cz_err_msg(e));
}

/* Removes the files in dir and in its direct subdirectories, then the
 * subdirectories (and dir itself when rm_top). */
static void clean_dir(const char *dir, int rm_top) {
  DIR *d = opendir(dir);
  struct dirent *ent;
  while (d && (ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    char *p = cz_asprintf("%s/%s", dir, ent->d_name);
    if (unlink(p) != 0) clean_dir(p, 1);
    free(p);
  }
  if (d) closedir(d);
  if (rm_top) rmdir(dir);
}

static int group_setup(void **state) {
  (void)state;
  const char *env = getenv("CZOO_TB_OUT");
  if (env && *env) {
    snprintf(out_dir, sizeof out_dir, "%s", env);
    for (char *p = out_dir + 1; *p; p++) /* mkdir -p */
      if (*p == '/') {
        *p = '\0';
        mkdir(out_dir, 0777);
        *p = '/';
      }
    mkdir(out_dir, 0777);
    clean_dir(out_dir, 0);
  } else {
    strcpy(out_dir, "/tmp/czoo_tb_XXXXXX");
    if (!mkdtemp(out_dir)) return -1;
    out_is_temp = 1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  if (out_is_temp) clean_dir(out_dir, 1);
  return 0;
}

/* Expected bytes from tensorboard.compat.proto.event_pb2 (TensorBoard
 * 2.20.0) SerializeToString of the same Event. Exact. */
static void test_encode_matches_protobuf(void **state) {
  (void)state;
  static const uint8_t scalar[] = {0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x10,
                                   0x03, 0x2a, 0x0b, 0x0a, 0x09, 0x0a, 0x02, 0x6c, 0x72, 0x15,
                                   0x00, 0x00, 0x00, 0x3f};
  /* Event(wall_time=1.5, file_version="brain.Event:2") with
   * source_metadata.writer = "czoo" (step 0 is left out, as proto3 does). */
  static const uint8_t version[] = {
      0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x1a, 0x0d, 0x62, 0x72, 0x61, 0x69, 0x6e,
      0x2e, 0x45, 0x76, 0x65, 0x6e, 0x74, 0x3a, 0x32, 0x52, 0x06, 0x0a, 0x04, 0x63, 0x7a, 0x6f, 0x6f};
  static const uint8_t step0[] = {0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x2a,
                                  0x13, 0x0a, 0x11, 0x0a, 0x0a, 0x74, 0x72, 0x61, 0x69, 0x6e,
                                  0x2f, 0x6c, 0x6f, 0x73, 0x73, 0x15, 0x00, 0x00, 0x10, 0x40};
  static const uint8_t negative[] = {
      0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x10, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x2a, 0x12, 0x0a, 0x10, 0x0a, 0x09, 0x65, 0x76,
      0x61, 0x6c, 0x2f, 0x74, 0x6f, 0x70, 0x31, 0x15, 0x00, 0x80, 0xb6, 0x42};
  uint8_t buf[64];
  size_t n = cz_tb_encode_event(buf, sizeof buf, 1.5, 3, NULL, "lr", 0.5f);
  assert_int_equal(n, sizeof scalar);
  assert_memory_equal(buf, scalar, n);
  n = cz_tb_encode_event(buf, sizeof buf, 1.5, 0, "brain.Event:2", NULL, 0.0f);
  assert_int_equal(n, sizeof version);
  assert_memory_equal(buf, version, n);
  n = cz_tb_encode_event(buf, sizeof buf, 1.5, 0, NULL, "train/loss", 2.25f);
  assert_int_equal(n, sizeof step0);
  assert_memory_equal(buf, step0, n);
  n = cz_tb_encode_event(buf, sizeof buf, 1.5, -1, NULL, "eval/top1", 91.25f);
  assert_int_equal(n, sizeof negative);
  assert_memory_equal(buf, negative, n);
  /* Too small a buffer: the size needed, nothing written past cap. */
  memset(buf, 0xAB, sizeof buf);
  assert_int_equal(cz_tb_encode_event(buf, 4, 1.5, 3, NULL, "lr", 0.5f), sizeof scalar);
  assert_int_equal(buf[4], 0xAB);
}

/* Framing of {1,2,3}; CRCs from tensorboard's masked_crc32c. Exact. */
static void test_frame_record(void **state) {
  (void)state;
  static const uint8_t data[] = {1, 2, 3};
  static const uint8_t want[] = {3, 0, 0, 0, 0, 0, 0, 0, 0xb0, 0x99, 0x49, 0x0e,
                                 1, 2, 3, 0x39, 0xcd, 0xc0, 0x86};
  uint8_t out[19];
  cz_tb_frame_record(data, 3, out);
  assert_memory_equal(out, want, sizeof want);
}

static int contains(const uint8_t *d, size_t n, const char *s) {
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++)
    if (!memcmp(d + i, s, k)) return 1;
  return 0;
}

/* Number of whole, CRC-correct records in the file; fails on anything else
 * (a torn record, a bad CRC, trailing bytes). */
static int count_records(const char *path) {
  uint8_t *b;
  size_t n;
  assert_ok(cz_read_file_bytes(path, &b, &n));
  size_t off = 0;
  int count = 0;
  while (off < n) {
    assert_true(n - off >= 12);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++) len |= (uint64_t)b[off + i] << (8 * i);
    uint32_t hc = (uint32_t)b[off + 8] | (uint32_t)b[off + 9] << 8 |
                  (uint32_t)b[off + 10] << 16 | (uint32_t)b[off + 11] << 24;
    assert_int_equal(hc, cz_crc32c_mask(cz_crc32c(b + off, 8)));
    assert_true(n - off - 12 >= len + 4);
    const uint8_t *d = b + off + 12;
    uint32_t dc = (uint32_t)d[len] | (uint32_t)d[len + 1] << 8 | (uint32_t)d[len + 2] << 16 |
                  (uint32_t)d[len + 3] << 24;
    assert_int_equal(dc, cz_crc32c_mask(cz_crc32c(d, len)));
    if (count == 0) assert_true(contains(d, len, "brain.Event:2"));
    off += 12 + len + 4;
    count++;
  }
  free(b);
  return count;
}

/* The one event file in dir (its path, caller frees). */
static char *only_event_file(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  char *found = NULL;
  int k = 0;
  struct dirent *ent;
  while ((ent = readdir(d)))
    if (!strncmp(ent->d_name, "events.out.tfevents.", 20)) {
      found = cz_asprintf("%s/%s", dir, ent->d_name);
      k++;
    }
  closedir(d);
  assert_int_equal(k, 1);
  return found;
}

static const char *const tags[] = {"train/loss", "eval/loss", "eval/top1", "eval/top5", "lr"};

/* The value of tag t at epoch ep: varied, some not exact in float32. */
static float value_of(int t, int ep) {
  switch (t) {
  case 0: return 2.302585f / (float)(ep + 1);
  case 1: return 1.9f / (float)(ep + 1) + 0.1f;
  case 2: return 31.25f + 12.3456f * (float)ep;
  case 3: return ep >= 4 ? 100.0f : 80.0f + 4.7f * (float)ep;
  default: return ep == 0 ? 1e-5f : 0.01f * (float)(6 - ep) / 6.0f;
  }
}

/* Writes epochs [0, epochs) of all tags with a flush after each, noting
 * each scalar in the expected table when tsv is not NULL. */
static void write_epochs(cz_tb_writer *w, int epochs, FILE *tsv) {
  for (int ep = 0; ep < epochs; ep++) {
    for (int t = 0; t < 5; t++) {
      float v = value_of(t, ep);
      assert_ok(cz_tb_scalar(w, tags[t], ep, v));
      if (tsv) {
        uint32_t bits;
        memcpy(&bits, &v, 4);
        fprintf(tsv, "%s\t%d\t%08x\n", tags[t], ep, bits);
      }
    }
    assert_ok(cz_tb_flush(w));
  }
}

static void test_write_run(void **state) {
  (void)state;
  char *dir = cz_asprintf("%s/run", out_dir);
  char *exp = cz_asprintf("%s/expected_run.tsv", out_dir);
  FILE *tsv = fopen(exp, "w");
  assert_non_null(tsv);
  cz_tb_writer *w;
  assert_ok(cz_tb_open(dir, &w));
  assert_int_equal(count_records(cz_tb_path(w)), 1); /* file_version, flushed at open */
  write_epochs(w, 6, tsv);
  fclose(tsv);
  /* Everything flushed is in the file before close. */
  assert_int_equal(count_records(cz_tb_path(w)), 1 + 6 * 5);
  char *path = cz_xstrdup(cz_tb_path(w));
  assert_ok(cz_tb_close(w));
  char *found = only_event_file(dir);
  assert_string_equal(found, path);
  assert_int_equal(count_records(found), 1 + 6 * 5);
  free(found);
  free(path);
  free(exp);
  free(dir);
}

/* A child writes and flushes two epochs, writes a third without flushing
 * and is killed (SIGKILL): the file holds exactly the two epochs, whole. */
static void test_killed_run_keeps_flushed(void **state) {
  (void)state;
  char *dir = cz_asprintf("%s/killed", out_dir);
  char *exp = cz_asprintf("%s/expected_killed.tsv", out_dir);
  FILE *tsv = fopen(exp, "w");
  assert_non_null(tsv);
  for (int ep = 0; ep < 2; ep++)
    for (int t = 0; t < 5; t++) {
      float v = value_of(t, ep);
      uint32_t bits;
      memcpy(&bits, &v, 4);
      fprintf(tsv, "%s\t%d\t%08x\n", tags[t], ep, bits);
    }
  fclose(tsv);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    cz_tb_writer *w;
    cz_err *e = cz_tb_open(dir, &w);
    if (e) _exit(3);
    write_epochs(w, 2, NULL);
    for (int t = 0; t < 5; t++) cz_err_free(cz_tb_scalar(w, tags[t], 2, value_of(t, 2)));
    raise(SIGKILL);
    _exit(4);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  char *found = only_event_file(dir);
  assert_int_equal(count_records(found), 1 + 2 * 5);
  free(found);
  free(exp);
  free(dir);
}

/* Two writers opened in one second get distinct files (the counter). */
static void test_two_writers_distinct(void **state) {
  (void)state;
  char *dir = cz_asprintf("%s/two", out_dir);
  cz_tb_writer *a, *b;
  assert_ok(cz_tb_open(dir, &a));
  assert_ok(cz_tb_open(dir, &b));
  assert_string_not_equal(cz_tb_path(a), cz_tb_path(b));
  assert_ok(cz_tb_close(a));
  assert_ok(cz_tb_close(b));
  clean_dir(dir, 1);
  free(dir);
}

/* summary.csv for the oracle: values with long reprs and exponents. */
static void test_write_summary(void **state) {
  (void)state;
  char *path = cz_asprintf("%s/summary.csv", out_dir);
  for (int ep = 0; ep < 6; ep++) {
    cz_summary_row r = {ep, 2.302585092994046 / (ep + 1), (double)value_of(1, ep),
                        100.0 * (ep * 1234 + 1000) / 10000.0, ep >= 4 ? 100.0 : 80.0 + ep / 3.0,
                        ep == 0 ? 1e-05 : 0.01 * (6 - ep) / 6.0};
    assert_ok(cz_summary_append(path, &r));
  }
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_matches_protobuf),
      cmocka_unit_test(test_frame_record),
      cmocka_unit_test(test_write_run),
      cmocka_unit_test(test_killed_run_keeps_flushed),
      cmocka_unit_test(test_two_writers_distinct),
      cmocka_unit_test(test_write_summary),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
