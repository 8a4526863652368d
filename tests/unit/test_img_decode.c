/* Image decoding against PIL: PNG of every colour type and depth and JPEG
 * (baseline, 4:4:4, gray, progressive, reduced scale) decode to PIL's pixels;
 * every bad input gives its one-line error and leaks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/img.h"

static const char *dir(void) {
  const char *d = getenv("CZOO_IMG_DIR");
  if (!d) fail_msg("CZOO_IMG_DIR is not set (the oracle.gen_images fixture sets it)");
  return d;
}

static char *path_of(const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir(), name);
  return buf;
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return b;
}

/* Every line of cases.txt: decode, then compare with PIL's pixels. All
 * tolerances are 0 today: PIL and czoo run the same libjpeg-turbo with
 * the same settings, and the conversions use PIL's formulas. */
static void test_matches_pil(void **state) {
  (void)state;
  size_t size;
  uint8_t *text = read_all(path_of("cases.txt"), &size);
  text[size] = 0;
  int n_cases = 0;
  char *save = NULL;
  for (char *line = strtok_r((char *)text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char file[256], raw[256];
    int mw, mh, ch, w, h, tol;
    assert_int_equal(sscanf(line, "%255s %d %d %d %d %d %d %255s", file, &mw, &mh, &ch, &w, &h,
                            &tol, raw), 8);
    cz_image img;
    char img_path[4096];
    snprintf(img_path, sizeof img_path, "%s", path_of(file));
    cz_err *err = cz_image_load(img_path, ch, mw, mh, &img);
    if (err) fail_msg("%s: %s", line, cz_err_msg(err));
    if (img.w != w || img.h != h || img.c != ch)
      fail_msg("%s: got %dx%dx%d", line, img.w, img.h, img.c);
    size_t n;
    uint8_t *want = read_all(path_of(raw), &n);
    assert_int_equal(n, (size_t)w * h * ch);
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
      int d = abs((int)img.px[i] - (int)want[i]);
      if (d > worst) worst = d;
    }
    if (worst > tol) fail_msg("%s: differs from PIL by up to %d levels", line, worst);
    free(want);
    cz_image_free(&img);
    n_cases++;
  }
  free(text);
  assert_true(n_cases >= 40);
}

/* Output sizes of the reduced decode: smallest M/8 still covering the
 * minimum, rounded up as libjpeg rounds (ceil(side * M / 8)). */
static void test_reduced_sizes(void **state) {
  (void)state;
  static const struct { int mw, mh, w, h; } cases[] = {
      {0, 0, 64, 48},   {1, 1, 8, 6},     {9, 0, 16, 12}, {0, 7, 16, 12},
      {33, 1, 40, 30},  {40, 30, 40, 30}, {41, 1, 48, 36}, {64, 48, 64, 48},
      {65, 1, 64, 48}, /* larger than the image: full size, never upscaled */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cz_image img;
    cz_err *err = cz_image_load(path_of("rgb420.jpg"), 3, cases[i].mw, cases[i].mh, &img);
    if (err) fail_msg("%s", cz_err_msg(err));
    if (img.w != cases[i].w || img.h != cases[i].h)
      fail_msg("min %dx%d: got %dx%d, expected %dx%d", cases[i].mw, cases[i].mh, img.w, img.h,
               cases[i].w, cases[i].h);
    cz_image_free(&img);
  }
  /* PNG has no reduced decode: the minimum is ignored. */
  cz_image img;
  assert_null(cz_image_load(path_of("rgb8.png"), 3, 4, 4, &img));
  assert_int_equal(img.w, 37);
  cz_image_free(&img);
}

static void expect_error(const void *data, size_t size, const char *name, int ch,
                         const char *msg) {
  cz_image img = {1, 1, 1, (uint8_t *)&img};
  cz_err *err = cz_image_decode(data, size, name, ch, 0, 0, &img);
  if (!err) fail_msg("%s: decoded, expected error %s", name, msg);
  if (strcmp(cz_err_msg(err), msg) != 0)
    fail_msg("%s:\n got      %s\n expected %s", name, cz_err_msg(err), msg);
  assert_null(img.px);
  assert_int_equal(img.w, 0);
  cz_err_free(err);
}

