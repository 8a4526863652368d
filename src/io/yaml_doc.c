/* YAML reading into cz_ynode trees with libyaml's event parser, and
 * writing them back with libyaml's emitter. Anchors/aliases are expanded
 * into copies. Follows YAML 1.2 (yaml.org/spec/1.2.2) as libyaml reads it. */
#include "io/yaml_doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util/mem.h"
#include "util/strbuf.h"

/* Bounds on what one config may expand to: aliases copy their anchor's
 * subtree, so nested aliases ("billion laughs") could otherwise make a
 * small file explode in memory. */
enum { MAX_DEPTH = 64, MAX_ANCHORS = 4096, MAX_NODES = 200000 };

bool cz_utf8_valid(const char *text, size_t len, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t need;
    unsigned min;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xE0) == 0xC0) { need = 1; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { need = 2; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { need = 3; min = 0x10000; c &= 0x07; }
    else goto bad;
    for (size_t k = 1; k <= need; k++) {
      if (i + k >= len || (s[i + k] & 0xC0) != 0x80) goto bad;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) goto bad;
    i += need + 1;
  }
  return true;
bad:
  if (bad_offset) *bad_offset = i;
  return false;
}

/* ---- nodes ---- */

static cz_ynode *node_new(cz_ykind kind, const char *src, int line, int col) {
  cz_ynode *n = cz_xcalloc(1, sizeof *n);
  n->kind = kind;
  n->src = cz_xstrdup(src);
  n->line = line;
  n->col = col;
  return n;
}

cz_ynode *cz_ynode_new_scalar(const char *text, bool quoted, const char *src) {
  cz_ynode *n = node_new(CZ_Y_SCALAR, src, 0, 0);
  n->text = cz_xstrdup(text);
  n->quoted = quoted;
  return n;
}

cz_ynode *cz_ynode_new_map(const char *src) { return node_new(CZ_Y_MAP, src, 0, 0); }

void cz_ynode_free(cz_ynode *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n_items; i++) cz_ynode_free(n->items[i]);
  for (size_t i = 0; i < n->n_entries; i++) {
    free(n->entries[i].key);
    cz_ynode_free(n->entries[i].val);
  }
  free(n->items);
  free(n->entries);
  free(n->text);
  free(n->tag);
  free(n->src);
  free(n);
}

cz_ynode *cz_ynode_clone(const cz_ynode *n) {
  cz_ynode *c = node_new(n->kind, n->src, n->line, n->col);
  c->tag = n->tag ? cz_xstrdup(n->tag) : NULL;
  c->text = n->text ? cz_xstrdup(n->text) : NULL;
  c->quoted = n->quoted;
  if (n->n_items) {
    c->items = cz_xmalloc(n->n_items * sizeof *c->items);
    for (size_t i = 0; i < n->n_items; i++) c->items[i] = cz_ynode_clone(n->items[i]);
    c->n_items = n->n_items;
  }
  if (n->n_entries) {
    c->entries = cz_xmalloc(n->n_entries * sizeof *c->entries);
    for (size_t i = 0; i < n->n_entries; i++) {
      c->entries[i] = n->entries[i];
      c->entries[i].key = cz_xstrdup(n->entries[i].key);
      c->entries[i].val = cz_ynode_clone(n->entries[i].val);
    }
    c->n_entries = n->n_entries;
  }
  return c;
}

bool cz_ynode_is_null(const cz_ynode *n) {
  if (!n) return true;
  if (n->kind != CZ_Y_SCALAR) return false;
  if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:null") == 0) return true;
  if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:str") == 0) return false;
  if (n->text[0] == '\0') return true;
  if (n->quoted) return false;
  static const char *const nulls[] = {"~", "null", "Null", "NULL", "None"};
  for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
    if (strcmp(n->text, nulls[i]) == 0) return true;
  return false;
}

cz_yentry *cz_ymap_find(const cz_ynode *map, const char *key) {
  if (!map || map->kind != CZ_Y_MAP) return NULL;
  for (size_t i = 0; i < map->n_entries; i++)
    if (strcmp(map->entries[i].key, key) == 0) return &map->entries[i];
  return NULL;
}

