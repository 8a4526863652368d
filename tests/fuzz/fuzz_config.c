/* libFuzzer target for the config loader: input is YAML text, then up to three
 * NUL-separated overrides; runs the whole pipeline, step by step and whole. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/cfg_bind.h"
#include "config/cfg_interp.h"
#include "config/cfg_load.h"
#include "config/cfg_override.h"
#include "config/cfg_validate.h"
#include "io/yaml_doc.h"
#include "util/err.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_OVERRIDES = 3 };
static const char kSrc[] = "fuzz.yaml";
/* Fixed so that ${now:...} gives the same text on every run of an input. */
static const time_t kNow = 1700000000;

/* cz_config_load reads a file: each input is also written to this private
 * temporary file so the real entry point runs on it too. */
static char g_file[4096];
static int g_fd = -1;

static void remove_file(void) {
  if (g_fd >= 0) unlink(g_file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* "accepted but has no effect" warnings would flood the fuzzer's output. */
  cz_log_set_level(CZ_LOG_ERROR);
  setenv("TZ", "UTC", 1);
  tzset();
  const char *dir = getenv("TMPDIR");
  snprintf(g_file, sizeof g_file, "%s/fuzz_config.XXXXXX", dir && *dir ? dir : "/tmp");
  g_fd = mkstemp(g_file);
  if (g_fd < 0) {
    perror("fuzz_config: cannot create a temporary file");
    abort();
  }
  atexit(remove_file);
  return 0;
}

/* Errors must carry a message; reading it all lets ASan check the string. */
static void drop_err(cz_err *err) {
  if (!err) return;
  const char *msg = cz_err_msg(err);
  if (!msg || !msg[0]) __builtin_trap();
  (void)strlen(msg);
  cz_err_free(err);
}

/* What re-reading written YAML must give back: the same shape, keys and
 * scalar texts, and no value turning into null or back. A quoted scalar may
 * come back plain only when it carries a tag (the tag then says its type). */
static bool same_tree(const cz_ynode *a, const cz_ynode *b) {
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case CZ_Y_SCALAR:
      if (strcmp(a->text, b->text) != 0) return false;
      if ((a->tag == NULL) != (b->tag == NULL)) return false;
      if (a->tag && strcmp(a->tag, b->tag) != 0) return false;
      if (cz_ynode_is_null(a) != cz_ynode_is_null(b)) return false;
      if (a->quoted && !a->tag && !b->quoted) return false;
      return true;
    case CZ_Y_SEQ:
      if (a->n_items != b->n_items) return false;
      for (size_t i = 0; i < a->n_items; i++)
        if (!same_tree(a->items[i], b->items[i])) return false;
      return true;
    case CZ_Y_MAP:
      if (a->n_entries != b->n_entries) return false;
      for (size_t i = 0; i < a->n_entries; i++) {
        if (strcmp(a->entries[i].key, b->entries[i].key) != 0) return false;
        if (!same_tree(a->entries[i].val, b->entries[i].val)) return false;
      }
      return true;
  }
  return false;
}

/* Writes tree and reads it back: what czoo saves (.hydra/config.yaml) must
 * load again as the same tree. */
static void check_round_trip(const cz_ynode *tree) {
  char *text = NULL;
  cz_err *err = cz_yaml_write(tree, &text);
  if (err) __builtin_trap(); /* a tree read from YAML must be writable */
  cz_ynode *again = NULL;
  err = cz_yaml_load_string(text, strlen(text), "round-trip", true, &again);
  if (err) __builtin_trap();
  if (!same_tree(tree, again)) __builtin_trap();
  cz_ynode_free(again);
  free(text);
}

/* The printed resolved config (--cfg job) must itself be loadable YAML. */
static void check_printed_config(const cz_config *cfg) {
  char *text = cz_config_to_yaml(cfg);
  if (!text) __builtin_trap();
  cz_ynode *again = NULL;
  cz_err *err = cz_yaml_load_string(text, strlen(text), "--cfg job", true, &again);
  if (err) __builtin_trap();
  cz_ynode_free(again);
  free(text);
}

/* The pipeline as czoo runs it, through cz_config_load; what it composes
 * is what czoo saves, so it must round-trip. */
static void check_config_load(const char *yaml, size_t len, char *const *overrides, size_t n) {
  if (ftruncate(g_fd, 0) != 0 || pwrite(g_fd, yaml, len, 0) != (ssize_t)len) abort();
  cz_loaded_config lc;
  cz_err *err = cz_config_load(g_file, overrides, n, kNow, &lc);
  if (err) {
    drop_err(err);
    return;
  }
  check_round_trip(lc.composed);
  check_printed_config(&lc.cfg);
  cz_loaded_config_free(&lc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t yaml_len = nul ? (size_t)(nul - data) : size;
  /* An exact-size copy: reading past len is then an ASan report. */
  char *yaml = malloc(yaml_len ? yaml_len : 1);
  if (!yaml) return 0;
  if (yaml_len) memcpy(yaml, data, yaml_len);

  char *overrides[MAX_OVERRIDES];
  size_t n_overrides = 0;
  size_t pos = nul ? yaml_len + 1 : size;
  while (pos < size && n_overrides < MAX_OVERRIDES) {
    const uint8_t *end = memchr(data + pos, 0, size - pos);
    size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
    char *ov = malloc(len + 1);
    if (!ov) break;
    memcpy(ov, data + pos, len);
    ov[len] = '\0';
    overrides[n_overrides++] = ov;
    pos += len + 1;
  }

  cz_ynode *root = NULL;
  cz_ynode *resolved = NULL;
  cz_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cz_err *err = cz_yaml_load_string(yaml, yaml_len, kSrc, true, &root);
  if (err) goto out;
  check_round_trip(root);

  for (size_t i = 0; i < n_overrides && !err; i++) err = cz_override_apply(root, overrides[i]);
  if (err) goto out;

  resolved = cz_ynode_clone(root);
  if ((err = cz_interpolate(resolved, kNow))) goto out;
  if ((err = cz_config_bind(resolved, &cfg))) goto out;
  /* Only a composed tree that binds is ever saved (.hydra/config.yaml);
   * before binding, overrides may nest deeper than the reader accepts. */
  if (n_overrides) check_round_trip(root);
  /* A bound config is complete, valid or not, so it can always be printed;
   * doing so before validation also covers configs whose paths do not exist. */
  check_printed_config(&cfg);
  if ((err = cz_config_validate(&cfg, resolved, kSrc))) goto out;
  check_printed_config(&cfg);

out:
  drop_err(err);
  cz_config_free(&cfg);
  cz_ynode_free(resolved);
  cz_ynode_free(root);
  check_config_load(yaml, yaml_len, overrides, n_overrides);
  for (size_t i = 0; i < n_overrides; i++) free(overrides[i]);
  free(yaml);
  return 0;
}
