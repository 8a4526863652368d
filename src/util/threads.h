/* One thread count for the whole program: OpenMP kernels and worker pools
 * read it here, so results (which may depend on it) are reproducible. */
#ifndef CZ_UTIL_THREADS_H
#define CZ_UTIL_THREADS_H

/* CZOO_NUM_THREADS, else OMP_NUM_THREADS (its first level if a list), else
 * the number of online CPUs; at least 1. A value that is not a positive
 * integer is ignored with a warning. */
int cz_threads_default(void);

/* Sets the count (n < 1 means cz_threads_default()) and applies it to
 * OpenMP. Call from the main thread, outside parallel regions. OpenMP keeps
 * this setting per thread, so code entering a parallel region from another
 * thread (a worker) should say num_threads(cz_threads_get()) itself. */
void cz_threads_set(int n);

/* The count in force; the default, applied, if none was set yet. */
int cz_threads_get(void);

#endif
