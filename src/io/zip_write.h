/* Writing ZIP archives the way PyTorch's serializer does: every entry
 * stored (uncompressed) with its data aligned to 64 bytes (padding in the
 * local header's extra field), then the central directory; ZIP64 records
 * when an offset or size does not fit 32 bits (PKWARE APPNOTE 6.3). */
#ifndef CZ_IO_ZIP_WRITE_H
#define CZ_IO_ZIP_WRITE_H
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

typedef struct cz_zipw cz_zipw;

/* Writes to f (not owned) from its current position, taken as offset 0. */
cz_zipw *cz_zipw_new(FILE *f, const char *what);
cz_err *cz_zipw_add(cz_zipw *w, const char *name, const void *data, size_t size);
/* Writes the central directory; always frees w. */
cz_err *cz_zipw_finish(cz_zipw *w);
/* Frees w without finishing (after an error). */
void cz_zipw_free(cz_zipw *w);
#endif
