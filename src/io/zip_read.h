/* Reading ZIP archives held in memory (PKWARE APPNOTE 6.3: local headers,
 * central directory, ZIP64 records), as torch.save writes them: entries
 * stored (method 0) or deflated (method 8). Every size and offset is checked
 * against the buffer; entries may not overlap each other or the central
 * directory. Errors name the archive (`what`) and the entry. */
#ifndef CZ_IO_ZIP_READ_H
#define CZ_IO_ZIP_READ_H
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum { CZ_ZIP_MAX_ENTRIES = 1 << 20, CZ_ZIP_MAX_NAME = 4096 };

typedef struct {
  char *name;
  int method;         /* 0 stored, 8 deflated */
  uint32_t crc;
  uint64_t csize;     /* bytes in the archive */
  uint64_t usize;     /* bytes once extracted */
  uint64_t data_off;  /* offset of the (compressed) data in the buffer */
  uint64_t header_off; /* offset of its local header */
} cz_zip_entry;

typedef struct {
  const uint8_t *buf; /* not owned */
  size_t size;
  char *what;
  int n;
  cz_zip_entry *e; /* in central directory order */
  int *by_name;    /* entry indices sorted by name (names are unique) */
} cz_zip;

/* True when buf looks like a ZIP archive (starts with a local header or is
 * an empty archive). */
int cz_zip_sniff(const uint8_t *buf, size_t size);
/* Parses the directory; buf must outlive the archive. */
cz_err *cz_zip_open(const uint8_t *buf, size_t size, const char *what, cz_zip **out);
void cz_zip_close(cz_zip *z);
/* Index of the entry with that exact name, or -1 (a binary search). */
int cz_zip_find(const cz_zip *z, const char *name);
/* The entry's bytes, CRC checked: a pointer into the buffer for a stored
 * entry (*owned NULL), else an inflated copy the caller frees (*owned). */
cz_err *cz_zip_read(const cz_zip *z, int i, const uint8_t **data, size_t *size, uint8_t **owned);
#endif
