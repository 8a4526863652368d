/* Image decoding front: picks the decoder by the file's magic bytes (PNG
 * signature, JPEG SOI marker), reads files, and holds the shared checks. */
#include "io/img.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/img_priv.h"
#include "util/mem.h"

static const uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
static const uint8_t kJpegMagic[3] = {0xFF, 0xD8, 0xFF};

cz_err *cz_img_check_dims(const char *name, const char *format, uint64_t w, uint64_t h) {
  if (w == 0 || h == 0)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: %s image is %llux%llu pixels, expected at least 1x1",
                      name, format, (unsigned long long)w, (unsigned long long)h);
  if (w > CZ_IMG_MAX_SIDE || h > CZ_IMG_MAX_SIDE || w * h > CZ_IMG_MAX_PIXELS)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "%s: %s image is %llux%llu pixels, expected at most %d per side and "
                      "%d Mpixel in all",
                      name, format, (unsigned long long)w, (unsigned long long)h,
                      CZ_IMG_MAX_SIDE, CZ_IMG_MAX_PIXELS / (1024 * 1024));
  return NULL;
}

void cz_img_to_gray_inplace(uint8_t *px, size_t n, int src_c) {
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = px + i * (size_t)src_c;
    px[i] = cz_img_luma(p[0], p[1], p[2]);
  }
}

cz_err *cz_image_decode(const void *data, size_t size, const char *name, int want_channels,
                        int min_w, int min_h, cz_image *out) {
  memset(out, 0, sizeof *out);
  if (!name) name = "<image>";
  if (want_channels != 1 && want_channels != 3 && want_channels != 4)
    return cz_err_new(CZ_EXIT_USAGE, "%s: want_channels is %d, expected 1, 3 or 4", name,
                      want_channels);
  if (min_w < 0 || min_h < 0)
    return cz_err_new(CZ_EXIT_USAGE, "%s: minimum size is %dx%d, expected sizes >= 0", name,
                      min_w, min_h);
  if (size == 0)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: file is empty (0 bytes), expected a PNG or JPEG image",
                      name);
  const uint8_t *b = data;
  if (size >= sizeof kPngMagic && memcmp(b, kPngMagic, sizeof kPngMagic) == 0)
    return cz_img_decode_png(b, size, name, want_channels, out);
  if (size >= sizeof kJpegMagic && memcmp(b, kJpegMagic, sizeof kJpegMagic) == 0)
    return cz_img_decode_jpeg(b, size, name, want_channels, min_w, min_h, out);
  /* The first bytes tell the user what the file really is (text, zip...). */
  char shown[3 * 8 + 1] = "";
  size_t n = size < 8 ? size : 8, len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(shown + len, sizeof shown - len, i ? " %02x" : "%02x", b[i]);
  return cz_err_new(CZ_EXIT_RUNTIME,
                    "%s: not a PNG or JPEG image (%zu bytes starting %s), expected a PNG "
                    "signature or a JPEG SOI marker",
                    name, size, shown);
}

cz_err *cz_image_load(const char *path, int want_channels, int min_w, int min_h, cz_image *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot open image: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot read image: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  uint8_t *buf = cz_xmalloc(size ? size : 1);
  size_t got = fread(buf, 1, size, f);
  int read_err = ferror(f);
  fclose(f);
  if (read_err || got != size) {
    free(buf);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot read image: read %zu of %zu bytes", path, got,
                      size);
  }
  cz_err *err = cz_image_decode(buf, size, path, want_channels, min_w, min_h, out);
  free(buf);
  return err;
}

void cz_image_free(cz_image *img) {
  if (!img) return;
  free(img->px);
  memset(img, 0, sizeof *img);
}
