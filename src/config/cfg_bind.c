/* Schema-driven binding of the YAML tree into cz_config. */
#include "config/cfg_bind.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_schema.h"
#include "config/cfg_value.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strbuf.h"

static void *slot(cz_config *cfg, const cz_key *k) { return (char *)cfg + k->off; }

static cz_err *apply_defaults(cz_config *cfg) {
  for (size_t i = 0; i < cz_n_keys; i++) {
    const cz_key *k = &cz_keys[i];
    if (!k->def) continue;
    cz_ynode *n;
    cz_err *err = cz_yaml_load_string(k->def, strlen(k->def), "built-in default", false, &n);
    if (!err) err = cz_value_from_node(k, n, k->path, slot(cfg, k));
    cz_ynode_free(n);
    if (err) return cz_err_prefix(err, "internal error in the default of %s", k->path);
  }
  return NULL;
}

/* ---- suggestions ---- */

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 99;
  size_t prev[65], cur[65];
  for (size_t j = 0; j <= lb; j++) prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
      size_t best = prev[j - 1] + cost;
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      cur[j] = best;
    }
    memcpy(prev, cur, (lb + 1) * sizeof *prev);
  }
  return prev[lb];
}

/* Calls fn for each distinct child name of section (NULL = top level). */
static void for_children(const char *section, void (*fn)(const char *name, size_t len, void *ctx),
                         void *ctx) {
  size_t sl = section ? strlen(section) : 0;
  const char *seen[256];
  size_t nseen = 0;
  for (size_t i = 0; i < cz_n_keys; i++) {
    const char *paths[2] = {cz_keys[i].path, cz_keys[i].alias};
    for (int a = 0; a < 2; a++) {
      const char *p = paths[a];
      if (!p) continue;
      if (section && (strncmp(p, section, sl) != 0 || p[sl] != '.')) continue;
      const char *name = section ? p + sl + 1 : p;
      size_t len = strcspn(name, ".");
      bool dup = false;
      for (size_t s = 0; s < nseen && !dup; s++)
        dup = strncmp(seen[s], name, len) == 0 && strcspn(seen[s], ".") == len;
      if (dup || nseen == 256) continue;
      seen[nseen++] = name;
      fn(name, len, ctx);
    }
  }
}

typedef struct {
  const char *target;
  char best[96];
  size_t best_d;
} suggest_ctx;

static void consider(const char *name, size_t len, void *vctx) {
  suggest_ctx *c = vctx;
  char buf[96];
  if (len >= sizeof buf) return;
  memcpy(buf, name, len);
  buf[len] = '\0';
  size_t d = edit_distance(c->target, buf);
  if (d < c->best_d) {
    c->best_d = d;
    memcpy(c->best, buf, len + 1);
  }
}

const char *cz_schema_suggest(const char *section, const char *name) {
  static _Thread_local suggest_ctx c;
  c.target = name;
  c.best[0] = '\0';
  c.best_d = 99;
  for_children(section, consider, &c);
  size_t limit = strlen(name) / 3;
  if (limit < 2) limit = 2;
  return c.best_d <= limit ? c.best : NULL;
}

static void list_child(const char *name, size_t len, void *vctx) {
  cz_strbuf *sb = vctx;
  cz_sb_printf(sb, "%s%.*s", sb->len ? ", " : "", (int)len, name);
}

/* A key of the same name elsewhere, e.g. 'momentum' -> training.optimizer. */
static const char *home_of(const char *name) {
  for (size_t i = 0; i < cz_n_keys; i++) {
    const char *dot = strrchr(cz_keys[i].path, '.');
    if (dot && strcmp(dot + 1, name) == 0) return cz_keys[i].path;
  }
  return NULL;
}

static cz_err *unknown_key(const cz_yentry *e, const char *section, const char *path) {
  cz_ynode where_node = *e->val; /* its src: the file, or the override that added it */
  where_node.line = e->line;
  where_node.col = e->col;
  char *where = cz_node_where(&where_node);
  const char *s = cz_schema_suggest(section, e->key);
  const char *home = s ? NULL : home_of(e->key);
  cz_err *err;
  if (s) {
    err = cz_err_new(CZ_EXIT_USAGE, "%s%s: unknown key; did you mean '%s'?", where, path, s);
  } else if (home) {
    err = cz_err_new(CZ_EXIT_USAGE, "%s%s: unknown key here; '%s' belongs at %s", where, path,
                     e->key, home);
  } else {
    cz_strbuf known;
    cz_sb_init(&known);
    for_children(section, list_child, &known);
    err = cz_err_new(CZ_EXIT_USAGE, "%s%s: unknown key; known keys %s%s%s: %s", where, path,
                     section ? "in '" : "at the top level", section ? section : "",
                     section ? "'" : "", known.data);
    cz_sb_free(&known);
  }
  free(where);
  return err;
}

