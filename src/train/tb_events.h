/* TensorBoard event files written in TensorBoard's own format, so that
 * `tensorboard --logdir` (and its EventAccumulator) reads them: a TFRecord
 * stream of serialized tensorboard.Event protobuf messages, the first one
 * carrying file_version "brain.Event:2", each later one a scalar summary.
 * Records are buffered and reach the file at cz_tb_flush (call it after
 * each epoch): a killed run keeps every record flushed before the kill. */
#ifndef CZ_TRAIN_TB_EVENTS_H
#define CZ_TRAIN_TB_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct cz_tb_writer cz_tb_writer;

/* Creates dir when missing (its parent must exist) and a new file in it
 * named as TensorBoard's own writer names it
 * (tensorboard/summary/writer/event_file_writer.py):
 *   events.out.tfevents.<unix seconds, %010d>.<hostname>.<pid>.<n>
 * where n counts the writers opened by this process. The file_version
 * event is written and flushed before this returns. */
cz_err *cz_tb_open(const char *dir, cz_tb_writer **out);

/* The event file's path, owned by w. */
const char *cz_tb_path(const cz_tb_writer *w);

/* Appends one scalar event: Summary.Value{tag, simple_value = value} at
 * the given step, with the current wall time. */
cz_err *cz_tb_scalar(cz_tb_writer *w, const char *tag, int64_t step, float value);

/* Pushes everything written so far to the file and to disk (fsync). */
cz_err *cz_tb_flush(cz_tb_writer *w);

/* Flushes, closes and frees w (NULL is a no-op); the error of the final
 * flush, if any, is returned and w is freed all the same. */
cz_err *cz_tb_close(cz_tb_writer *w);

/* Encodes one Event message (exposed for tests): wall_time, step, and either
 * file_version plus source_metadata.writer "czoo" (tag == NULL) or a
 * one-value simple_value summary; the bytes protobuf's serializer gives. Returns
 * the byte count written to buf, or the size needed when it exceeds cap. */
size_t cz_tb_encode_event(uint8_t *buf, size_t cap, double wall_time, int64_t step,
                          const char *file_version, const char *tag, float value);

/* Frames a record as TFRecord does: u64 LE length, masked CRC-32C of
 * those 8 bytes, the data, masked CRC-32C of the data. out must hold
 * n + 16 bytes. */
void cz_tb_frame_record(const uint8_t *data, size_t n, uint8_t *out);

#endif
