/* The loader's shared state: a ring of sample slots that workers fill by
 * epoch position and the consumer drains in order (loader.c, loader_next.c). */
#ifndef CZ_DATA_LOADER_PRIV_H
#define CZ_DATA_LOADER_PRIV_H

#include <pthread.h>

#include "data/loader.h"

enum { SLOT_FREE = 0, SLOT_DONE = 1 };
enum { CZ_LOADER_BAD_QUOTED = 3 }; /* bad samples named in the error */

/* One staged sample; its data is ring + slot_index * h*w*c. */
typedef struct {
  int state;      /* SLOT_FREE until its position's load returned */
  int64_t label;
  cz_err *err;    /* the load's error (bad sample), owned */
} cz_loader_slot;

struct cz_loader {
  cz_loader_opts o;
  int64_t n, sample_floats;
  cz_loader_fn load;
  void *ctx;

  uint32_t *perm;          /* the epoch's permutation of the n samples */
  int64_t len;             /* positions per epoch (cz_loader_epoch_length) */
  uint32_t *order;         /* epoch position -> sample index (= perm
                              without repeats) */
  int64_t nslots;          /* ring size: samples in flight */
  cz_loader_slot *slots;   /* position p lives in slot p % nslots */
  float *ring;
  cz_loader_batch out;     /* the buffers handed to the consumer */
  float *out_x, *out_soft;
  int64_t *out_y, *out_index;

  /* Everything below is guarded by mu. */
  pthread_mutex_t mu;
  pthread_cond_t work;     /* a position became available, or stop */
  pthread_cond_t done;     /* a slot became DONE, or in-flight reached 0 */
  pthread_t *threads;
  int nthreads;            /* started (may be < workers if creation failed) */
  int stop;
  int active;              /* an epoch is running */
  uint64_t epoch;
  int64_t next_pos;        /* next position for a worker */
  int64_t consumed;        /* positions the consumer has released */
  int64_t limit;           /* workers take positions < limit only */
  int inflight;            /* loads running in workers */

  /* Consumer-only state (one consumer thread). */
  cz_loader_stats st;
  int failed;
  char fail_msg[1024];
  char bad_quote[CZ_LOADER_BAD_QUOTED][256];
};

/* Runs the load for epoch position pos into its slot (no lock held). */
void cz_loader_run_one(cz_loader *l, uint64_t epoch, int64_t pos);

#endif
