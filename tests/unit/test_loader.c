/* Tests for data/loader: order, shuffling, bad samples, drop_last, early
 * shutdown, and bit-identical batches for any worker count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "data/loader.h"
#include "util/log.h"

enum { H = 3, W = 2, C = 2, HWC = H * W * C, NCLS = 10 };

typedef struct {
  int bad_mod;   /* sample % bad_mod == bad_rem is bad (0: none) */
  int bad_rem;
  int sleep_us;  /* up to this many microseconds per sample */
} synth;

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= UINT64_C(0x9e3779b97f4a7c15);
  return x ^ (x >> 29);
}

/* Values depend on (sample, epoch, rng draws); the sleep length varies by
 * sample so workers finish out of order. */
static cz_err *synth_load(void *ctx, int64_t sample, uint64_t epoch, cz_rng *rng,
                          float *out, int64_t *label) {
  const synth *s = ctx;
  if (s->sleep_us > 0) {
    uint64_t us = mix((uint64_t)sample * 131 + epoch) % (uint64_t)s->sleep_us;
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
  }
  if (s->bad_mod && sample % s->bad_mod == s->bad_rem)
    return cz_err_new(CZ_EXIT_RUNTIME, "sample-%lld.jpg: corrupt", (long long)sample);
  for (int i = 0; i < HWC; i++)
    out[i] = (float)sample * 1000.0f + (float)epoch + cz_rng_uniformf(rng);
  *label = sample % NCLS;
  return NULL;
}

static cz_loader_opts opts(int workers, int64_t bs) {
  cz_loader_opts o = cz_loader_opts_default();
  o.batch_size = bs;
  o.h = H;
  o.w = W;
  o.c = C;
  o.seed = 1234;
  o.workers = workers;
  return o;
}

static cz_loader *make(const cz_loader_opts *o, int64_t n, synth *s) {
  cz_loader *l = NULL;
  assert_null(cz_loader_new(o, n, synth_load, s, &l));
  assert_non_null(l);
  return l;
}

/* Sample indices of one epoch in batch order; returns how many. */
static int64_t epoch_order(cz_loader *l, uint64_t epoch, int64_t *idx, int64_t cap,
                           int64_t *nbatches) {
  cz_loader_start_epoch(l, epoch);
  int64_t k = 0, nb = 0;
  for (;;) {
    cz_loader_batch b;
    assert_null(cz_loader_next(l, &b));
    if (b.n == 0) break;
    nb++;
    for (int64_t i = 0; i < b.n; i++) {
      assert_true(k < cap);
      idx[k++] = b.index[i];
    }
  }
  if (nbatches) *nbatches = nb;
  return k;
}

static void test_every_sample_once_with_values(void **state) {
  (void)state;
  enum { N = 103 };
  synth s = {.sleep_us = 30};
  cz_loader_opts o = opts(3, 8);
  o.num_classes = NCLS;
  cz_loader *l = make(&o, N, &s);
  for (uint64_t ep = 0; ep < 2; ep++) {
    cz_loader_start_epoch(l, ep);
    int seen[N] = {0};
    int64_t total = 0, nb = 0;
    cz_loader_batch b;
    for (;;) {
      assert_null(cz_loader_next(l, &b));
      if (b.n == 0) break;
      nb++;
      assert_int_equal(b.n, nb <= 12 ? 8 : 7);
      for (int64_t r = 0; r < b.n; r++) {
        int64_t smp = b.index[r];
        assert_true(smp >= 0 && smp < N);
        seen[smp]++;
        assert_int_equal(b.y[r], smp % NCLS);
        /* The values a direct call with the documented stream gives. */
        cz_rng rng = cz_rng_make(1234, cz_rng_stream(CZ_LOADER_PURPOSE_SAMPLE, ep,
                                                     (uint64_t)smp));
        float want[HWC];
        int64_t lab;
        synth quiet = {0};
        assert_null(synth_load(&quiet, smp, ep, &rng, want, &lab));
        assert_memory_equal(b.x + r * HWC, want, sizeof want);
        for (int c = 0; c < NCLS; c++)
          assert_true(b.soft[r * NCLS + c] == (c == lab ? 1.0f : 0.0f));
      }
      total += b.n;
    }
    assert_int_equal(nb, 13);
    assert_int_equal(cz_loader_num_batches(l), 13);
    assert_int_equal(total, N);
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
    /* Stays at the end once there. */
    assert_null(cz_loader_next(l, &b));
    assert_int_equal(b.n, 0);
    cz_loader_stats st = cz_loader_stats_get(l);
    assert_int_equal(st.samples_ok, N);
    assert_int_equal(st.samples_bad, 0);
    assert_int_equal(st.batches, 13);
  }
  cz_loader_free(l);
}