static uint32_t crc32_png(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void test_bad_input(void **state) {
  (void)state;
  cz_image img;
  cz_err *err = cz_image_load("/nonexistent/x.png", 3, 0, 0, &img);
  assert_string_equal(cz_err_msg(err), "/nonexistent/x.png: cannot open image: No such file or directory");
  cz_err_free(err);
  err = cz_image_load(dir(), 3, 0, 0, &img);
  char want[4200];
  snprintf(want, sizeof want, "%s: cannot read image: not a regular file", dir());
  assert_string_equal(cz_err_msg(err), want);
  cz_err_free(err);

  expect_error("", 0, "empty.png", 3,
               "empty.png: file is empty (0 bytes), expected a PNG or JPEG image");
  expect_error("hello world", 11, "notes.jpg", 3,
               "notes.jpg: not a PNG or JPEG image (11 bytes starting 68 65 6c 6c 6f 20 77 6f), "
               "expected a PNG signature or a JPEG SOI marker");
  expect_error("\xFF\xD8", 2, "soi.jpg", 3,
               "soi.jpg: not a PNG or JPEG image (2 bytes starting ff d8), expected a PNG "
               "signature or a JPEG SOI marker");
  expect_error("\x89PNG\r\n\x1a\n", 8, "sig.png", 3, "sig.png: bad PNG data: end of stream (the file is truncated)");
  expect_error("\xFF\xD8\xFF", 3, "soi3.jpg", 3, "soi3.jpg: bad JPEG data: Premature end of JPEG file");
  expect_error("x", 1, "a.png", 2, "a.png: want_channels is 2, expected 1, 3 or 4");

  size_t n;
  uint8_t *jpg = read_all(path_of("rgb420.jpg"), &n);
  expect_error(jpg, n / 2, "half.jpg", 3, "half.jpg: bad JPEG data: Premature end of JPEG file");
  expect_error(jpg, 200, "head.jpg", 3, "head.jpg: bad JPEG data: Premature end of JPEG file");
  /* SOF0 holds height then width, big-endian, 5 and 7 bytes after FF C0. */
  size_t sof = 0;
  for (size_t i = 2; i + 9 < n; i++)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) { sof = i; break; }
  assert_true(sof > 0);
  jpg[sof + 5] = 0x4E; jpg[sof + 6] = 0x20; /* 20000 rows */
  expect_error(jpg, n, "huge.jpg", 3,
               "huge.jpg: JPEG image is 64x20000 pixels, expected at most 16384 per side and "
               "256 Mpixel in all");
  jpg[sof + 5] = 0; jpg[sof + 6] = 0;
  expect_error(jpg, n, "zero.jpg", 3, "zero.jpg: bad JPEG data: Empty JPEG image (DNL not supported)");
  free(jpg);

  uint8_t *cmyk = read_all(path_of("cmyk.jpg"), &n);
  expect_error(cmyk, n, "cmyk.jpg", 3,
               "cmyk.jpg: JPEG is CMYK (4 channels), expected grayscale or colour (YCbCr/RGB); "
               "convert it to RGB first");
  free(cmyk);

  uint8_t *png = read_all(path_of("rgb8.png"), &n);
  expect_error(png, n - 20, "cut.png", 3, "cut.png: bad PNG data: end of stream (the file is truncated)");
  expect_error(png, 40, "head.png", 3, "head.png: bad PNG data: end of stream (the file is truncated)");
  /* IHDR: width at byte 16, height at 20, CRC over bytes 12..28. */
  put_be32(png + 16, 20000);
  put_be32(png + 29, crc32_png(png + 12, 17));
  expect_error(png, n, "wide.png", 3, "wide.png: PNG image is 20000x23 pixels, expected at most 16384 per side and "
               "256 Mpixel in all");
  put_be32(png + 16, 16384);
  put_be32(png + 20, 16384);
  put_be32(png + 29, crc32_png(png + 12, 17));
  expect_error(png, n, "big.png", 3, "big.png: bad PNG data: IDAT stream too short");
  put_be32(png + 16, 37);
  put_be32(png + 20, 23);
  png[40] ^= 0x55; /* inside IDAT: its CRC no longer matches */
  expect_error(png, n, "crc.png", 3, "crc.png: bad PNG data: invalid chunk checksum");
  free(png);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_pil),
      cmocka_unit_test(test_reduced_sizes),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