void cz_ymap_set(cz_ynode *map, const char *key, cz_ynode *val) {
  cz_yentry *e = cz_ymap_find(map, key);
  if (e) {
    cz_ynode_free(e->val);
    e->val = val;
    return;
  }
  map->entries = cz_xrealloc(map->entries, (map->n_entries + 1) * sizeof *map->entries);
  e = &map->entries[map->n_entries++];
  e->key = cz_xstrdup(key);
  e->val = val;
  e->line = val->line;
  e->col = val->col;
}

bool cz_ymap_remove(cz_ynode *map, const char *key) {
  cz_yentry *e = cz_ymap_find(map, key);
  if (!e) return false;
  size_t i = (size_t)(e - map->entries);
  free(e->key);
  cz_ynode_free(e->val);
  memmove(&map->entries[i], &map->entries[i + 1],
          (map->n_entries - i - 1) * sizeof *map->entries);
  map->n_entries--;
  return true;
}

cz_ynode *cz_ynode_at(const cz_ynode *root, const char *dotted) {
  const cz_ynode *n = root;
  for (const char *p = dotted; n;) {
    size_t len = strcspn(p, ".");
    char *part = cz_xstrndup(p, len);
    cz_yentry *e = cz_ymap_find(n, part);
    free(part);
    n = e ? e->val : NULL;
    if (!p[len]) break;
    p += len + 1;
  }
  return (cz_ynode *)n;
}

cz_ynode *cz_ymap_make_path(cz_ynode *root, const char *dotted, const char *src,
                            const char **leaf) {
  cz_ynode *map = root;
  const char *p = dotted;
  for (const char *dot; map && (dot = strchr(p, '.')); p = dot + 1) {
    char *part = cz_xstrndup(p, (size_t)(dot - p));
    cz_yentry *e = cz_ymap_find(map, part);
    if (!e || cz_ynode_is_null(e->val)) {
      cz_ymap_set(map, part, cz_ynode_new_map(src));
      e = cz_ymap_find(map, part);
    }
    map = e->val->kind == CZ_Y_MAP ? e->val : NULL;
    free(part);
  }
  *leaf = p;
  return map && map->kind == CZ_Y_MAP ? map : NULL;
}

/* ---- parsing ---- */

typedef struct {
  yaml_parser_t parser;
  const char *src;
  char *anchor_names[MAX_ANCHORS];
  cz_ynode *anchor_nodes[MAX_ANCHORS]; /* borrowed: they live in the tree */
  size_t n_anchors;
  size_t n_nodes; /* nodes built so far, alias copies included */
} parse_ctx;

static size_t count_nodes(const cz_ynode *n) {
  size_t c = 1;
  for (size_t i = 0; i < n->n_items; i++) c += count_nodes(n->items[i]);
  for (size_t i = 0; i < n->n_entries; i++) c += count_nodes(n->entries[i].val);
  return c;
}

