/* TensorBoard event file writer. The protobuf encoding is written by hand:
 * only the few fields used are needed. Field numbers and types follow
 * tensorboard/compat/proto/event.proto and summary.proto (TensorBoard 2.x,
 * same as tensorflow/core/util/event.proto and framework/summary.proto):
 *   Event:         wall_time = 1 (double), step = 2 (int64),
 *                  file_version = 3 (string), summary = 5 (Summary),
 *                  source_metadata = 10 (SourceMetadata)
 *   SourceMetadata: writer = 1 (string)
 *   Summary:       value = 1 (repeated Summary.Value)
 *   Summary.Value: tag = 1 (string), simple_value = 2 (float)
 * Wire format (protobuf encoding guide): key = field << 3 | wire type;
 * wire types 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32; all
 * fixed-width values little-endian. */
#include "train/tb_events.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/tb_crc32c.h"
#include "util/mem.h"

struct cz_tb_writer {
  FILE *f;
  char *path;
};

static atomic_int tb_writer_count;

/* A bounded output cursor: counts every byte, stores those that fit. */
typedef struct {
  uint8_t *buf;
  size_t cap, n;
} pb_out;

static void pb_byte(pb_out *o, uint8_t b) {
  if (o->n < o->cap) o->buf[o->n] = b;
  o->n++;
}

static void pb_varint(pb_out *o, uint64_t v) {
  while (v >= 0x80) {
    pb_byte(o, (uint8_t)(v | 0x80));
    v >>= 7;
  }
  pb_byte(o, (uint8_t)v);
}

static void pb_fixed(pb_out *o, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) pb_byte(o, (uint8_t)(v >> (8 * i)));
}

static void pb_key(pb_out *o, unsigned field, unsigned wire) { pb_varint(o, field << 3 | wire); }

static void pb_bytes_field(pb_out *o, unsigned field, const void *data, size_t n) {
  pb_key(o, field, 2);
  pb_varint(o, n);
  for (size_t i = 0; i < n; i++) pb_byte(o, ((const uint8_t *)data)[i]);
}

/* Proto3 leaves out string and integer fields holding their default (empty,
 * zero), and so does this encoder, byte for byte as protobuf's own
 * serializer; simple_value sits in a oneof and is always written. */
static size_t value_msg_size(const char *tag) {
  size_t t = strlen(tag);
  if (!t) return 1 + 4;
  pb_out o = {0};
  pb_varint(&o, t);
  return 1 + o.n + t + 1 + 4; /* tag key, len, bytes; simple_value key, float */
}

size_t cz_tb_encode_event(uint8_t *buf, size_t cap, double wall_time, int64_t step,
                          const char *file_version, const char *tag, float value) {
  pb_out o = {buf, cap, 0};
  uint64_t wt;
  memcpy(&wt, &wall_time, sizeof wt);
  pb_key(&o, 1, 1);
  pb_fixed(&o, wt, 8);
  if (step) {
    pb_key(&o, 2, 0);
    pb_varint(&o, (uint64_t)step); /* int64: negative values as 10-byte two's complement */
  }
  if (!tag) {
    pb_bytes_field(&o, 3, file_version, strlen(file_version));
    /* source_metadata = 10 (SourceMetadata{writer = 1}), as TensorBoard's
     * own writer sets it (to its module name); informational only. */
    static const char writer[] = "czoo";
    pb_key(&o, 10, 2);
    pb_varint(&o, 2 + strlen(writer));
    pb_bytes_field(&o, 1, writer, strlen(writer));
    return o.n;
  }
  size_t vlen = value_msg_size(tag);
  pb_out lo = {0};
  pb_varint(&lo, vlen);
  size_t slen = 1 + lo.n + vlen; /* Summary: one value field */
  pb_key(&o, 5, 2);
  pb_varint(&o, slen);
  pb_key(&o, 1, 2);
  pb_varint(&o, vlen);
  if (*tag) pb_bytes_field(&o, 1, tag, strlen(tag));
  uint32_t fv;
  memcpy(&fv, &value, sizeof fv);
  pb_key(&o, 2, 5);
  pb_fixed(&o, fv, 4);
  return o.n;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void cz_tb_frame_record(const uint8_t *data, size_t n, uint8_t *out) {
  put_le(out, n, 8);
  put_le(out + 8, cz_crc32c_mask(cz_crc32c(out, 8)), 4);
  memcpy(out + 12, data, n);
  put_le(out + 12 + n, cz_crc32c_mask(cz_crc32c(data, n)), 4);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static cz_err *write_event(cz_tb_writer *w, int64_t step, const char *file_version,
                           const char *tag, float value) {
  size_t n = cz_tb_encode_event(NULL, 0, 0.0, step, file_version, tag, value);
  uint8_t *msg = cz_xmalloc(n);
  uint8_t *rec = cz_xmalloc(n + 16);
  cz_tb_encode_event(msg, n, now_seconds(), step, file_version, tag, value);
  cz_tb_frame_record(msg, n, rec);
  size_t put = fwrite(rec, 1, n + 16, w->f);
  free(msg);
  free(rec);
  if (put != n + 16)
    return cz_err_new(CZ_EXIT_RUNTIME, "tensorboard: cannot write to '%s': %s", w->path,
                      strerror(errno));
  return NULL;
}

cz_err *cz_tb_open(const char *dir, cz_tb_writer **out) {
  *out = NULL;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return cz_err_new(CZ_EXIT_RUNTIME, "tensorboard: cannot create log directory '%s': %s", dir,
                      strerror(errno));
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "tensorboard: log directory '%s' exists but is not a directory", dir);
  char host[HOST_NAME_MAX + 1] = "localhost";
  if (gethostname(host, sizeof host) != 0) strcpy(host, "localhost");
  host[HOST_NAME_MAX] = '\0';
  int uid = atomic_fetch_add(&tb_writer_count, 1);
  char *path = cz_asprintf("%s/events.out.tfevents.%010lld.%s.%ld.%d", dir,
                           (long long)time(NULL), host, (long)getpid(), uid);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "tensorboard: cannot create event file '%s': %s",
                           path, strerror(errno));
    if (fd >= 0) close(fd);
    free(path);
    return e;
  }
  cz_tb_writer *w = cz_xcalloc(1, sizeof *w);
  w->f = f;
  w->path = path;
  /* The first event names the format, as TensorBoard's EventFileWriter does. */
  cz_err *e = write_event(w, 0, "brain.Event:2", NULL, 0.0f);
  if (!e) e = cz_tb_flush(w);
  if (e) {
    cz_err_free(cz_tb_close(w));
    return e;
  }
  *out = w;
  return NULL;
}

const char *cz_tb_path(const cz_tb_writer *w) { return w->path; }

cz_err *cz_tb_scalar(cz_tb_writer *w, const char *tag, int64_t step, float value) {
  return write_event(w, step, NULL, tag, value);
}

cz_err *cz_tb_flush(cz_tb_writer *w) {
  if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
    return cz_err_new(CZ_EXIT_RUNTIME, "tensorboard: cannot write to '%s': %s", w->path,
                      strerror(errno));
  return NULL;
}

cz_err *cz_tb_close(cz_tb_writer *w) {
  if (!w) return NULL;
  cz_err *e = cz_tb_flush(w);
  if (fclose(w->f) != 0 && !e)
    e = cz_err_new(CZ_EXIT_RUNTIME, "tensorboard: cannot close '%s': %s", w->path,
                   strerror(errno));
  free(w->path);
  free(w);
  return e;
}