static void test_shuffle_by_epoch_and_seed(void **state) {
  (void)state;
  enum { N = 50 };
  synth s = {0};
  int64_t a0[N], a1[N], b0[N], c0[N], d0[N];
  cz_loader_opts o = opts(2, 7);
  cz_loader *l = make(&o, N, &s);
  assert_int_equal(epoch_order(l, 0, a0, N, NULL), N);
  assert_int_equal(epoch_order(l, 1, a1, N, NULL), N);
  cz_loader_free(l);
  l = make(&o, N, &s);
  assert_int_equal(epoch_order(l, 0, b0, N, NULL), N);
  cz_loader_free(l);
  assert_memory_equal(a0, b0, sizeof a0);             /* same seed, same epoch */
  assert_memory_not_equal(a0, a1, sizeof a0);         /* new epoch, new order */
  /* The documented permutation. */
  uint32_t perm[N];
  for (uint32_t i = 0; i < N; i++) perm[i] = i;
  cz_rng r = cz_rng_make(1234, cz_rng_stream(CZ_LOADER_PURPOSE_SHUFFLE, 1, 0));
  cz_rng_shuffle_u32(&r, perm, N);
  for (int i = 0; i < N; i++) assert_int_equal(a1[i], perm[i]);

  o.seed = 99;
  l = make(&o, N, &s);
  assert_int_equal(epoch_order(l, 0, c0, N, NULL), N);
  cz_loader_free(l);
  assert_memory_not_equal(a0, c0, sizeof a0);
  o.shuffle = 0;
  l = make(&o, N, &s);
  assert_int_equal(epoch_order(l, 3, d0, N, NULL), N);
  cz_loader_free(l);
  for (int i = 0; i < N; i++) assert_int_equal(d0[i], i);
}

/* Everything two epochs produce (batch sizes, images, labels, soft
 * targets, indices, stats) appended to one byte buffer. */
typedef struct {
  unsigned char *p;
  size_t n, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
}

static bytes run_all(int workers, int prefetch, int drop_last) {
  enum { N = 211 };
  synth s = {.bad_mod = 23, .bad_rem = 4, .sleep_us = 20};
  cz_loader_opts o = opts(workers, 16);
  o.prefetch = prefetch;
  o.drop_last = drop_last;
  o.num_classes = NCLS;
  o.max_bad_fraction = 0.1;
  cz_loader *l = make(&o, N, &s);
  bytes out = {0};
  for (uint64_t ep = 5; ep < 7; ep++) {
    cz_loader_start_epoch(l, ep);
    cz_loader_batch b;
    do {
      assert_null(cz_loader_next(l, &b));
      put(&out, &b.n, sizeof b.n);
      if (b.n == 0) break;
      put(&out, b.x, (size_t)b.n * HWC * sizeof(float));
      put(&out, b.y, (size_t)b.n * sizeof(int64_t));
      put(&out, b.soft, (size_t)b.n * NCLS * sizeof(float));
      put(&out, b.index, (size_t)b.n * sizeof(int64_t));
    } while (1);
    cz_loader_stats st = cz_loader_stats_get(l);
    put(&out, &st, sizeof st);
  }
  cz_loader_free(l);
  return out;
}

