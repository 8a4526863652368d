/* Growable string buffer. */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void cz_sb_init(cz_strbuf *sb) {
  sb->cap = 32;
  sb->len = 0;
  sb->data = cz_xmalloc(sb->cap);
  sb->data[0] = '\0';
}

void cz_sb_free(cz_strbuf *sb) {
  free(sb->data);
  sb->data = NULL;
  sb->len = sb->cap = 0;
}

void cz_sb_clear(cz_strbuf *sb) {
  sb->len = 0;
  if (sb->data) sb->data[0] = '\0';
}

static void reserve(cz_strbuf *sb, size_t extra) {
  if (sb->data && sb->len + extra + 1 <= sb->cap) return;
  if (!sb->data) {
    sb->cap = 32;
    sb->len = 0;
  }
  while (sb->len + extra + 1 > sb->cap) sb->cap *= 2;
  sb->data = cz_xrealloc(sb->data, sb->cap);
}

void cz_sb_appendn(cz_strbuf *sb, const char *s, size_t n) {
  reserve(sb, n);
  memcpy(sb->data + sb->len, s, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
}

void cz_sb_append(cz_strbuf *sb, const char *s) { cz_sb_appendn(sb, s, strlen(s)); }
void cz_sb_putc(cz_strbuf *sb, char c) { cz_sb_appendn(sb, &c, 1); }

void cz_sb_printf(cz_strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = cz_vasprintf(fmt, ap);
  va_end(ap);
  cz_sb_append(sb, s);
  free(s);
}

char *cz_sb_take(cz_strbuf *sb) {
  char *s = sb->data ? sb->data : cz_xstrdup("");
  sb->data = NULL;
  sb->len = sb->cap = 0;
  return s;
}

void cz_sb_append_oneline(cz_strbuf *sb, const char *text, size_t max) {
  size_t i = 0;
  for (; text[i] && i < max; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') cz_sb_append(sb, "\\n");
    else if (c == '\t') cz_sb_append(sb, "\\t");
    else if (c < 0x20 || c == 0x7f) cz_sb_printf(sb, "\\x%02x", c);
    else cz_sb_putc(sb, (char)c);
  }
  if (text[i]) cz_sb_append(sb, "...");
}
