/* safetensors writer (safetensors.h): the header JSON is written directly
 * (names escaped per RFC 8259), padded with spaces so that the data starts
 * at a multiple of 8 bytes, as the reference implementation pads it. */
#include <stdio.h>
#include <stdlib.h>

#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/strbuf.h"

static void json_str(cz_strbuf *sb, const char *s) {
  cz_sb_putc(sb, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      cz_sb_putc(sb, '\\');
      cz_sb_putc(sb, (char)*p);
    } else if (*p < 0x20) {
      cz_sb_printf(sb, "\\u%04x", *p);
    } else {
      cz_sb_putc(sb, (char)*p);
    }
  }
  cz_sb_putc(sb, '"');
}

static const char *type_name(cz_dtype t) {
  switch (t) {
    case CZ_F32: return "F32";
    case CZ_I64: return "I64";
    case CZ_I32: return "I32";
    case CZ_I8: return "I8";
    default: return "U8";
  }
}

cz_err *cz_safetensors_write(const char *path, const cz_tensor_dict *d) {
  cz_strbuf h;
  cz_sb_init(&h);
  cz_sb_append(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
  unsigned long long off = 0;
  for (int i = 0; i < d->n; i++) {
    const cz_named_tensor *t = &d->t[i];
    unsigned long long bytes = (unsigned long long)cz_shape_numel(&t->shape) * cz_dtype_size(t->dtype);
    cz_sb_putc(&h, ',');
    json_str(&h, t->name);
    cz_sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", type_name(t->dtype));
    for (int k = 0; k < t->shape.rank; k++) cz_sb_printf(&h, "%s%lld", k ? "," : "", (long long)t->shape.d[k]);
    cz_sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", off, off + bytes);
    off += bytes;
  }
  cz_sb_putc(&h, '}');
  while ((8 + h.len) % 8) cz_sb_putc(&h, ' ');
  cz_afile *f = NULL;
  cz_err *e = cz_afile_open(path, &f);
  if (!e) {
    FILE *s = cz_afile_stream(f);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((unsigned long long)h.len >> (8 * i));
    int ok = fwrite(len, 1, 8, s) == 8 && fwrite(h.data, 1, h.len, s) == h.len;
    for (int i = 0; i < d->n && ok; i++) {
      const cz_named_tensor *t = &d->t[i];
      size_t bytes = (size_t)cz_shape_numel(&t->shape) * cz_dtype_size(t->dtype);
      ok = fwrite(t->data, 1, bytes, s) == bytes;
    }
    if (!ok) {
      cz_afile_abort(f);
      e = cz_err_new(CZ_EXIT_RUNTIME, "%s: write failed", path);
    } else {
      e = cz_afile_commit(f);
    }
  }
  cz_sb_free(&h);
  return e;
}
