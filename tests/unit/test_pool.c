/* The kernels' thread pool (util/pool.h): every job runs exactly once,
 * slots stay below the participant count and no two running jobs share
 * one, across call sizes and thread counts; a nested call, and a call made
 * while another thread's is running, run serially on slot 0; a job that
 * stalls does not stop the other jobs from finishing (the caller takes
 * them); where the pool is not enabled, OpenMP runs the same contract. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/pool.h"

#define MAX_JOBS 4096

typedef struct {
  atomic_int runs[MAX_JOBS];
  atomic_int busy[CZ_POOL_MAX]; /* jobs running on each slot now */
  atomic_int bad_slot, shared_slot;
  int threads;
} check_t;

static void spin_a_little(int64_t j) {
  volatile double s = 0;
  for (int64_t i = 0; i < 200 + (j % 7) * 100; i++) s = s + (double)i;
}

static void check_job(void *cv, int64_t j, int slot) {
  check_t *c = cv;
  if (slot < 0 || slot >= c->threads) {
    atomic_fetch_add(&c->bad_slot, 1);
    return;
  }
  if (atomic_fetch_add(&c->busy[slot], 1) != 0) atomic_fetch_add(&c->shared_slot, 1);
  spin_a_little(j);
  atomic_fetch_add(&c->runs[j], 1);
  atomic_fetch_sub(&c->busy[slot], 1);
}

/* Runs a call on c; returns the problems found (0: none). */
static int check_call(check_t *c, int64_t njobs, int threads) {
  memset(c, 0, sizeof *c);
  c->threads = threads;
  cz_pool_run(njobs, threads, check_job, c);
  int bad = atomic_load(&c->bad_slot) + atomic_load(&c->shared_slot);
  for (int64_t j = 0; j < njobs; j++) bad += atomic_load(&c->runs[j]) != 1;
  return bad;
}

static void run_and_check(int64_t njobs, int threads) {
  static check_t c;
  if (check_call(&c, njobs, threads))
    fail_msg("%lld jobs, %d threads: a job did not run exactly once, or slots were wrong",
             (long long)njobs, threads);
}

static void test_every_job_once(void **state) {
  (void)state;
  cz_pool_enable(true);
  const int64_t sizes[] = {0, 1, 2, 3, 7, 64, 1000, MAX_JOBS};
  const int threads[] = {1, 2, 3, 4, CZ_POOL_MAX};
  for (int rep = 0; rep < 5; rep++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
      for (size_t t = 0; t < sizeof threads / sizeof *threads; t++)
        run_and_check(sizes[s], threads[t]);
}

/* A job that calls the pool again: the inner call runs on its caller. */
typedef struct {
  atomic_int inner_runs, inner_bad_slot;
} nest_t;

static void inner_job(void *cv, int64_t j, int slot) {
  (void)j;
  nest_t *n = cv;
  if (slot != 0) atomic_fetch_add(&n->inner_bad_slot, 1);
  atomic_fetch_add(&n->inner_runs, 1);
}

static void outer_job(void *cv, int64_t j, int slot) {
  (void)j, (void)slot;
  cz_pool_run(5, 2, inner_job, cv);
}

static void test_nested_call_is_serial(void **state) {
  (void)state;
  cz_pool_enable(true);
  nest_t n = {0};
  cz_pool_run(8, 2, outer_job, &n);
  assert_int_equal(atomic_load(&n.inner_runs), 40);
  assert_int_equal(atomic_load(&n.inner_bad_slot), 0);
}

/* Two threads calling at once: both calls complete, every job once. */
static void *caller_main(void *arg) {
  static check_t c;
  int *bad = arg;
  cz_pool_enable(true);
  for (int i = 0; i < 200; i++) *bad += check_call(&c, 64, 2);
  return NULL;
}

static void test_concurrent_callers(void **state) {
  (void)state;
  cz_pool_enable(true);
  static check_t c;
  int bad_other = 0, bad = 0;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, caller_main, &bad_other), 0);
  for (int i = 0; i < 200; i++) bad += check_call(&c, 64, 2);
  pthread_join(th, NULL);
  assert_int_equal(bad, 0);
  assert_int_equal(bad_other, 0);
}

/* Job 0 stalls until every other job has run: only possible if the other
 * participant (the caller or a worker) takes them all meanwhile. */
typedef struct {
  atomic_int done;
  int64_t njobs;
  bool timed_out;
} stall_t;

static void stall_job(void *cv, int64_t j, int slot) {
  (void)slot;
  stall_t *s = cv;
  if (j == 0) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
      clock_gettime(CLOCK_MONOTONIC, &t);
    } while (atomic_load(&s->done) < s->njobs - 1 && t.tv_sec - t0.tv_sec < 60);
    s->timed_out = atomic_load(&s->done) < s->njobs - 1;
  }
  atomic_fetch_add(&s->done, 1);
}

static void test_stalled_job_does_not_block_others(void **state) {
  (void)state;
  cz_pool_enable(true);
  stall_t s = {.njobs = 50};
  cz_pool_run(s.njobs, 2, stall_job, &s);
  assert_int_equal(atomic_load(&s.done), 50);
  assert_false(s.timed_out);
}

/* Where the pool is not enabled, the same contract on OpenMP. */
static void test_openmp_fallback(void **state) {
  (void)state;
  assert_true(cz_pool_enable(false));
  static check_t c;
  const int64_t sizes[] = {0, 1, 5, 300};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
    for (int t = 1; t <= 3; t++) assert_int_equal(check_call(&c, sizes[s], t), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_job_once),
      cmocka_unit_test(test_nested_call_is_serial),
      cmocka_unit_test(test_concurrent_callers),
      cmocka_unit_test(test_stalled_job_does_not_block_others),
      cmocka_unit_test(test_openmp_fallback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