/* ---- binding ---- */

typedef struct {
  cz_config *cfg;
  const cz_ynode **given;  /* per key: the node that set it (to catch two spellings) */
  const char **given_as;   /* per key: the path spelling used */
} bind_ctx;

static bool is_default_value(const cz_key *k, const void *v) {
  if (!k->def) return !*(const bool *)v;
  cz_value_scratch scratch = {0};
  cz_ynode *n;
  bool same = false;
  if (!cz_yaml_load_string(k->def, strlen(k->def), "", false, &n)) {
    if (!cz_value_from_node(k, n, k->path, &scratch)) {
      same = cz_value_equal(k, &scratch, v);
      cz_value_free(k, &scratch);
    }
    cz_ynode_free(n);
  }
  return same;
}

static cz_err *bind_leaf(bind_ctx *b, const cz_key *k, const cz_ynode *val, const char *path) {
  size_t idx = (size_t)(k - cz_keys);
  if (cz_ynode_is_null(val)) return NULL; /* no value: the default stands */
  if (b->given[idx]) {
    /* Both spellings (e.g. hflip and horizontal_flip): fine when they agree. */
    cz_value_scratch scratch = {0};
    cz_err *err = cz_value_from_node(k, val, path, &scratch);
    if (err) return err;
    bool same = cz_value_equal(k, &scratch, slot(b->cfg, k));
    cz_value_free(k, &scratch);
    if (same) return NULL;
    char *first = cz_node_show(b->given[idx]);
    err = cz_value_error(val, path, "conflicts with %s = %s (line %d); both spell the same "
                         "setting, expected one value", b->given_as[idx], first,
                         b->given[idx]->line);
    free(first);
    return err;
  }
  cz_value_scratch scratch = {0};
  cz_err *err = cz_value_from_node(k, val, path, &scratch);
  if (err) return err;
  cz_value_free(k, slot(b->cfg, k));
  memcpy(slot(b->cfg, k), &scratch, cz_value_size(k));
  b->given[idx] = val;
  b->given_as[idx] = strcmp(k->path, path) == 0 ? k->path : k->alias;
  if ((k->flags & CZ_K_NO_EFFECT) && !is_default_value(k, slot(b->cfg, k)))
    cz_warn("%s is accepted but has no effect: %s", path, k->note);
  return NULL;
}

static cz_err *bind_map(bind_ctx *b, const cz_ynode *map, const char *section) {
  for (size_t i = 0; i < map->n_entries; i++) {
    const cz_yentry *e = &map->entries[i];
    char *path = section ? cz_asprintf("%s.%s", section, e->key) : cz_xstrdup(e->key);
    cz_err *err = NULL;
    const cz_key *k = cz_schema_find(path, NULL);
    if (k) {
      err = bind_leaf(b, k, e->val, path);
    } else if (cz_schema_is_section(path)) {
      if (e->val->kind == CZ_Y_MAP) {
        err = bind_map(b, e->val, path);
      } else if (!cz_ynode_is_null(e->val)) {
        err = cz_value_error(e->val, path, "expected a section (indented keys below '%s:')",
                             e->key);
      }
    } else {
      err = unknown_key(e, section, path);
    }
    free(path);
    if (err) return err;
  }
  return NULL;
}

cz_err *cz_config_bind(const cz_ynode *root, cz_config *cfg) {
  cz_err *err = apply_defaults(cfg);
  if (err) return err;
  bind_ctx b = {cfg, cz_xcalloc(cz_n_keys, sizeof *b.given),
                cz_xcalloc(cz_n_keys, sizeof *b.given_as)};
  err = bind_map(&b, root, NULL);
  free(b.given);
  free(b.given_as);
  return err;
}

void cz_config_free(cz_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cz_n_keys; i++) cz_value_free(&cz_keys[i], slot(cfg, &cz_keys[i]));
}
