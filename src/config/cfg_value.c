/* Typed config values: YAML node -> C value with range and choice checks,
 * and back to YAML for printing the resolved config. */
#include "config/cfg_value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg.h"
#include "config/cfg_expr.h"
#include "util/mem.h"
#include "util/strbuf.h"

size_t cz_value_size(const cz_key *k) {
  switch (k->type) {
    case CZ_KT_BOOL: return sizeof(cz_cbool);
    case CZ_KT_INT: return sizeof(cz_cint);
    case CZ_KT_FLOAT: return sizeof(cz_cfloat);
    case CZ_KT_STR: return sizeof(cz_cstr);
    case CZ_KT_ENUM: return sizeof(cz_cenum);
    case CZ_KT_INTS: return sizeof(cz_cints);
    case CZ_KT_FLOATS: return sizeof(cz_cfloats);
    case CZ_KT_STRS: return sizeof(cz_cstrs);
  }
  return 0;
}

char *cz_node_where(const cz_ynode *n) {
  if (n->line > 0) return cz_asprintf("%s:%d:%d: ", n->src, n->line, n->col);
  return cz_asprintf("%s: ", n->src);
}

static void show_into(cz_strbuf *sb, const cz_ynode *n, int depth) {
  if (n->kind == CZ_Y_SCALAR) {
    if (!depth) cz_sb_putc(sb, '\'');
    cz_sb_append_oneline(sb, n->text, 80);
    if (!depth) cz_sb_putc(sb, '\'');
  } else if (n->kind == CZ_Y_SEQ) {
    cz_sb_putc(sb, '[');
    for (size_t i = 0; i < n->n_items && i < 8; i++) {
      if (i) cz_sb_append(sb, ", ");
      show_into(sb, n->items[i], depth + 1);
    }
    if (n->n_items > 8) cz_sb_append(sb, ", ...");
    cz_sb_putc(sb, ']');
  } else {
    cz_sb_append(sb, "{");
    for (size_t i = 0; i < n->n_entries && i < 4; i++) {
      if (i) cz_sb_append(sb, ", ");
      cz_sb_append_oneline(sb, n->entries[i].key, 80);
      cz_sb_append(sb, ": ...");
    }
    if (n->n_entries > 4) cz_sb_append(sb, ", ...");
    cz_sb_append(sb, "}");
  }
}

char *cz_node_show(const cz_ynode *n) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  show_into(&sb, n, 0);
  return sb.data; /* ownership passes to the caller */
}

void cz_format_double(double v, char *buf, size_t size) {
  /* Shortest digits that read back to the same double, printed the way
   * Python's repr does (fixed notation for 1e-4 <= |v| < 1e16). */
  char tmp[40];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) == v) break;
  }
  char *e = strchr(tmp, 'e');
  int exp10 = atoi(e + 1);
  if (v != 0 && (exp10 < -4 || exp10 >= 16)) {
    /* mantissa without trailing zeros, exponent with at least 2 digits */
    *e = '\0';
    char *dot = strchr(tmp, '.');
    if (dot) {
      char *end = tmp + strlen(tmp) - 1;
      while (end > dot && *end == '0') *end-- = '\0';
      if (end == dot) *end = '\0';
    }
    snprintf(buf, size, "%se%c%02d", tmp, exp10 < 0 ? '-' : '+', abs(exp10));
    return;
  }
  int decimals = prec - 1 - exp10;
  if (decimals < 1) decimals = 1;
  snprintf(buf, size, "%.*f", decimals, v);
}

static void append_num(cz_strbuf *sb, double v) {
  char b[40];
  if (v == floor(v) && fabs(v) < 1e15) snprintf(b, sizeof b, "%.0f", v);
  else cz_format_double(v, b, sizeof b);
  cz_sb_append(sb, b);
}

