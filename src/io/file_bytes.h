/* Reading a whole file into memory (weights files are parsed in place). */
#ifndef CZ_IO_FILE_BYTES_H
#define CZ_IO_FILE_BYTES_H
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* *buf (malloc'd, one extra NUL byte) holds the *size bytes of path. */
cz_err *cz_read_file_bytes(const char *path, uint8_t **buf, size_t *size);
#endif
