/* The loader's lifecycle: buffers, worker threads, epochs, shutdown.
 * Batch assembly and the bad-sample rule live in loader_next.c. */
#include <stdlib.h>
#include <string.h>

#include "data/loader_priv.h"

cz_loader_opts cz_loader_opts_default(void) {
  return (cz_loader_opts){.batch_size = 32, .h = 1, .w = 1, .c = 1, .shuffle = 1,
                          .max_bad_fraction = 0.01};
}

void cz_loader_run_one(cz_loader *l, uint64_t epoch, int64_t pos) {
  int64_t si = pos % l->nslots;
  cz_loader_slot *s = &l->slots[si];
  int64_t sample = l->order[pos];
  /* Repeats lie consecutively: position pos is repeat pos % r. */
  uint64_t k = l->o.repeats > 0 ? (uint64_t)(pos % l->o.repeats) : 0;
  uint64_t stream = k == 0 ? cz_rng_stream(CZ_LOADER_PURPOSE_SAMPLE, epoch, (uint64_t)sample)
                           : cz_rng_stream(CZ_LOADER_PURPOSE_REPEAT, epoch,
                                           (uint64_t)sample + (k << 32));
  cz_rng rng = cz_rng_make(l->o.seed, stream);
  int64_t label = -1;
  cz_err *e = l->load(l->ctx, sample, epoch, &rng, l->ring + si * l->sample_floats,
                      &label);
  if (!e && l->o.num_classes > 0 && (label < 0 || label >= l->o.num_classes))
    e = cz_err_new(CZ_EXIT_RUNTIME, "sample %lld: label %lld outside 0..%lld",
                   (long long)sample, (long long)label, (long long)l->o.num_classes - 1);
  s->label = label;
  s->err = e;
}

/* Workers take the lowest position not yet handed out, at most nslots ahead
 * of the consumer, so a slot is never overwritten before it was read. */
static void *worker_main(void *arg) {
  cz_loader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->stop && !(l->active && l->next_pos < l->limit &&
                         l->next_pos < l->consumed + l->nslots))
      pthread_cond_wait(&l->work, &l->mu);
    if (l->stop) break;
    int64_t pos = l->next_pos++;
    uint64_t epoch = l->epoch;
    l->inflight++;
    pthread_mutex_unlock(&l->mu);
    cz_loader_run_one(l, epoch, pos);
    pthread_mutex_lock(&l->mu);
    l->slots[pos % l->nslots].state = SLOT_DONE;
    l->inflight--;
    pthread_cond_broadcast(&l->done);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static cz_err *check_opts(const cz_loader_opts *o, int64_t n) {
  if (o->batch_size < 1 || o->h < 1 || o->w < 1 || o->c < 1)
    return cz_err_new(CZ_EXIT_USAGE, "loader: batch size and image shape must be positive");
  if (o->num_classes < 0 || o->workers < 0 || o->workers > 1024 || o->prefetch < 0 ||
      o->prefetch > 4096)
    return cz_err_new(CZ_EXIT_USAGE, "loader: classes, workers (0..1024) or prefetch "
                                     "(0..4096) out of range");
  if (n < 0 || (uint64_t)n > UINT32_MAX)
    return cz_err_new(CZ_EXIT_USAGE, "loader: %lld samples is out of range", (long long)n);
  if (o->repeats < 0 || o->repeats > 1024)
    return cz_err_new(CZ_EXIT_USAGE, "loader: repeats %lld is outside 0..1024",
                      (long long)o->repeats);
  if (!(o->max_bad_fraction >= 0.0))
    return cz_err_new(CZ_EXIT_USAGE, "loader: max_bad_fraction must be >= 0");
  if (o->h > INT64_MAX / o->w / o->c ||
      o->h * o->w * o->c > INT64_MAX / (int64_t)sizeof(float) / o->batch_size / 8192 ||
      o->num_classes > INT64_MAX / (int64_t)sizeof(float) / o->batch_size)
    return cz_err_new(CZ_EXIT_USAGE, "loader: batch too large");
  return NULL;
}

int64_t cz_loader_epoch_length(int64_t n, int64_t repeats) {
  if (repeats <= 0) return n;
  /* RepeatAugSampler: num_samples = ceil(n * r / replicas); num_selected =
   * floor(n // round * round / ratio) when n >= round, else
   * ceil(n / ratio); the smaller of the two (replicas = ratio = 1). */
  const int64_t round = 256;
  int64_t selected = n >= round ? n / round * round : n;
  int64_t total = n * repeats;
  return selected < total ? selected : total;
}

static void free_buffers(cz_loader *l) {
  if (l->order != l->perm) free(l->order);
  free(l->perm);
  free(l->slots);
  free(l->ring);
  free(l->out_x);
  free(l->out_y);
  free(l->out_soft);
  free(l->out_index);
  free(l->threads);
}