static cz_err *parse_error(parse_ctx *pc) {
  yaml_parser_t *p = &pc->parser;
  const char *problem = p->problem ? p->problem : "malformed YAML";
  if (p->context)
    return cz_err_new(CZ_EXIT_USAGE, "%s:%zu:%zu: YAML syntax error: %s %s", pc->src,
                      p->problem_mark.line + 1, p->problem_mark.column + 1,
                      problem, p->context);
  return cz_err_new(CZ_EXIT_USAGE, "%s:%zu:%zu: YAML syntax error: %s", pc->src,
                    p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

static cz_err *next_event(parse_ctx *pc, yaml_event_t *ev) {
  if (!yaml_parser_parse(&pc->parser, ev)) return parse_error(pc);
  return NULL;
}

static void remember_anchor(parse_ctx *pc, const yaml_char_t *anchor, cz_ynode *n) {
  if (!anchor || pc->n_anchors == MAX_ANCHORS) return;
  pc->anchor_names[pc->n_anchors] = cz_xstrdup((const char *)anchor);
  pc->anchor_nodes[pc->n_anchors++] = n;
}

static cz_err *parse_node(parse_ctx *pc, yaml_event_t *ev, int depth, cz_ynode **out);

/* Reads events up to the end of the collection started by ev. */
static cz_err *parse_collection(parse_ctx *pc, cz_ynode *n, int depth) {
  for (;;) {
    yaml_event_t ev;
    cz_err *err = next_event(pc, &ev);
    if (err) return err;
    if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      return NULL;
    }
    if (n->kind == CZ_Y_SEQ) {
      cz_ynode *item;
      err = parse_node(pc, &ev, depth + 1, &item);
      yaml_event_delete(&ev);
      if (err) return err;
      n->items = cz_xrealloc(n->items, (n->n_items + 1) * sizeof *n->items);
      n->items[n->n_items++] = item;
      continue;
    }
    /* mapping: ev is the key */
    int kline = (int)ev.start_mark.line + 1, kcol = (int)ev.start_mark.column + 1;
    if (ev.type != YAML_SCALAR_EVENT) {
      yaml_event_delete(&ev);
      return cz_err_new(CZ_EXIT_USAGE,
                        "%s:%d:%d: YAML key is not a plain name (a list or mapping "
                        "used as a key)", pc->src, kline, kcol);
    }
    char *key = cz_xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
    yaml_event_delete(&ev);
    for (size_t i = 0; i < n->n_entries; i++) {
      if (strcmp(n->entries[i].key, key) == 0) {
        cz_err *dup = cz_err_new(CZ_EXIT_USAGE,
                                 "%s:%d:%d: duplicate key '%s' (first given at line %d)",
                                 pc->src, kline, kcol, key, n->entries[i].line);
        free(key);
        return dup;
      }
    }
    err = next_event(pc, &ev);
    if (err) { free(key); return err; }
    cz_ynode *val;
    err = parse_node(pc, &ev, depth + 1, &val);
    yaml_event_delete(&ev);
    if (err) { free(key); return err; }
    n->entries = cz_xrealloc(n->entries, (n->n_entries + 1) * sizeof *n->entries);
    n->entries[n->n_entries++] = (cz_yentry){key, val, kline, kcol};
  }
}

static cz_err *parse_node(parse_ctx *pc, yaml_event_t *ev, int depth, cz_ynode **out) {
  *out = NULL;
  int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
  if (++pc->n_nodes > MAX_NODES)
    return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: YAML document has more than %d values; "
                      "expected a config-sized document", pc->src, line, col, MAX_NODES);
  if (depth > MAX_DEPTH)
    return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: YAML nested more than %d levels deep",
                      pc->src, line, col, MAX_DEPTH);
  switch (ev->type) {
    case YAML_ALIAS_EVENT: {
      const char *name = (const char *)ev->data.alias.anchor;
      for (size_t i = pc->n_anchors; i-- > 0;) {
        if (strcmp(pc->anchor_names[i], name) == 0) {
          pc->n_nodes += count_nodes(pc->anchor_nodes[i]);
          if (pc->n_nodes > MAX_NODES)
            return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: YAML aliases expand to more than %d "
                              "values; expected a config-sized document", pc->src, line, col,
                              MAX_NODES);
          *out = cz_ynode_clone(pc->anchor_nodes[i]);
          (*out)->line = line;
          (*out)->col = col;
          return NULL;
        }
      }
      return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: YAML alias '*%s' has no anchor",
                        pc->src, line, col, name);
    }
    case YAML_SCALAR_EVENT: {
      cz_ynode *n = node_new(CZ_Y_SCALAR, pc->src, line, col);
      n->text = cz_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
      if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
        cz_ynode_free(n);
        return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: YAML value contains a NUL character",
                          pc->src, line, col);
      }
      n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
      if (ev->data.scalar.tag) n->tag = cz_xstrdup((const char *)ev->data.scalar.tag);
      remember_anchor(pc, ev->data.scalar.anchor, n);
      *out = n;
      return NULL;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
      cz_ynode *n = node_new(seq ? CZ_Y_SEQ : CZ_Y_MAP, pc->src, line, col);
      const yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor
                                      : ev->data.mapping_start.anchor;
      cz_err *err = parse_collection(pc, n, depth);
      if (err) { cz_ynode_free(n); return err; }
      remember_anchor(pc, anchor, n);
      *out = n;
      return NULL;
    }
    default:
      return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: unexpected YAML structure", pc->src,
                        line, col);
  }
}