static void test_identical_for_any_worker_count(void **state) {
  (void)state;
  cz_log_level old = cz_log_get_level();
  cz_log_set_level(CZ_LOG_ERROR); /* 9 bad samples per epoch, 20 runs */
  for (int drop = 0; drop < 2; drop++) {
    bytes ref = run_all(0, 0, drop);
    const int workers[] = {1, 3, 8, 3};
    const int prefetch[] = {0, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
      bytes got = run_all(workers[i], prefetch[i], drop);
      assert_int_equal(got.n, ref.n);
      assert_memory_equal(got.p, ref.p, ref.n);
      free(got.p);
    }
    free(ref.p);
  }
  cz_log_set_level(old);
}

static void test_drop_last_sizes(void **state) {
  (void)state;
  enum { N = 45 };
  synth s = {0};
  int64_t idx[N], nb;
  for (int drop = 0; drop < 2; drop++) {
    cz_loader_opts o = opts(2, 10);
    o.drop_last = drop;
    cz_loader *l = make(&o, N, &s);
    assert_int_equal(epoch_order(l, 0, idx, N, &nb), drop ? 40 : 45);
    assert_int_equal(nb, drop ? 4 : 5);
    assert_int_equal(cz_loader_num_batches(l), drop ? 4 : 5);
    cz_loader_free(l);
  }
  /* Exactly divisible: drop_last changes nothing. */
  cz_loader_opts o = opts(1, 9);
  o.drop_last = 1;
  cz_loader *l = make(&o, N, &s);
  assert_int_equal(epoch_order(l, 0, idx, N, &nb), 45);
  assert_int_equal(nb, 5);
  cz_loader_free(l);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_bad_samples_skipped_and_counted(void **state) {
  (void)state;
  enum { N = 100 };
  char logpath[] = "/tmp/czoo_loader_log_XXXXXX";
  int fd = mkstemp(logpath);
  assert_true(fd >= 0);
  close(fd);
  cz_log_close_file(); /* drops earlier tests' lines, held for a log file */
  assert_null(cz_log_open_file(logpath));

  synth s = {.bad_mod = 10, .bad_rem = 3, .sleep_us = 10}; /* 10 bad */
  cz_loader_opts o = opts(3, 8);
  o.max_bad_fraction = 0.1; /* 10 of 100 is not more than 10% */
  o.shuffle = 0;
  cz_loader *l = make(&o, N, &s);
  int64_t idx[N], nb;
  assert_int_equal(epoch_order(l, 0, idx, N, &nb), 90);
  /* Compaction: the good samples in epoch order, batches always full but
   * the last. */
  int64_t k = 0;
  for (int64_t i = 0; i < N; i++)
    if (i % 10 != 3) assert_int_equal(idx[k++], i);
  assert_int_equal(nb, 12); /* 11 x 8 + 2 */
  cz_loader_stats st = cz_loader_stats_get(l);
  assert_int_equal(st.samples_bad, 10);
  assert_int_equal(st.samples_ok, 90);
  cz_loader_free(l);
  cz_log_close_file();

  char *log = read_all(logpath);
  unlink(logpath);
  assert_non_null(strstr(log, "[WARNING]"));
  assert_non_null(strstr(log, "sample-3.jpg: corrupt"));
  assert_non_null(strstr(log, "sample-93.jpg: corrupt"));
  int lines = 0;
  for (char *p = log; (p = strstr(p, "corrupt")) != NULL; p++) lines++;
  assert_int_equal(lines, 10);
}

static void test_too_many_bad_is_an_error(void **state) {
  (void)state;
  cz_log_level old = cz_log_get_level();
  cz_log_set_level(CZ_LOG_ERROR); /* the warnings are tested above */
  enum { N = 200 };
  synth s = {.bad_mod = 20, .bad_rem = 7}; /* 10 bad = 5% */
  for (int workers = 0; workers < 5; workers += 4) {
    cz_loader_opts o = opts(workers, 16);
    o.shuffle = 0;
    cz_loader *l = make(&o, N, &s); /* default: at most 1% = 2 */
    cz_loader_start_epoch(l, 0);
    cz_loader_batch b;
    cz_err *e = NULL;
    int batches = 0;
    while ((e = cz_loader_next(l, &b)) == NULL) {
      assert_true(b.n > 0);
      batches++;
    }
    /* Fails at the third bad sample, 47, within the third batch. */
    assert_int_equal(batches, 2);
    const char *m = cz_err_msg(e);
    assert_non_null(strstr(m, "3 of 200 samples"));
    assert_non_null(strstr(m, "sample-7.jpg"));
    assert_non_null(strstr(m, "sample-27.jpg"));
    assert_non_null(strstr(m, "sample-47.jpg"));
    cz_err_free(e);
    /* Sticky until the next epoch. */
    e = cz_loader_next(l, &b);
    assert_non_null(e);
    assert_int_equal(b.n, 0);
    cz_err_free(e);
    cz_loader_stats st = cz_loader_stats_get(l);
    assert_int_equal(st.samples_bad, 3);
    /* A new epoch starts the count afresh (one bad in its first batch). */
    cz_loader_start_epoch(l, 1);
    assert_null(cz_loader_next(l, &b));
    assert_int_equal(b.n, 16);
    cz_loader_free(l);
  }
  cz_log_set_level(old);
}

static void test_early_stop_and_restart(void **state) {
  (void)state;
  enum { N = 300 };
  synth s = {.sleep_us = 50};
  /* Never started. */
  cz_loader_opts o = opts(4, 8);
  cz_loader *l = make(&o, N, &s);
  cz_loader_batch b;
  cz_err *e = cz_loader_next(l, &b);
  assert_non_null(e);
  cz_err_free(e);
  cz_loader_free(l);
  /* One batch, then free while workers are busy. */
  o.workers = 8;
  l = make(&o, N, &s);
  cz_loader_start_epoch(l, 0);
  assert_null(cz_loader_next(l, &b));
  assert_int_equal(b.n, 8);
  cz_loader_free(l);
  /* Restart mid-epoch: the new epoch is complete and unaffected. */
  l = make(&o, N, &s);
  cz_loader_start_epoch(l, 0);
  assert_null(cz_loader_next(l, &b));
  assert_null(cz_loader_next(l, &b));
  int64_t idx[N], ref[N];
  assert_int_equal(epoch_order(l, 2, idx, N, NULL), N);
  cz_loader_free(l);
  o.workers = 0;
  l = make(&o, N, &s);
  assert_int_equal(epoch_order(l, 2, ref, N, NULL), N);
  cz_loader_free(l);
  assert_memory_equal(idx, ref, sizeof idx);
  /* Zero samples: an empty epoch. */
  o.workers = 2;
  l = make(&o, 0, &s);
  cz_loader_start_epoch(l, 0);
  assert_null(cz_loader_next(l, &b));
  assert_int_equal(b.n, 0);
  cz_loader_free(l);
}

static void test_bad_options(void **state) {
  (void)state;
  synth s = {0};
  cz_loader *l = NULL;
  cz_loader_opts o = opts(1, 0);
  cz_err *e = cz_loader_new(&o, 10, synth_load, &s, &l);
  assert_non_null(e);
  assert_null(l);
  cz_err_free(e);
  o = opts(-1, 4);
  e = cz_loader_new(&o, 10, synth_load, &s, &l);
  assert_non_null(e);
  cz_err_free(e);
  o = opts(1, 4);
  o.max_bad_fraction = -0.5;
  e = cz_loader_new(&o, 10, synth_load, &s, &l);
  assert_non_null(e);
  cz_err_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_sample_once_with_values),
      cmocka_unit_test(test_shuffle_by_epoch_and_seed),
      cmocka_unit_test(test_identical_for_any_worker_count),
      cmocka_unit_test(test_drop_last_sizes),
      cmocka_unit_test(test_bad_samples_skipped_and_counted),
      cmocka_unit_test(test_too_many_bad_is_an_error),
      cmocka_unit_test(test_early_stop_and_restart),
      cmocka_unit_test(test_bad_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
