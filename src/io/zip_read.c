/* ZIP archive reader (zip_read.h), following PKWARE's APPNOTE 6.3. */
#include "io/zip_read.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/mem.h"

enum {
  SIG_LOCAL = 0x04034b50,
  SIG_CENTRAL = 0x02014b50,
  SIG_EOCD = 0x06054b50,
  SIG_EOCD64 = 0x06064b50,
  SIG_LOC64 = 0x07064b50,
  EOCD_SIZE = 22,
  LOC64_SIZE = 20,
  EOCD64_SIZE = 56,
  CENTRAL_SIZE = 46,
  LOCAL_SIZE = 30,
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

int cz_zip_sniff(const uint8_t *buf, size_t size) {
  if (size < 4) return 0;
  uint32_t sig = rd32(buf);
  return sig == SIG_LOCAL || sig == SIG_EOCD;
}

void cz_zip_close(cz_zip *z) {
  if (!z) return;
  for (int i = 0; i < z->n; i++) free(z->e[i].name);
  free(z->e);
  free(z->by_name);
  free(z->what);
  free(z);
}

static cz_err *bad(const cz_zip *z, const char *entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cz_err *bad(const cz_zip *z, const char *entry, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  cz_err *e = entry ? cz_err_new(CZ_EXIT_RUNTIME, "%s: zip entry '%s': %s", z->what, entry, msg)
                    : cz_err_new(CZ_EXIT_RUNTIME, "%s: not a valid zip archive: %s", z->what, msg);
  free(msg);
  return e;
}

/* The end of central directory record: the last signature in the final
 * 64 KiB + 22 bytes whose comment length reaches exactly to the end. */
static long find_eocd(const uint8_t *b, size_t n) {
  if (n < EOCD_SIZE) return -1;
  size_t lo = n > 65535 + EOCD_SIZE ? n - 65535 - EOCD_SIZE : 0;
  for (size_t p = n - EOCD_SIZE + 1; p-- > lo;)
    if (rd32(b + p) == SIG_EOCD && p + EOCD_SIZE + rd16(b + p + 20) == n) return (long)p;
  return -1;
}

/* ZIP64 extended information (header id 1) of a central entry: the 64-bit
 * values of the fields whose 32-bit value is all ones, in this order. */
static bool zip64_extra(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                        uint64_t *off, bool need_u, bool need_c, bool need_o) {
  size_t p = 0;
  while (p + 4 <= xlen) {
    uint16_t id = rd16(x + p), len = rd16(x + p + 2);
    if (p + 4 + len > xlen) return false;
    if (id == 1) {
      const uint8_t *f = x + p + 4;
      size_t k = 0;
      if (need_u) { if (k + 8 > len) return false; *usize = rd64(f + k); k += 8; }
      if (need_c) { if (k + 8 > len) return false; *csize = rd64(f + k); k += 8; }
      if (need_o) { if (k + 8 > len) return false; *off = rd64(f + k); k += 8; }
      return true;
    }
    p += 4 + (size_t)len;
  }
  return !need_u && !need_c && !need_o;
}

typedef struct {
  uint64_t start, end;
  int idx;
} span;

static int span_cmp(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* qsort has no context argument; opening archives is not concurrent with
 * itself on one thread, and the pointer is thread-local. */
static _Thread_local const cz_zip *g_sort_zip;
static int name_cmp(const void *a, const void *b) {
  return strcmp(g_sort_zip->e[*(const int *)a].name, g_sort_zip->e[*(const int *)b].name);
}

static cz_err *parse_central(cz_zip *z, uint64_t cd_off, uint64_t cd_size, uint64_t count) {
  const uint8_t *b = z->buf;
  if (count > CZ_ZIP_MAX_ENTRIES) return bad(z, NULL, "more than 1048576 entries");
  if (count > cd_size / CENTRAL_SIZE) return bad(z, NULL, "entry count exceeds the central directory");
  z->e = cz_xcalloc(count ? count : 1, sizeof *z->e);
  uint64_t p = cd_off, end = cd_off + cd_size;
  for (uint64_t i = 0; i < count; i++) {
    if (end - p < CENTRAL_SIZE || rd32(b + p) != SIG_CENTRAL)
      return bad(z, NULL, "central directory entry truncated or missing");
    const uint8_t *c = b + p;
    uint16_t flags = rd16(c + 8), method = rd16(c + 10);
    uint32_t crc = rd32(c + 16);
    uint64_t csize = rd32(c + 20), usize = rd32(c + 24);
    size_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
    uint64_t off = rd32(c + 42);
    if (end - p - CENTRAL_SIZE < (uint64_t)nlen + xlen + clen)
      return bad(z, NULL, "central directory entry runs past the directory");
    const char *name = (const char *)c + CENTRAL_SIZE;
    if (nlen == 0 || memchr(name, 0, nlen)) return bad(z, NULL, "an entry has an empty or invalid name");
    cz_zip_entry *e = &z->e[z->n++];
    e->name = cz_xstrndup(name, nlen);
    if (!zip64_extra(c + CENTRAL_SIZE + nlen, xlen, &usize, &csize, &off, usize == 0xFFFFFFFFu,
                     csize == 0xFFFFFFFFu, off == 0xFFFFFFFFu))
      return bad(z, e->name, "bad ZIP64 extra field");
    if (flags & 1) return bad(z, e->name, "encrypted entries are not supported");
    if (method != 0 && method != 8)
      return bad(z, e->name, "compression method %s is not supported (expected stored or deflate)",
                 method == 12 ? "12 (bzip2)" : method == 14 ? "14 (lzma)" : "other than 0/8");
    if (method == 0 && csize != usize) return bad(z, e->name, "stored entry with different sizes");
    /* Deflate expands at most about 1032:1; beyond that the size is a lie. */
    if (method == 8 && usize / 1032 > csize + 1)
      return bad(z, e->name, "uncompressed size is not plausible for its compressed size");
    if (off > z->size || z->size - off < LOCAL_SIZE || rd32(b + off) != SIG_LOCAL)
      return bad(z, e->name, "local header offset out of range");
    const uint8_t *l = b + off;
    size_t lnlen = rd16(l + 26), lxlen = rd16(l + 28);
    if (z->size - off - LOCAL_SIZE < lnlen + lxlen) return bad(z, e->name, "local header truncated");
    if (lnlen != nlen || memcmp(l + LOCAL_SIZE, name, nlen) != 0)
      return bad(z, e->name, "local header names another entry");
    uint64_t data = off + LOCAL_SIZE + lnlen + lxlen;
    if (data > cd_off || cd_off - data < csize)
      return bad(z, e->name, "data runs past the start of the central directory");
    e->method = method;
    e->crc = crc;
    e->csize = csize;
    e->usize = usize;
    e->data_off = data;
    e->header_off = off;
    p += CENTRAL_SIZE + nlen + xlen + clen;
  }
  /* No two entries (local header through data) may share a byte. */
  span *s = cz_xmalloc((size_t)(z->n ? z->n : 1) * sizeof *s);
  for (int i = 0; i < z->n; i++) s[i] = (span){z->e[i].header_off, z->e[i].data_off + z->e[i].csize, i};
  qsort(s, (size_t)z->n, sizeof *s, span_cmp);
  cz_err *err = NULL;
  for (int i = 1; i < z->n && !err; i++)
    if (s[i].start < s[i - 1].end) err = bad(z, z->e[s[i].idx].name, "overlaps entry '%s'", z->e[s[i - 1].idx].name);
  free(s);
  if (err) return err;
  /* A name index for lookups; a name given twice is ambiguous. */
  z->by_name = cz_xmalloc((size_t)(z->n ? z->n : 1) * sizeof *z->by_name);
  for (int i = 0; i < z->n; i++) z->by_name[i] = i;
  g_sort_zip = z;
  qsort(z->by_name, (size_t)z->n, sizeof *z->by_name, name_cmp);
  g_sort_zip = NULL;
  for (int i = 1; i < z->n; i++)
    if (strcmp(z->e[z->by_name[i]].name, z->e[z->by_name[i - 1]].name) == 0)
      return bad(z, z->e[z->by_name[i]].name, "appears twice in the archive");
  return NULL;
}

cz_err *cz_zip_open(const uint8_t *buf, size_t size, const char *what, cz_zip **out) {
  *out = NULL;
  cz_zip *z = cz_xcalloc(1, sizeof *z);
  z->buf = buf;
  z->size = size;
  z->what = cz_xstrdup(what);
  cz_err *err = NULL;
  long eo = find_eocd(buf, size);
  if (eo < 0) {
    err = bad(z, NULL, "no end of central directory record");
    goto fail;
  }
  const uint8_t *e = buf + eo;
  uint64_t count = rd16(e + 10), cd_size = rd32(e + 12), cd_off = rd32(e + 16);
  if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != count) {
    err = bad(z, NULL, "multi-disk archives are not supported");
    goto fail;
  }
  uint64_t dir_end = (uint64_t)eo; /* the directory must end where its trailer starts */
  bool has_loc = eo >= LOC64_SIZE && rd32(buf + eo - LOC64_SIZE) == SIG_LOC64;
  if (has_loc || count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
    /* ZIP64: a locator right before the record points at the ZIP64 record
     * (PyTorch's writer adds them even to small archives). */
    if (!has_loc) {
      err = bad(z, NULL, "ZIP64 locator missing");
      goto fail;
    }
    uint64_t r = rd64(buf + eo - LOC64_SIZE + 8);
    if (r > (uint64_t)eo - LOC64_SIZE || (uint64_t)eo - LOC64_SIZE - r < EOCD64_SIZE ||
        rd32(buf + r) != SIG_EOCD64) {
      err = bad(z, NULL, "ZIP64 end of central directory record out of range");
      goto fail;
    }
    const uint8_t *e64 = buf + r;
    if (rd32(e64 + 16) != 0 || rd32(e64 + 20) != 0 || rd64(e64 + 24) != rd64(e64 + 32)) {
      err = bad(z, NULL, "multi-disk archives are not supported");
      goto fail;
    }
    count = rd64(e64 + 32);
    cd_size = rd64(e64 + 40);
    cd_off = rd64(e64 + 48);
    dir_end = r;
  }
  if (cd_off > dir_end || dir_end - cd_off != cd_size) {
    err = bad(z, NULL, "central directory offset or size out of range");
    goto fail;
  }
  err = parse_central(z, cd_off, cd_size, count);
  if (err) goto fail;
  *out = z;
  return NULL;
fail:
  cz_zip_close(z);
  return err;
}

int cz_zip_find(const cz_zip *z, const char *name) {
  int lo = 0, hi = z->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, c = strcmp(z->e[z->by_name[mid]].name, name);
    if (c == 0) return z->by_name[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return -1;
}

static uint32_t crc_of(const uint8_t *p, uint64_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n) {
    uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}

static cz_err *inflate_entry(const cz_zip *z, const cz_zip_entry *e, uint8_t *dst) {
  z_stream s;
  memset(&s, 0, sizeof s);
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK) return bad(z, e->name, "zlib init failed");
  const uint8_t *src = z->buf + e->data_off;
  uint64_t in_left = e->csize, out_left = e->usize;
  int rc = Z_OK;
  uint8_t spare;
  while (rc == Z_OK) {
    if (s.avail_in == 0 && in_left) {
      s.next_in = (Bytef *)(uintptr_t)src;
      s.avail_in = in_left > (1u << 30) ? 1u << 30 : (uInt)in_left;
      src += s.avail_in;
      in_left -= s.avail_in;
    }
    if (s.avail_out == 0) {
      if (out_left) {
        s.next_out = dst;
        s.avail_out = out_left > (1u << 30) ? 1u << 30 : (uInt)out_left;
        dst += s.avail_out;
        out_left -= s.avail_out;
      } else {
        /* One byte of room beyond the size: more data is an error. */
        s.next_out = &spare;
        s.avail_out = 1;
      }
    }
    rc = inflate(&s, Z_NO_FLUSH);
    if (s.total_out > e->usize) break;
  }
  bool ok = rc == Z_STREAM_END && s.total_out == e->usize;
  inflateEnd(&s);
  if (!ok) return bad(z, e->name, "deflate data is corrupt or its size does not match");
  return NULL;
}

cz_err *cz_zip_read(const cz_zip *z, int i, const uint8_t **data, size_t *size, uint8_t **owned) {
  const cz_zip_entry *e = &z->e[i];
  *data = NULL;
  *owned = NULL;
  *size = 0;
  if (e->usize > SIZE_MAX - 1) return bad(z, e->name, "too large for memory");
  if (e->method == 0) {
    *data = z->buf + e->data_off;
  } else {
    uint8_t *buf = cz_xmalloc(e->usize ? e->usize : 1);
    cz_err *err = inflate_entry(z, e, buf);
    if (err) {
      free(buf);
      return err;
    }
    *data = *owned = buf;
  }
  if (crc_of(*data, e->usize) != e->crc) {
    free(*owned);
    *owned = NULL;
    *data = NULL;
    return bad(z, e->name, "CRC-32 mismatch (the file is corrupt)");
  }
  *size = (size_t)e->usize;
  return NULL;
}
