/* The batch loader: worker threads run a caller's per-sample function and
 * hand back NHWC float batches in epoch order, bit-identical for any count. */
#ifndef CZ_DATA_LOADER_H
#define CZ_DATA_LOADER_H

#include <stdint.h>

#include "util/err.h"
#include "util/rng.h"

/* Loads sample `sample_index` of `epoch` into out_hwc (h*w*c floats, every
 * one must be written) and *label. `rng` is the stream keyed by (seed,
 * CZ_LOADER_PURPOSE_SAMPLE, epoch, sample_index): draw augmentation from it
 * only, so results never depend on which worker ran the sample. Called from
 * worker threads, several at a time: ctx must be safe to read concurrently.
 * An error makes the sample "bad" (skipped, see cz_loader_next); its
 * message should name the sample (e.g. its path). */
typedef cz_err *(*cz_loader_fn)(void *ctx, int64_t sample_index, uint64_t epoch,
                                cz_rng *rng, float *out_hwc, int64_t *label);

/* Stream purposes: the epoch's permutation and the per-sample streams
 * (REPEAT: the k-th repeat, k >= 1, of a sample under `repeats`). */
enum { CZ_LOADER_PURPOSE_SHUFFLE = 0x4c53, CZ_LOADER_PURPOSE_SAMPLE = 0x4c41,
       CZ_LOADER_PURPOSE_REPEAT = 0x4c52 };

typedef struct {
  int64_t batch_size, h, w, c; /* all >= 1 */
  int64_t num_classes;  /* > 0: labels must be in [0, num_classes) (else the
                           sample is bad) and batches carry one-hot soft
                           targets [B, num_classes]; 0: neither */
  uint64_t seed;
  int shuffle;          /* permute the samples every epoch (seeded) */
  int drop_last;        /* no final batch shorter than batch_size */
  int workers;          /* threads (general.workers, <= 1024); 0 = the caller loads */
  int prefetch;         /* batches in flight (<= 4096); 0 = 2 per worker */
  double max_bad_fraction; /* the epoch fails once bad > this * n */
  int64_t repeats;      /* data_augmentation.aug_repeats: 0 = off; r >= 1 =
                           timm's RepeatAugSampler for one process: the
                           (shuffled, if shuffle) permutation with every
                           index repeated r times in a row, cut to
                           cz_loader_epoch_length positions. Repeat k >= 1
                           of a sample draws from the stream (seed,
                           PURPOSE_REPEAT, epoch, sample + k * 2^32), so
                           each repeat is augmented differently; repeat 0
                           keeps the plain per-sample stream. */
} cz_loader_opts;

/* Positions per epoch for n samples: n without repeats; with r repeats,
 * RepeatAugSampler's num_selected_samples at num_replicas 1,
 * selected_round 256, selected_ratio 0 (= num_replicas): min(n >= 256 ?
 * n // 256 * 256 : n, n * r). */
int64_t cz_loader_epoch_length(int64_t n, int64_t repeats);

/* batch_size 32, 1x1x1, no soft targets, seed 0, shuffle on, drop_last
 * off, 0 workers, default prefetch, max_bad_fraction 0.01. */
cz_loader_opts cz_loader_opts_default(void);

/* One batch. Buffers belong to the loader and stay valid until the next
 * cz_loader_next / cz_loader_start_epoch / cz_loader_free. */
typedef struct {
  int64_t n;          /* rows filled (0 = the epoch is over) */
  float *x;           /* [n, h, w, c] */
  int64_t *y;         /* [n] labels */
  float *soft;        /* [n, num_classes] one-hot, or NULL (num_classes 0) */
  int64_t *index;     /* [n] sample indices, for logging and tests */
} cz_loader_batch;

typedef struct {
  int64_t samples_ok;  /* handed out in batches this epoch so far */
  int64_t samples_bad; /* skipped this epoch so far */
  int64_t batches;     /* returned this epoch so far */
} cz_loader_stats;

typedef struct cz_loader cz_loader;

/* A loader over samples 0..n-1 (n <= UINT32_MAX). All buffers are
 * allocated here and workers started; nothing runs before start_epoch. */
cz_err *cz_loader_new(const cz_loader_opts *opts, int64_t n, cz_loader_fn load,
                      void *ctx, cz_loader **out);

/* Begins `epoch` (any order, repeats allowed): work still in flight for an
 * unfinished epoch is waited for and dropped. */
void cz_loader_start_epoch(cz_loader *l, uint64_t epoch);

/* The next batch in order, blocking until it is complete; b->n == 0 at the
 * end of the epoch. Bad samples are logged as warnings and skipped: a batch
 * is always the next batch_size good samples in epoch order, so which
 * samples share a batch depends only on the data, not on the workers. Once
 * more than max_bad_fraction of the epoch is bad, returns an error quoting
 * the first few bad samples (and keeps doing so until start_epoch). */
cz_err *cz_loader_next(cz_loader *l, cz_loader_batch *b);

/* Nominal batches per epoch (as if no sample were bad), of
 * cz_loader_epoch_length positions. */
int64_t cz_loader_num_batches(const cz_loader *l);

cz_loader_stats cz_loader_stats_get(const cz_loader *l);

/* Stops the workers (mid-epoch is fine), joins them, frees everything. */
void cz_loader_free(cz_loader *l);

#endif