cz_err *cz_yaml_load_string(const char *text, size_t len, const char *src,
                            bool top_map, cz_ynode **out) {
  *out = NULL;
  size_t bad;
  if (!cz_utf8_valid(text, len, &bad)) {
    int line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
      if (text[i] == '\n') { line++; col = 1; } else col++;
    }
    return cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: not valid UTF-8 (byte 0x%02x); save "
                      "the file as UTF-8", src, line, col, (unsigned char)text[bad]);
  }
  parse_ctx pc;
  memset(&pc, 0, sizeof pc);
  pc.src = src;
  if (!yaml_parser_initialize(&pc.parser)) {
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot initialise the YAML parser", src);
  }
  yaml_parser_set_input_string(&pc.parser, (const unsigned char *)text, len);
  cz_ynode *root = NULL;
  cz_err *err = NULL;
  yaml_event_t ev;
  int docs = 0;
  for (;;) {
    if ((err = next_event(&pc, &ev))) break;
    yaml_event_type_t t = ev.type;
    if (t == YAML_STREAM_END_EVENT) { yaml_event_delete(&ev); break; }
    if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
      err = cz_err_new(CZ_EXIT_USAGE, "%s:%zu:%zu: several YAML documents ('---') in one "
                       "file; expected one", src, ev.start_mark.line + 1,
                       ev.start_mark.column + 1);
      yaml_event_delete(&ev);
      break;
    }
    if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
        t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
      err = parse_node(&pc, &ev, 0, &root);
    }
    yaml_event_delete(&ev);
    if (err) break;
  }
  yaml_parser_delete(&pc.parser);
  for (size_t i = 0; i < pc.n_anchors; i++) free(pc.anchor_names[i]);
  if (err) { cz_ynode_free(root); return err; }
  if (!root || cz_ynode_is_null(root)) {
    cz_ynode_free(root);
    if (top_map) return cz_err_new(CZ_EXIT_USAGE, "%s: config is empty (no settings in it)", src);
    root = node_new(CZ_Y_SCALAR, src, 1, 1);
    root->text = cz_xstrdup("");
  }
  if (top_map && root->kind != CZ_Y_MAP) {
    err = cz_err_new(CZ_EXIT_USAGE, "%s:%d:%d: top level of the config is a %s; expected "
                     "a mapping of sections (e.g. 'operation_mode: training')", src,
                     root->line, root->col, root->kind == CZ_Y_SEQ ? "list" : "single value");
    cz_ynode_free(root);
    return err;
  }
  *out = root;
  return NULL;
}

enum { MAX_CONFIG_BYTES = 16 << 20 };

cz_err *cz_yaml_load_file(const char *path, cz_ynode **out) {
  *out = NULL;
  struct stat st;
  if (stat(path, &st) != 0)
    return cz_err_new(CZ_EXIT_USAGE, "%s: cannot read config file: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return cz_err_new(CZ_EXIT_USAGE, "%s: is a directory; expected a YAML config file", path);
  if (!S_ISREG(st.st_mode))
    return cz_err_new(CZ_EXIT_USAGE, "%s: is not a regular file; expected a YAML config file", path);
  if (st.st_size > MAX_CONFIG_BYTES)
    return cz_err_new(CZ_EXIT_USAGE, "%s: config file is %lld bytes; expected at most %d",
                      path, (long long)st.st_size, MAX_CONFIG_BYTES);
  FILE *f = fopen(path, "rb");
  if (!f)
    return cz_err_new(CZ_EXIT_USAGE, "%s: cannot read config file: %s", path, strerror(errno));
  cz_strbuf sb;
  cz_sb_init(&sb);
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (sb.len + n > MAX_CONFIG_BYTES) break;
    cz_sb_appendn(&sb, buf, n);
  }
  bool failed = ferror(f);
  int saved = errno;
  fclose(f);
  if (failed) {
    cz_sb_free(&sb);
    return cz_err_new(CZ_EXIT_USAGE, "%s: cannot read config file: %s", path, strerror(saved));
  }
  if (sb.len == 0) {
    cz_sb_free(&sb);
    return cz_err_new(CZ_EXIT_USAGE, "%s: config file is empty", path);
  }
  cz_err *err = cz_yaml_load_string(sb.data, sb.len, path, true, out);
  cz_sb_free(&sb);
  return err;
}