/* "an integer >= 1", "a number > 0 and < 1", "an integer between 13 and 20" */
static char *expectation(const cz_key *k, bool integer) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  cz_sb_append(&sb, integer ? "an integer" : "a number");
  bool lo = isfinite(k->min), hi = isfinite(k->max);
  bool lo_ex = k->flags & CZ_K_MIN_EXCL, hi_ex = k->flags & CZ_K_MAX_EXCL;
  if (lo && hi && !lo_ex && !hi_ex) {
    cz_sb_append(&sb, " between ");
    append_num(&sb, k->min);
    cz_sb_append(&sb, " and ");
    append_num(&sb, k->max);
  } else {
    if (lo) {
      cz_sb_append(&sb, lo_ex ? " > " : " >= ");
      append_num(&sb, k->min);
    }
    if (hi) {
      cz_sb_append(&sb, lo ? " and" : "");
      cz_sb_append(&sb, hi_ex ? " < " : " <= ");
      append_num(&sb, k->max);
    }
  }
  return sb.data;
}

static char *choices_text(const cz_key *k) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  cz_sb_append(&sb, "one of ");
  for (size_t i = 0; k->choices[i]; i++) cz_sb_printf(&sb, "%s%s", i ? ", " : "", k->choices[i]);
  return sb.data;
}

cz_err *cz_value_error(const cz_ynode *n, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  char *where = cz_node_where(n);
  char *shown = cz_node_show(n);
  cz_err *e = cz_err_new(CZ_EXIT_USAGE, "%s%s = %s: %s", where, path, shown, msg);
  free(where);
  free(shown);
  free(msg);
  return e;
}

static cz_err *bad_value(const cz_ynode *n, const char *path, const char *expected) {
  return cz_value_error(n, path, "expected %s", expected);
}

static bool in_range(const cz_key *k, double v) {
  if (k->flags & CZ_K_MIN_EXCL ? !(v > k->min) : !(v >= k->min)) return false;
  if (k->flags & CZ_K_MAX_EXCL ? !(v < k->max) : !(v <= k->max)) return false;
  return true;
}

static cz_err *scalar_number(const cz_key *k, const cz_ynode *n, const char *path,
                             bool integer, double *out) {
  double v;
  bool ok = n->kind == CZ_Y_SCALAR && cz_eval_number(n->text, &v, NULL);
  if (ok && integer) ok = v == floor(v) && fabs(v) <= 9007199254740992.0;
  if (ok) ok = in_range(k, v);
  if (!ok) {
    char *exp = expectation(k, integer);
    cz_err *e = bad_value(n, path, exp);
    free(exp);
    return e;
  }
  *out = v;
  return NULL;
}

static const char *match_choice(const cz_key *k, const char *text) {
  const char *name = text;
  if ((k->flags & CZ_K_LOOKAHEAD) && strncasecmp(name, "lookahead_", 10) == 0) name += 10;
  for (size_t i = 0; k->choices[i]; i++) {
    bool same = k->flags & CZ_K_NOCASE ? strcasecmp(k->choices[i], name) == 0
                                       : strcmp(k->choices[i], name) == 0;
    if (same) return k->choices[i];
  }
  return NULL;
}

static cz_err *scalar_string(const cz_key *k, const cz_ynode *n, const char *path, char **out) {
  if (n->kind != CZ_Y_SCALAR) {
    char *exp = k->choices ? choices_text(k) : cz_xstrdup("a single value");
    cz_err *e = bad_value(n, path, exp);
    free(exp);
    return e;
  }
  if (!k->choices) {
    *out = cz_xstrdup(n->text);
    return NULL;
  }
  const char *c = match_choice(k, n->text);
  if (!c) {
    char *exp = choices_text(k);
    if (k->flags & CZ_K_LOOKAHEAD) {
      char *more = cz_asprintf("%s (optionally prefixed lookahead_)", exp);
      free(exp);
      exp = more;
    }
    cz_err *e = bad_value(n, path, exp);
    free(exp);
    return e;
  }
  bool lookahead = (k->flags & CZ_K_LOOKAHEAD) && strncasecmp(n->text, "lookahead_", 10) == 0;
  *out = lookahead ? cz_asprintf("lookahead_%s", c) : cz_xstrdup(c);
  return NULL;
}

