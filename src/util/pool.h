/* The kernels' thread pool: a parallel loop over independent jobs in which
 * the calling thread takes part. Jobs are claimed one at a time from a
 * shared counter, so a worker the OS has not scheduled yet simply gets
 * none: the caller and the running workers do its share, and the call
 * waits only for jobs already started (where a fork-join barrier waits
 * for every thread). Which participant runs a job must never change its
 * result: callers reduce partial results in a fixed order afterwards. */
#ifndef CZ_UTIL_POOL_H
#define CZ_UTIL_POOL_H
#include <stdbool.h>
#include <stdint.h>

/* One job: `slot` (0 for the caller, 1 .. threads-1 for workers) names
 * the participant, for per-participant scratch; no two participants of a
 * call share a slot. */
typedef void (*cz_pool_fn)(void *ctx, int64_t job, int slot);

/* Runs fn(ctx, j, slot) for every j in [0, njobs) on at most `threads`
 * participants, and returns when all have finished. Serial on the
 * caller, slot 0, when threads or njobs is 1, and when the pool is
 * already running a call (a nested call, or one from another thread).
 * On a thread where the pool is not enabled (the default) the same jobs
 * run as an OpenMP parallel loop (static schedule, slot = OpenMP thread
 * number), as every kernel loop did before the pool. */
void cz_pool_run(int64_t njobs, int threads, cz_pool_fn fn, void *ctx);

/* Whether cz_pool_run uses the pool on the calling thread; returns the
 * previous setting. The inference runner (services/infer.c) enables it
 * around its forwards: training's ops are OpenMP loops, and the pool's
 * workers would compete with OpenMP's spinning ones for the cores. */
bool cz_pool_enable(bool on);
/* Whether it is enabled on the calling thread. */
bool cz_pool_enabled(void);

/* Most participants of one call. */
#define CZ_POOL_MAX 16
#endif
