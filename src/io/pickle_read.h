/* A restricted unpickler for PyTorch checkpoints (pickle protocols 2-5,
 * following CPython's Lib/pickle.py opcode definitions and torch's
 * serialization.py persistent ids). It builds a cz_pyval tree and never runs
 * anything: only the opcodes that torch.save emits for dicts, lists,
 * tuples, strings, numbers and tensors are accepted, GLOBAL names come from
 * a fixed allow-list, and every length, count, memo index and nesting depth
 * is bounded. Anything else is an error naming the file and what was met. */
#ifndef CZ_IO_PICKLE_READ_H
#define CZ_IO_PICKLE_READ_H
#include <stddef.h>
#include <stdint.h>

#include "io/pyval.h"
#include "util/err.h"

enum {
  CZ_PICKLE_MAX_DEPTH = 100,          /* nesting of containers */
  CZ_PICKLE_MAX_MEMO = 1 << 20,       /* memo indices */
  CZ_PICKLE_MAX_STACK = 1 << 22,      /* values on the stack */
  CZ_PICKLE_MAX_MARKS = 1 << 16,      /* open MARKs */
  CZ_PICKLE_MAX_STR = 64 << 20,       /* bytes in one str/bytes */
  CZ_PICKLE_MAX_STORAGES = 1 << 20,   /* distinct storages */
};

typedef struct {
  const char *what; /* the file, for messages */
  /* Finds the bytes of storage `key` (the archive's data/<key> record);
   * `want` is the size its persistent id implies (checked afterwards). */
  cz_err *(*storage)(void *ctx, const char *key, uint64_t want, const uint8_t **bytes, size_t *size);
  void *ctx;
  /* Most bytes of tensor data the tensors may take in all (views of one
   * storage are each materialized). */
  uint64_t budget;
} cz_unpickle_opts;

cz_err *cz_unpickle(const uint8_t *buf, size_t size, const cz_unpickle_opts *o, cz_pyval **out);
#endif