/* ---- writing ---- */

static int write_cb(void *data, unsigned char *buf, size_t size) {
  cz_sb_appendn((cz_strbuf *)data, (const char *)buf, size);
  return 1;
}

static bool emit(yaml_emitter_t *em, yaml_event_t *ev) { return yaml_emitter_emit(em, ev) != 0; }

static bool emit_scalar(yaml_emitter_t *em, const char *text, const char *tag, bool quoted) {
  yaml_event_t ev;
  /* A string that plain style would read back as something else (a number,
   * a bool, null) stays quoted; the emitter picks the quoting. An explicit
   * tag the user wrote (!!float 2e-5) is kept. */
  yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)tag, (yaml_char_t *)text,
                               (int)strlen(text), !quoted && !tag, !tag, YAML_ANY_SCALAR_STYLE);
  return emit(em, &ev);
}

static bool all_scalars(const cz_ynode *n) {
  for (size_t i = 0; i < n->n_items; i++)
    if (n->items[i]->kind != CZ_Y_SCALAR) return false;
  return true;
}

static bool emit_node(yaml_emitter_t *em, const cz_ynode *n, int depth) {
  yaml_event_t ev;
  switch (n->kind) {
    case CZ_Y_SCALAR:
      return emit_scalar(em, n->text, n->tag, n->quoted);
    case CZ_Y_SEQ:
      yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                           all_scalars(n) && depth > 0 ? YAML_FLOW_SEQUENCE_STYLE
                                                          : YAML_BLOCK_SEQUENCE_STYLE);
      if (!emit(em, &ev)) return false;
      for (size_t i = 0; i < n->n_items; i++)
        if (!emit_node(em, n->items[i], depth + 1)) return false;
      yaml_sequence_end_event_initialize(&ev);
      return emit(em, &ev);
    case CZ_Y_MAP:
      yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
      if (!emit(em, &ev)) return false;
      for (size_t i = 0; i < n->n_entries; i++) {
        if (!emit_scalar(em, n->entries[i].key, NULL, false)) return false;
        if (!emit_node(em, n->entries[i].val, depth + 1)) return false;
      }
      yaml_mapping_end_event_initialize(&ev);
      return emit(em, &ev);
  }
  return false;
}

cz_err *cz_yaml_write(const cz_ynode *root, char **out_text) {
  yaml_emitter_t em;
  cz_strbuf sb;
  cz_sb_init(&sb);
  yaml_emitter_initialize(&em);
  yaml_emitter_set_output(&em, write_cb, &sb);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, 100);
  yaml_event_t ev;
  bool ok = true;
  yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
  ok = ok && emit(&em, &ev);
  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
  ok = ok && emit(&em, &ev);
  ok = ok && emit_node(&em, root, 0);
  yaml_document_end_event_initialize(&ev, 1);
  ok = ok && emit(&em, &ev);
  yaml_stream_end_event_initialize(&ev);
  ok = ok && emit(&em, &ev);
  const char *problem = em.problem;
  yaml_emitter_delete(&em);
  if (!ok) {
    cz_sb_free(&sb);
    return cz_err_new(CZ_EXIT_RUNTIME, "cannot write YAML: %s", problem ? problem : "emitter error");
  }
  *out_text = cz_sb_take(&sb);
  cz_sb_free(&sb);
  return NULL;
}
