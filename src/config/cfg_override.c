/* Applies one Hydra override (hydra.cc "Override grammar", the subset a
 * single config uses) to the composed YAML tree. */
#include "config/cfg_override.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/strbuf.h"

/* Config keys are at most a few sections deep; the bounds keep a hostile
 * command line from building huge trees. */
enum { MAX_KEY_LEN = 256, MAX_KEY_PARTS = 16 };

static bool valid_key(const char *key) {
  if (!*key || *key == '.' || strlen(key) > MAX_KEY_LEN) return false;
  int parts = 1;
  for (const char *p = key; *p; p++) parts += *p == '.';
  if (parts > MAX_KEY_PARTS) return false;
  for (const char *p = key; *p; p++) {
    if (*p == '.' && (p[1] == '.' || p[1] == '\0')) return false;
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') return false;
  }
  return true;
}

/* Values from the command line have no line and column. */
static void clear_position(cz_ynode *n) {
  n->line = n->col = 0;
  for (size_t i = 0; i < n->n_items; i++) clear_position(n->items[i]);
  for (size_t i = 0; i < n->n_entries; i++) {
    n->entries[i].line = n->entries[i].col = 0;
    clear_position(n->entries[i].val);
  }
}

cz_err *cz_override_apply(cz_ynode *root, const char *override) {
  cz_strbuf sb;
  cz_sb_init(&sb);
  cz_sb_append(&sb, "command line '");
  cz_sb_append_oneline(&sb, override, 120);
  cz_sb_putc(&sb, '\'');
  char *src = cz_sb_take(&sb);
  const char *s = override;
  enum { SET, ADD, FORCE, REMOVE } op = SET;
  if (strncmp(s, "++", 2) == 0) { op = FORCE; s += 2; }
  else if (*s == '+') { op = ADD; s++; }
  else if (*s == '~') { op = REMOVE; s++; }
  const char *eq = strchr(s, '=');
  cz_err *err = NULL;
  char *key = eq ? cz_xstrndup(s, (size_t)(eq - s)) : cz_xstrdup(s);
  if ((!eq && op != REMOVE) || !valid_key(key)) {
    err = cz_err_new(CZ_EXIT_USAGE, "%s: expected key=value, +key=value, ++key=value or ~key "
                     "(key as section.name)", src);
    goto done;
  }
  cz_ynode *map;
  const char *leaf = strrchr(key, '.');
  if (op == REMOVE) {
    char *parent = leaf ? cz_xstrndup(key, (size_t)(leaf - key)) : NULL;
    map = parent ? cz_ynode_at(root, parent) : root;
    free(parent);
    leaf = leaf ? leaf + 1 : key;
  } else if (!(map = cz_ymap_make_path(root, key, src, &leaf))) {
    err = cz_err_new(CZ_EXIT_USAGE, "%s: a part of %s is a value, not a section; cannot set %s",
                     src, key, key);
    goto done;
  }
  cz_yentry *existing = cz_ymap_find(map, leaf);
  if (op == REMOVE) {
    if (!existing) {
      err = cz_err_new(CZ_EXIT_USAGE, "%s: cannot remove %s: it is not in the config", src, key);
    } else {
      cz_ymap_remove(map, leaf);
    }
    goto done;
  }
  if (op == ADD && existing) {
    err = cz_err_new(CZ_EXIT_USAGE, "%s: %s is already in the config; use %s=... to change it",
                     src, key, key);
    goto done;
  }
  cz_ynode *val;
  const char *text = eq + 1;
  if ((err = cz_yaml_load_string(text, strlen(text), src, false, &val))) goto done;
  clear_position(val);
  cz_ymap_set(map, leaf, val);
done:
  free(key);
  free(src);
  return err;
}
