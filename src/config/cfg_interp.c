/* Resolves ${...} interpolations in every scalar of the config tree. */
#include "config/cfg_interp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_value.h"
#include "util/mem.h"
#include "util/strbuf.h"

enum { MAX_DEPTH = 16, MAX_TEXT = 65536 }; /* a value referring to others may not grow past this */

typedef struct {
  cz_ynode *root;
  time_t now;
} interp_ctx;

static cz_err *fail(const cz_ynode *n, const char *path, const char *why) {
  return cz_value_error(n, path, "%s", why);
}

static cz_err *resolve_scalar(interp_ctx *c, cz_ynode *n, const char *path, int depth);

/* The value of one ${expr}; *out is owned by the caller. */
static cz_err *resolve_one(interp_ctx *c, cz_ynode *n, const char *path, const char *expr,
                           int depth, char **out) {
  if (strncmp(expr, "now:", 4) == 0) {
    struct tm tm;
    localtime_r(&c->now, &tm);
    char buf[256];
    /* The pattern is the user's, as Hydra's ${now:} passes it to strftime. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t len = strftime(buf, sizeof buf, expr + 4, &tm);
#pragma GCC diagnostic pop
    if (len == 0 && expr[4]) return fail(n, path, "the ${now:...} pattern gives an empty or too long name");
    *out = cz_xstrdup(buf);
    return NULL;
  }
  const char *env = NULL;
  if (strncmp(expr, "oc.env:", 7) == 0) env = expr + 7;
  else if (strncmp(expr, "env:", 4) == 0) env = expr + 4;
  if (env) {
    char *name = cz_xstrdup(env);
    char *comma = strchr(name, ',');
    const char *def = NULL;
    if (comma) {
      *comma = '\0';
      def = comma + 1;
      while (*def == ' ') def++;
    }
    const char *v = getenv(name);
    cz_err *err = NULL;
    if (v) *out = cz_xstrdup(v);
    else if (def) *out = cz_xstrdup(def);
    else {
      char *why = cz_asprintf("environment variable '%s' is not set", name);
      err = fail(n, path, why);
      free(why);
    }
    free(name);
    return err;
  }
  if (strchr(expr, ':')) {
    char *why = cz_asprintf("unknown resolver '%.*s'; expected now:, oc.env: or a key path",
                            (int)strcspn(expr, ":"), expr);
    cz_err *err = fail(n, path, why);
    free(why);
    return err;
  }
  cz_ynode *target = cz_ynode_at(c->root, expr);
  if (target) {
    if (target->kind != CZ_Y_SCALAR) {
      char *why = cz_asprintf("${%s} is a section or list; only a single value can be "
                              "inserted into a string", expr);
      cz_err *err = fail(n, path, why);
      free(why);
      return err;
    }
    cz_err *err = resolve_scalar(c, target, expr, depth + 1);
    if (err) return err;
    *out = cz_xstrdup(target->text);
    return NULL;
  }
  if (!strchr(expr, '.')) {
    const char *v = getenv(expr);
    if (v) {
      *out = cz_xstrdup(v);
      return NULL;
    }
  }
  char *why = strchr(expr, '.')
                  ? cz_asprintf("${%s}: no such key in the config", expr)
                  : cz_asprintf("${%s}: no config key or environment variable named '%s'", expr, expr);
  cz_err *err = fail(n, path, why);
  free(why);
  return err;
}

static cz_err *resolve_scalar(interp_ctx *c, cz_ynode *n, const char *path, int depth) {
  if (!strstr(n->text, "${")) return NULL;
  if (depth > MAX_DEPTH) return fail(n, path, "interpolations refer to each other in a loop");
  cz_strbuf sb;
  cz_sb_init(&sb);
  const char *p = n->text;
  cz_err *err = NULL;
  while (*p && !err) {
    if (p[0] == '\\' && p[1] == '$' && p[2] == '{') {
      cz_sb_append(&sb, "${");
      p += 3;
      continue;
    }
    if (p[0] != '$' || p[1] != '{') {
      cz_sb_putc(&sb, *p++);
      continue;
    }
    const char *close = strchr(p + 2, '}');
    const char *nested = strstr(p + 2, "${");
    if (!close || (nested && nested < close)) {
      err = fail(n, path, close ? "nested ${...} is not supported" : "'${' without a closing '}'");
      break;
    }
    char *expr = cz_xstrndup(p + 2, (size_t)(close - p - 2));
    char *val = NULL;
    err = resolve_one(c, n, path, expr, depth, &val);
    if (!err) cz_sb_append(&sb, val);
    if (!err && sb.len > MAX_TEXT) err = fail(n, path, "interpolations make this value longer than 64 KiB");
    free(val);
    free(expr);
    p = close + 1;
  }
  if (err) {
    cz_sb_free(&sb);
    return err;
  }
  free(n->text);
  n->text = cz_sb_take(&sb);
  cz_sb_free(&sb);
  return NULL;
}

static cz_err *walk(interp_ctx *c, cz_ynode *n, const char *path) {
  switch (n->kind) {
    case CZ_Y_SCALAR:
      return resolve_scalar(c, n, path, 0);
    case CZ_Y_SEQ:
      for (size_t i = 0; i < n->n_items; i++) {
        char *p = cz_asprintf("%s[%zu]", path, i);
        cz_err *err = walk(c, n->items[i], p);
        free(p);
        if (err) return err;
      }
      return NULL;
    case CZ_Y_MAP:
      for (size_t i = 0; i < n->n_entries; i++) {
        char *p = *path ? cz_asprintf("%s.%s", path, n->entries[i].key)
                        : cz_xstrdup(n->entries[i].key);
        cz_err *err = walk(c, n->entries[i].val, p);
        free(p);
        if (err) return err;
      }
      return NULL;
  }
  return NULL;
}

cz_err *cz_interpolate(cz_ynode *root, time_t now) {
  interp_ctx c = {root, now};
  return walk(&c, root, "");
}
