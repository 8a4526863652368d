/* Batch assembly: the consumer drains slots in epoch order, skipping bad
 * samples, so batches depend on the data only, never on worker timing. */
#include <stdio.h>
#include <string.h>

#include "data/loader_priv.h"
#include "util/log.h"

/* Waits for position pos (or loads it here without workers). */
static cz_loader_slot *wait_slot(cz_loader *l, int64_t pos) {
  cz_loader_slot *s = &l->slots[pos % l->nslots];
  if (l->o.workers == 0) {
    cz_loader_run_one(l, l->epoch, pos);
    return s;
  }
  pthread_mutex_lock(&l->mu);
  while (s->state != SLOT_DONE) pthread_cond_wait(&l->done, &l->mu);
  pthread_mutex_unlock(&l->mu);
  return s;
}

/* Hands the slot back so a worker may load position pos + nslots into it. */
static void release_slot(cz_loader *l, cz_loader_slot *s) {
  pthread_mutex_lock(&l->mu);
  s->state = SLOT_FREE;
  s->err = NULL;
  l->consumed++;
  pthread_cond_broadcast(&l->work);
  pthread_mutex_unlock(&l->mu);
}

/* Logs and counts a bad sample; returns 1 once the epoch has too many. */
static int note_bad(cz_loader *l, int64_t pos, cz_err *e) {
  cz_warn("skipping bad sample %lld (epoch %llu, position %lld): %s",
          (long long)l->order[pos], (unsigned long long)l->epoch, (long long)pos,
          cz_err_msg(e));
  int64_t k = l->st.samples_bad++;
  if (k < CZ_LOADER_BAD_QUOTED)
    snprintf(l->bad_quote[k], sizeof l->bad_quote[k], "%s", cz_err_msg(e));
  if ((double)l->st.samples_bad <= l->o.max_bad_fraction * (double)l->len) return 0;
  int len = snprintf(l->fail_msg, sizeof l->fail_msg,
                     "%lld of %lld samples failed to load in epoch %llu (more than "
                     "%g%% allowed); first:",
                     (long long)l->st.samples_bad, (long long)l->len,
                     (unsigned long long)l->epoch, 100.0 * l->o.max_bad_fraction);
  int64_t quoted = l->st.samples_bad < CZ_LOADER_BAD_QUOTED ? l->st.samples_bad
                                                             : CZ_LOADER_BAD_QUOTED;
  for (int64_t i = 0; i < quoted && len > 0 && (size_t)len < sizeof l->fail_msg; i++)
    len += snprintf(l->fail_msg + len, sizeof l->fail_msg - (size_t)len, "%s %s",
                    i ? ";" : "", l->bad_quote[i]);
  l->failed = 1;
  return 1;
}

static void put_row(cz_loader *l, int64_t row, int64_t pos, const cz_loader_slot *s) {
  int64_t si = pos % l->nslots, nc = l->o.num_classes;
  memcpy(l->out_x + row * l->sample_floats, l->ring + si * l->sample_floats,
         (size_t)l->sample_floats * sizeof(float));
  l->out_y[row] = s->label;
  l->out_index[row] = l->order[pos];
  if (nc > 0) {
    float *t = l->out_soft + row * nc;
    memset(t, 0, (size_t)nc * sizeof(float));
    t[s->label] = 1.0f;
  }
}

cz_err *cz_loader_next(cz_loader *l, cz_loader_batch *b) {
  *b = (cz_loader_batch){0};
  if (!l->active)
    return cz_err_new(CZ_EXIT_RUNTIME, "loader: next batch asked before start_epoch");
  if (l->failed) return cz_err_new(CZ_EXIT_RUNTIME, "%s", l->fail_msg);
  int64_t rows = 0, B = l->o.batch_size;
  /* Only this thread advances `consumed`, so reading it unlocked is safe. */
  while (rows < B && l->consumed < l->len) {
    int64_t pos = l->consumed;
    cz_loader_slot *s = wait_slot(l, pos);
    cz_err *e = s->err;
    if (e) {
      int fail = note_bad(l, pos, e);
      cz_err_free(e);
      release_slot(l, s);
      if (fail) return cz_err_new(CZ_EXIT_RUNTIME, "%s", l->fail_msg);
      continue;
    }
    put_row(l, rows++, pos, s);
    release_slot(l, s);
  }
  if (rows < B && l->o.drop_last) rows = 0;
  if (rows == 0) return NULL;
  l->st.samples_ok += rows;
  l->st.batches++;
  *b = (cz_loader_batch){.n = rows, .x = l->out_x, .y = l->out_y,
                         .soft = l->o.num_classes > 0 ? l->out_soft : NULL,
                         .index = l->out_index};
  return NULL;
}