/* The elements of a list value: a YAML sequence, a "(a, b, c)" or "[a, b]"
 * string as Python users write tuples, or one scalar. Returns scalars the
 * caller frees with cz_ynode_free, or NULL with *err set. */
static cz_ynode **list_items(const cz_key *k, const cz_ynode *n, const char *path,
                             size_t *count, cz_err **err) {
  *err = NULL;
  *count = 0;
  cz_ynode **items = NULL;
  if (n->kind == CZ_Y_MAP) {
    *err = bad_value(n, path, "a list");
    return NULL;
  }
  if (n->kind == CZ_Y_SEQ) {
    items = cz_xcalloc(n->n_items, sizeof *items);
    for (size_t i = 0; i < n->n_items; i++) {
      if (n->items[i]->kind != CZ_Y_SCALAR) {
        char *p = cz_asprintf("%s[%zu]", path, i);
        *err = bad_value(n->items[i], p, k->type == CZ_KT_STRS ? "a string" : "a number");
        free(p);
        for (size_t j = 0; j < i; j++) cz_ynode_free(items[j]);
        free(items);
        return NULL;
      }
      items[i] = cz_ynode_clone(n->items[i]);
    }
    *count = n->n_items;
    return items;
  }
  const char *t = n->text;
  size_t len = strlen(t);
  bool tuple = !n->quoted || k->type != CZ_KT_STRS;
  if (tuple && len >= 2 && ((t[0] == '(' && t[len - 1] == ')') || (t[0] == '[' && t[len - 1] == ']'))) {
    char *inner = cz_xstrndup(t + 1, len - 2);
    size_t cap = 4;
    items = cz_xmalloc(cap * sizeof *items);
    char *save = NULL;
    for (char *tok = strtok_r(inner, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      while (*tok == ' ') tok++;
      char *end = tok + strlen(tok);
      while (end > tok && end[-1] == ' ') *--end = '\0';
      if (*tok == '\0') continue; /* "(3,)" */
      if (*count == cap) items = cz_xrealloc(items, (cap *= 2) * sizeof *items);
      cz_ynode *s = cz_ynode_clone(n);
      free(s->text);
      s->text = cz_xstrdup(tok);
      items[(*count)++] = s;
    }
    free(inner);
    return items;
  }
  items = cz_xmalloc(sizeof *items);
  items[0] = cz_ynode_clone(n);
  *count = 1;
  return items;
}

static char *list_expectation(const cz_key *k) {
  const char *what = k->type == CZ_KT_INTS ? "integers" : k->type == CZ_KT_FLOATS ? "numbers" : "strings";
  if (k->len_min && k->len_min == k->len_max) return cz_asprintf("a list of %d %s", k->len_min, what);
  if (k->len_min && k->len_max) return cz_asprintf("a list of %d to %d %s", k->len_min, k->len_max, what);
  if (k->len_min) return cz_asprintf("a list of at least %d %s", k->len_min, what);
  return cz_asprintf("a list of %s", what);
}

static cz_err *list_value(const cz_key *k, const cz_ynode *n, const char *path, void *dst) {
  size_t count;
  cz_err *err;
  cz_ynode **items = list_items(k, n, path, &count, &err);
  if (err) return err;
  if ((k->len_min && count < (size_t)k->len_min) || (k->len_max && count > (size_t)k->len_max)) {
    for (size_t i = 0; i < count; i++) cz_ynode_free(items[i]);
    free(items);
    char *exp = list_expectation(k);
    err = bad_value(n, path, exp);
    free(exp);
    return err;
  }
  int64_t *ints = k->type == CZ_KT_INTS ? cz_xcalloc(count, sizeof *ints) : NULL;
  double *flts = k->type == CZ_KT_FLOATS ? cz_xcalloc(count, sizeof *flts) : NULL;
  char **strs = k->type == CZ_KT_STRS ? cz_xcalloc(count, sizeof *strs) : NULL;
  for (size_t i = 0; i < count && !err; i++) {
    char *p = cz_asprintf("%s[%zu]", path, i);
    double v = 0;
    if (ints) {
      err = scalar_number(k, items[i], p, true, &v);
      ints[i] = (int64_t)v;
    } else if (flts) {
      err = scalar_number(k, items[i], p, false, &v);
      flts[i] = v;
    } else if (cz_ynode_is_null(items[i])) {
      err = bad_value(items[i], p, "a string");
    } else {
      strs[i] = cz_xstrdup(items[i]->text);
    }
    free(p);
  }
  for (size_t i = 0; i < count; i++) cz_ynode_free(items[i]);
  free(items);
  if (err) {
    free(ints);
    free(flts);
    if (strs) for (size_t i = 0; i < count; i++) free(strs[i]);
    free(strs);
    return err;
  }
  if (ints) *(cz_cints *)dst = (cz_cints){true, count, ints};
  if (flts) *(cz_cfloats *)dst = (cz_cfloats){true, count, flts};
  if (strs) *(cz_cstrs *)dst = (cz_cstrs){true, count, strs};
  return NULL;
}

cz_err *cz_value_from_node(const cz_key *k, const cz_ynode *n, const char *path, void *dst) {
  cz_err *err = NULL;
  double v;
  char *s;
  switch (k->type) {
    case CZ_KT_BOOL: {
      bool t = n->kind == CZ_Y_SCALAR && strcasecmp(n->text, "true") == 0;
      bool f = n->kind == CZ_Y_SCALAR && strcasecmp(n->text, "false") == 0;
      if (!t && !f) return bad_value(n, path, "true or false");
      *(cz_cbool *)dst = (cz_cbool){true, t};
      return NULL;
    }
    case CZ_KT_INT:
      if ((err = scalar_number(k, n, path, true, &v))) return err;
      *(cz_cint *)dst = (cz_cint){true, (int64_t)v};
      return NULL;
    case CZ_KT_FLOAT:
      if ((err = scalar_number(k, n, path, false, &v))) return err;
      *(cz_cfloat *)dst = (cz_cfloat){true, v};
      return NULL;
    case CZ_KT_STR:
      if ((err = scalar_string(k, n, path, &s))) return err;
      *(cz_cstr *)dst = (cz_cstr){true, s};
      return NULL;
    case CZ_KT_ENUM:
      if ((err = scalar_string(k, n, path, &s))) return err;
      for (int i = 0; k->choices[i]; i++) {
        if (strcmp(k->choices[i], s) == 0) *(cz_cenum *)dst = (cz_cenum){true, i};
      }
      free(s);
      return NULL;
    case CZ_KT_INTS:
    case CZ_KT_FLOATS:
    case CZ_KT_STRS:
      return list_value(k, n, path, dst);
  }
  return NULL;
}

void cz_value_free(const cz_key *k, void *v) {
  switch (k->type) {
    case CZ_KT_STR: {
      cz_cstr *s = v;
      free(s->v);
      *s = (cz_cstr){0};
      break;
    }
    case CZ_KT_INTS: {
      cz_cints *l = v;
      free(l->v);
      *l = (cz_cints){0};
      break;
    }
    case CZ_KT_FLOATS: {
      cz_cfloats *l = v;
      free(l->v);
      *l = (cz_cfloats){0};
      break;
    }
    case CZ_KT_STRS: {
      cz_cstrs *l = v;
      for (size_t i = 0; i < l->n; i++) free(l->v[i]);
      free(l->v);
      *l = (cz_cstrs){0};
      break;
    }
    default:
      memset(v, 0, cz_value_size(k));
  }
}

bool cz_value_equal(const cz_key *k, const void *a, const void *b) {
  switch (k->type) {
    case CZ_KT_BOOL: return ((const cz_cbool *)a)->v == ((const cz_cbool *)b)->v;
    case CZ_KT_INT: return ((const cz_cint *)a)->v == ((const cz_cint *)b)->v;
    case CZ_KT_FLOAT: return ((const cz_cfloat *)a)->v == ((const cz_cfloat *)b)->v;
    case CZ_KT_ENUM: return ((const cz_cenum *)a)->v == ((const cz_cenum *)b)->v;
    case CZ_KT_STR: return strcmp(((const cz_cstr *)a)->v, ((const cz_cstr *)b)->v) == 0;
    case CZ_KT_INTS: {
      const cz_cints *x = a, *y = b;
      return x->n == y->n && (x->n == 0 || memcmp(x->v, y->v, x->n * sizeof *x->v) == 0);
    }
    case CZ_KT_FLOATS: {
      const cz_cfloats *x = a, *y = b;
      if (x->n != y->n) return false;
      for (size_t i = 0; i < x->n; i++)
        if (x->v[i] != y->v[i]) return false;
      return true;
    }
    case CZ_KT_STRS: {
      const cz_cstrs *x = a, *y = b;
      if (x->n != y->n) return false;
      for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->v[i], y->v[i]) != 0) return false;
      return true;
    }
  }
  return false;
}