cz_err *cz_loader_new(const cz_loader_opts *opts, int64_t n, cz_loader_fn load,
                      void *ctx, cz_loader **out) {
  *out = NULL;
  cz_err *e = check_opts(opts, n);
  if (e) return e;
  cz_loader *l = calloc(1, sizeof *l);
  if (!l) return cz_err_new(CZ_EXIT_RUNTIME, "loader: out of memory");
  l->o = *opts;
  l->n = n;
  l->load = load;
  l->ctx = ctx;
  l->sample_floats = opts->h * opts->w * opts->c;
  int64_t B = opts->batch_size;
  int prefetch = opts->prefetch > 0 ? opts->prefetch : 2 * opts->workers;
  /* Without workers the caller loads one sample at a time: one slot. */
  l->nslots = opts->workers == 0 ? 1 : (prefetch < 1 ? 1 : prefetch) * B;
  l->perm = malloc((size_t)(n > 0 ? n : 1) * sizeof *l->perm);
  l->len = cz_loader_epoch_length(n, opts->repeats);
  l->order = opts->repeats > 0 ? malloc((size_t)(l->len > 0 ? l->len : 1) * sizeof *l->order)
                               : l->perm;
  l->slots = calloc((size_t)l->nslots, sizeof *l->slots);
  l->ring = malloc((size_t)(l->nslots * l->sample_floats) * sizeof(float));
  l->out_x = malloc((size_t)(B * l->sample_floats) * sizeof(float));
  l->out_y = malloc((size_t)B * sizeof(int64_t));
  l->out_index = malloc((size_t)B * sizeof(int64_t));
  if (opts->num_classes > 0)
    l->out_soft = malloc((size_t)(B * opts->num_classes) * sizeof(float));
  l->threads = calloc((size_t)(opts->workers > 0 ? opts->workers : 1), sizeof(pthread_t));
  if (!l->perm || !l->order || !l->slots || !l->ring || !l->out_x || !l->out_y || !l->out_index ||
      (opts->num_classes > 0 && !l->out_soft) || !l->threads) {
    int64_t nslots = l->nslots;
    free_buffers(l);
    free(l);
    return cz_err_new(CZ_EXIT_RUNTIME, "loader: out of memory for %lld slots",
                      (long long)nslots);
  }
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->work, NULL);
  pthread_cond_init(&l->done, NULL);
  for (int i = 0; i < opts->workers; i++) {
    if (pthread_create(&l->threads[i], NULL, worker_main, l) != 0) {
      cz_loader_free(l);
      return cz_err_new(CZ_EXIT_RUNTIME, "loader: cannot start worker thread %d", i);
    }
    l->nthreads++;
  }
  *out = l;
  return NULL;
}

/* Blocks new jobs and waits for running ones, so the caller owns every
 * slot and the permutation afterwards. Called with mu held. */
static void quiesce(cz_loader *l) {
  l->limit = 0;
  while (l->inflight > 0) pthread_cond_wait(&l->done, &l->mu);
}

void cz_loader_start_epoch(cz_loader *l, uint64_t epoch) {
  pthread_mutex_lock(&l->mu);
  quiesce(l);
  for (int64_t i = 0; i < l->nslots; i++) {
    cz_err_free(l->slots[i].err);
    l->slots[i] = (cz_loader_slot){.state = SLOT_FREE};
  }
  for (int64_t i = 0; i < l->n; i++) l->perm[i] = (uint32_t)i;
  if (l->o.shuffle) {
    cz_rng r = cz_rng_make(l->o.seed, cz_rng_stream(CZ_LOADER_PURPOSE_SHUFFLE, epoch, 0));
    cz_rng_shuffle_u32(&r, l->perm, (size_t)l->n);
  }
  /* RepeatAugSampler: repeat_interleave, then the first len positions. */
  if (l->o.repeats > 0)
    for (int64_t p = 0; p < l->len; p++) l->order[p] = l->perm[p / l->o.repeats];
  l->epoch = epoch;
  l->active = 1;
  l->next_pos = 0;
  l->consumed = 0;
  l->limit = l->len;
  l->st = (cz_loader_stats){0};
  l->failed = 0;
  l->fail_msg[0] = '\0';
  pthread_cond_broadcast(&l->work);
  pthread_mutex_unlock(&l->mu);
}

int64_t cz_loader_num_batches(const cz_loader *l) {
  int64_t B = l->o.batch_size;
  return l->o.drop_last ? l->len / B : (l->len + B - 1) / B;
}

cz_loader_stats cz_loader_stats_get(const cz_loader *l) { return l->st; }

void cz_loader_free(cz_loader *l) {
  if (!l) return;
  pthread_mutex_lock(&l->mu);
  l->stop = 1;
  pthread_cond_broadcast(&l->work);
  pthread_mutex_unlock(&l->mu);
  for (int i = 0; i < l->nthreads; i++) pthread_join(l->threads[i], NULL);
  for (int64_t i = 0; i < l->nslots; i++) cz_err_free(l->slots[i].err);
  pthread_cond_destroy(&l->work);
  pthread_cond_destroy(&l->done);
  pthread_mutex_destroy(&l->mu);
  free_buffers(l);
  free(l);
}
