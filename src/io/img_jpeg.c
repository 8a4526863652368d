/* JPEG decoding with libjpeg-turbo's libjpeg API (libjpeg.txt): errors come
 * back by longjmp instead of libjpeg's default exit(), and small targets
 * decode at a reduced DCT scale M/8. */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "io/img_priv.h"
#include "util/mem.h"

/* The error manager must come first: libjpeg hands callbacks a
 * j_common_ptr whose err field points to it. */
typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jpeg_err_mgr;

/* Everything the decode touches lives here, not in locals, so that its
 * values are defined after a longjmp back into the decoder. */
typedef struct {
  struct jpeg_decompress_struct cinfo;
  jpeg_err_mgr jerr;
  uint8_t *px;
} jpeg_job;

/* libjpeg's fixed memory cap for one decode (coefficient buffers of
 * progressive files, etc.); beyond it libjpeg fails cleanly. */
static const long kMaxJpegMemory = 1L << 30;

static void on_error(j_common_ptr cinfo) {
  jpeg_err_mgr *e = (jpeg_err_mgr *)cinfo->err;
  e->pub.format_message(cinfo, e->msg);
  longjmp(e->jump, 1);
}

/* Warnings: a file that ends early would decode as gray padding, which
 * would silently train on a broken image, so that one is an error; other
 * corrupt-data warnings (extra bytes before a marker...) are tolerated as
 * PIL tolerates them. Trace messages (level > 0) are dropped. */
static void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error(cinfo);
}

/* Smallest M in 1..8 whose scaled size still covers min_w x min_h. */
static void pick_scale(struct jpeg_decompress_struct *cinfo, int min_w, int min_h) {
  cinfo->scale_denom = 8;
  cinfo->scale_num = 8;
  if (min_w <= 0 && min_h <= 0) return;
  for (unsigned m = 1; m <= 8; m++) {
    cinfo->scale_num = m;
    jpeg_calc_output_dimensions(cinfo);
    if (cinfo->output_width >= (JDIMENSION)min_w && cinfo->output_height >= (JDIMENSION)min_h)
      return;
  }
  cinfo->scale_num = 8;
}

cz_err *cz_img_decode_jpeg(const uint8_t *data, size_t size, const char *name,
                           int want_channels, int min_w, int min_h, cz_image *out) {
  jpeg_job *job = cz_xcalloc(1, sizeof *job);
  struct jpeg_decompress_struct *cinfo = &job->cinfo;
  cinfo->err = jpeg_std_error(&job->jerr.pub);
  job->jerr.pub.error_exit = on_error;
  job->jerr.pub.emit_message = on_message;
  cz_err *err = NULL;
  if (setjmp(job->jerr.jump)) {
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: bad JPEG data: %s", name, job->jerr.msg);
    goto out;
  }
  jpeg_create_decompress(cinfo);
  cinfo->mem->max_memory_to_use = kMaxJpegMemory;
  jpeg_mem_src(cinfo, data, (unsigned long)size);
  jpeg_read_header(cinfo, TRUE);
  if ((err = cz_img_check_dims(name, "JPEG", cinfo->image_width, cinfo->image_height))) goto out;
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    err = cz_err_new(CZ_EXIT_RUNTIME,
                     "%s: JPEG is CMYK (4 channels), expected grayscale or colour "
                     "(YCbCr/RGB); convert it to RGB first",
                     name);
    goto out;
  }
  int gray_src = cinfo->jpeg_color_space == JCS_GRAYSCALE;
  /* Gray from colour goes through RGB and PIL's luma rather than libjpeg's
   * Y channel, so that czoo's gray images equal PIL's convert('L'). */
  int dec_c = want_channels == 1 && gray_src ? 1 : want_channels == 4 ? 4 : 3;
  cinfo->out_color_space = dec_c == 1 ? JCS_GRAYSCALE : dec_c == 4 ? JCS_EXT_RGBA : JCS_RGB;
  pick_scale(cinfo, min_w, min_h);
  jpeg_start_decompress(cinfo);
  if ((int)cinfo->output_components != dec_c) {
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: JPEG decodes to %d channels, expected %d", name,
                     cinfo->output_components, dec_c);
    goto out;
  }
  size_t w = cinfo->output_width, h = cinfo->output_height;
  size_t stride = w * (size_t)dec_c;
  job->px = cz_xmalloc(stride * h);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = job->px + (size_t)cinfo->output_scanline * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  if (want_channels == 1 && dec_c != 1) cz_img_to_gray_inplace(job->px, w * h, dec_c);
  out->w = (int)w;
  out->h = (int)h;
  out->c = want_channels;
  out->px = job->px;
  job->px = NULL;
out:
  jpeg_destroy_decompress(cinfo);
  free(job->px);
  free(job);
  return err;
}
