/* Thread-count policy: environment first, then the machine, and the chosen
 * number pushed into OpenMP so kernels and pools agree. */
#include "util/threads.h"

#include <ctype.h>
#include <errno.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"

/* Far above any real machine; keeps a typo from spawning a million threads. */
#define MAX_THREADS 4096

static atomic_int g_threads; /* 0 until set */

/* The value of env var name as a thread count, or 0 if unset, empty or
 * invalid. OpenMP allows "4,2" (per nesting level): the first level counts. */
static int env_threads(const char *name, int allow_list) {
  const char *s = getenv(name);
  if (!s) return 0;
  const char *p = s;
  while (isspace((unsigned char)*p)) p++;
  if (!*p) return 0;
  errno = 0;
  char *end;
  long v = strtol(p, &end, 10);
  while (isspace((unsigned char)*end)) end++;
  int ok = end != p && errno == 0 && v >= 1 && v <= MAX_THREADS &&
           (*end == '\0' || (allow_list && *end == ','));
  if (!ok) {
    cz_warn(
        "ignoring %s=\"%s\": expected a whole number of threads from 1 "
        "to %d",
        name, s, MAX_THREADS);
    return 0;
  }
  return (int)v;
}

int cz_threads_default(void) {
  int n = env_threads("CZOO_NUM_THREADS", 0);
  if (n < 1) n = env_threads("OMP_NUM_THREADS", 1);
  if (n < 1) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
  }
  return n;
}

void cz_threads_set(int n) {
  if (n < 1) n = cz_threads_default();
  if (n > MAX_THREADS) n = MAX_THREADS;
  atomic_store(&g_threads, n);
  omp_set_num_threads(n);
}

int cz_threads_get(void) {
  int n = atomic_load(&g_threads);
  if (n < 1) {
    cz_threads_set(0);
    n = atomic_load(&g_threads);
  }
  return n;
}
