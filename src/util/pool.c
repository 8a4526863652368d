/* The kernels' thread pool (pool.h).
 *
 * A call is published as two tagged counters: `ticket` = (call id << 32 |
 * jobs left) and `seats` = (call id << 32 | worker slots left). A
 * participant claims a slot, then jobs, each with a compare-and-swap that
 * fails once the call id has changed, so a worker that wakes up late can
 * never claim anything from a call that is over, nor from the next one
 * with a slot of the old one. The caller waits only for `done` to reach
 * the job count: a claimed job pins the call (its fields stay valid) until
 * it is done, and nothing else needs waiting for. Workers spin a short
 * while between calls (an inference runs one call per layer, tens of
 * microseconds apart), then sleep on a condition variable. Threads where
 * the pool is not enabled run the loops on OpenMP instead. */
#include "util/pool.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"

/* Spinning before sleeping (worker) or yielding (caller), nanoseconds. */
#define WORKER_SPIN_NS 100000
#define CALLER_SPIN_NS 50000

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  _Atomic uint64_t ticket, seats;
  atomic_llong done;
  atomic_int sleepers;
  atomic_bool quit;
  atomic_flag busy;
  uint32_t id; /* the last call's id (caller side, under busy) */
  /* The call in progress: written before its ticket is published, read by
   * workers only while they hold one of its jobs. */
  cz_pool_fn fn;
  void *ctx;
  int64_t njobs;
  /* Workers started so far (under start_mu). */
  pthread_mutex_t start_mu;
  int nworkers;
  pthread_t th[CZ_POOL_MAX];
} pool_t;

static pool_t g_pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
                        .busy = ATOMIC_FLAG_INIT, .start_mu = PTHREAD_MUTEX_INITIALIZER};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint32_t tag_of(uint64_t v) { return (uint32_t)(v >> 32); }
static uint32_t count_of(uint64_t v) { return (uint32_t)v; }

/* Takes one from the count of `c` if it still belongs to call `id`;
 * returns the count before (0: nothing left, or another call). */
static uint32_t take(_Atomic uint64_t *c, uint32_t id) {
  uint64_t v = atomic_load(c);
  while (tag_of(v) == id && count_of(v) > 0)
    if (atomic_compare_exchange_weak(c, &v, v - 1)) return count_of(v);
  return 0;
}

/* Runs jobs of call `id` until none is left. */
static void work(pool_t *p, uint32_t id, int slot) {
  uint32_t left;
  while ((left = take(&p->ticket, id)) > 0) {
    p->fn(p->ctx, p->njobs - left, slot);
    atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
  }
}

static _Thread_local bool t_enabled;

static void *worker_main(void *arg) {
  pool_t *p = arg;
  t_enabled = true; /* calls from inside a job find the pool busy: serial */
  uint32_t seen = tag_of(atomic_load(&p->ticket));
  for (;;) {
    /* Wait for a new call: spin, then sleep. */
    int64_t t0 = now_ns();
    for (int i = 0; tag_of(atomic_load(&p->ticket)) == seen && !atomic_load(&p->quit); i++) {
      cpu_relax();
      if ((i & 63) == 63 && now_ns() - t0 > WORKER_SPIN_NS) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);
        while (tag_of(atomic_load(&p->ticket)) == seen && !atomic_load(&p->quit))
          pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
      }
    }
    if (atomic_load(&p->quit)) return NULL;
    seen = tag_of(atomic_load(&p->ticket));
    uint32_t seat = take(&p->seats, seen);
    if (seat > 0) work(p, seen, (int)seat);
  }
}

static void stop_workers(void) {
  pool_t *p = &g_pool;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, true);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nworkers; i++) pthread_join(p->th[i], NULL);
  p->nworkers = 0;
}

/* Starts workers up to `want`; returns how many run. */
static int ensure_workers(pool_t *p, int want) {
  pthread_mutex_lock(&p->start_mu);
  if (p->nworkers == 0 && want > 0) atexit(stop_workers);
  while (p->nworkers < want) {
    if (pthread_create(&p->th[p->nworkers], NULL, worker_main, p) != 0) {
      cz_warn("thread pool: cannot start a worker thread; running with %d", p->nworkers + 1);
      break;
    }
    p->nworkers++;
  }
  int n = p->nworkers;
  pthread_mutex_unlock(&p->start_mu);
  return n;
}

bool cz_pool_enable(bool on) {
  bool was = t_enabled;
  t_enabled = on;
  return was;
}

bool cz_pool_enabled(void) { return t_enabled; }

void cz_pool_run(int64_t njobs, int threads, cz_pool_fn fn, void *ctx) {
  pool_t *p = &g_pool;
  if (threads > CZ_POOL_MAX) threads = CZ_POOL_MAX;
  if (threads > njobs) threads = (int)njobs;
  if (threads > 1 && !t_enabled) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t j = 0; j < njobs; j++) fn(ctx, j, omp_get_thread_num());
    return;
  }
  if (threads <= 1 || njobs > UINT32_MAX || atomic_flag_test_and_set(&p->busy)) {
    for (int64_t j = 0; j < njobs; j++) fn(ctx, j, 0);
    return;
  }
  int workers = ensure_workers(p, threads - 1);
  if (workers > threads - 1) workers = threads - 1;
  uint32_t id = ++p->id;
  if (id == 0) id = ++p->id; /* 0 is the tag workers start from */
  p->fn = fn;
  p->ctx = ctx;
  p->njobs = njobs;
  atomic_store(&p->done, 0);
  atomic_store(&p->seats, (uint64_t)id << 32 | (uint32_t)workers);
  atomic_store(&p->ticket, (uint64_t)id << 32 | (uint32_t)njobs);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  work(p, id, 0);
  /* Only jobs a worker has started are left: wait for them. */
  int64_t t0 = now_ns();
  for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < njobs; i++) {
    cpu_relax();
    if ((i & 63) == 63 && now_ns() - t0 > CALLER_SPIN_NS) sched_yield();
  }
  atomic_flag_clear(&p->busy);
}