/* Strings that plain YAML would read as a number, bool or null are printed
 * quoted so that the printed config reads back the same. */
static cz_ynode *str_node(const char *s) {
  double v;
  bool special = cz_ynode_is_null(&(cz_ynode){.kind = CZ_Y_SCALAR, .text = (char *)s}) ||
                 strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0 ||
                 cz_eval_number(s, &v, NULL);
  return cz_ynode_new_scalar(s, special, "");
}

static cz_ynode *num_node(double v, bool integer) {
  char b[48];
  if (integer) snprintf(b, sizeof b, "%.0f", v);
  else cz_format_double(v, b, sizeof b);
  return cz_ynode_new_scalar(b, false, "");
}

static cz_ynode *seq_node(void) {
  cz_ynode *n = cz_ynode_new_map("");
  n->kind = CZ_Y_SEQ;
  return n;
}

static void seq_push(cz_ynode *seq, cz_ynode *item) {
  seq->items = cz_xrealloc(seq->items, (seq->n_items + 1) * sizeof *seq->items);
  seq->items[seq->n_items++] = item;
}

cz_ynode *cz_value_to_node(const cz_key *k, const void *v) {
  if (!*(const bool *)v) /* every value type starts with `set` */
    return cz_ynode_new_scalar("null", false, "");
  switch (k->type) {
    case CZ_KT_BOOL: return cz_ynode_new_scalar(((const cz_cbool *)v)->v ? "true" : "false", false, "");
    case CZ_KT_INT: return num_node((double)((const cz_cint *)v)->v, true);
    case CZ_KT_FLOAT: return num_node(((const cz_cfloat *)v)->v, false);
    case CZ_KT_STR: return str_node(((const cz_cstr *)v)->v);
    case CZ_KT_ENUM: return str_node(k->choices[((const cz_cenum *)v)->v]);
    case CZ_KT_INTS: {
      const cz_cints *l = v;
      cz_ynode *s = seq_node();
      for (size_t i = 0; i < l->n; i++) seq_push(s, num_node((double)l->v[i], true));
      return s;
    }
    case CZ_KT_FLOATS: {
      const cz_cfloats *l = v;
      cz_ynode *s = seq_node();
      for (size_t i = 0; i < l->n; i++) seq_push(s, num_node(l->v[i], false));
      return s;
    }
    case CZ_KT_STRS: {
      const cz_cstrs *l = v;
      cz_ynode *s = seq_node();
      for (size_t i = 0; i < l->n; i++) seq_push(s, str_node(l->v[i]));
      return s;
    }
  }
  return cz_ynode_new_scalar("null", false, "");
}
