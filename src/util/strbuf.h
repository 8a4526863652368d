/* A growable, always NUL-terminated string. */
#ifndef CZ_UTIL_STRBUF_H
#define CZ_UTIL_STRBUF_H

#include <stddef.h>

typedef struct {
  char *data; /* owned; "" until something is appended */
  size_t len;
  size_t cap;
} cz_strbuf;

void cz_sb_init(cz_strbuf *sb);
void cz_sb_free(cz_strbuf *sb);
void cz_sb_clear(cz_strbuf *sb);
void cz_sb_putc(cz_strbuf *sb, char c);
void cz_sb_append(cz_strbuf *sb, const char *s);
void cz_sb_appendn(cz_strbuf *sb, const char *s, size_t n);
void cz_sb_printf(cz_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends text for a one-line message: control characters escaped (\n),
 * and cut with "..." after max bytes. */
void cz_sb_append_oneline(cz_strbuf *sb, const char *text, size_t max);
/* Hands the buffer to the caller (who frees it); sb is left empty, holding
 * nothing, and may be appended to again or freed. */
char *cz_sb_take(cz_strbuf *sb);

#endif
