/* Every YAML snippet of the spec README (the user documentation of the tool
 * we replace) loads: config snippets bind into cz_config without error,
 * fragments (e.g. a lone `rescaling:` block) bind inside their section,
 * and the YAML-syntax examples parse. Only the two folder-layout drawings
 * fenced as yaml are not YAML (PyYAML rejects them too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg_bind.h"
#include "config/cfg_interp.h"
#include "config/cfg_schema.h"
#include "io/yaml_doc.h"
#include "util/mem.h"

static char *read_spec(void) {
  const char *dir = getenv("CZOO_SPEC_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/image_classification_README.md", dir ? dir : "../shared/spec");
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s (set CZOO_SPEC_DIR)", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = cz_xmalloc((size_t)n + 1);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* Sections a fragment's single top key belongs in. */
static const char *home_section(const char *key) {
  if (strcmp(key, "rescaling") == 0 || strcmp(key, "resizing") == 0) return "preprocessing";
  if (strcmp(key, "class_names") == 0) return "dataset";
  return NULL;
}

static int all_keys_known(const cz_ynode *root) {
  for (size_t i = 0; i < root->n_entries; i++) {
    const char *k = root->entries[i].key;
    if (!cz_schema_find(k, NULL) && !cz_schema_is_section(k)) return 0;
  }
  return 1;
}

static void bind_ok(cz_ynode *root, const char *snippet, cz_config *cfg) {
  cz_err *err = cz_interpolate(root, 0);
  if (!err) err = cz_config_bind(root, cfg);
  if (err) fail_msg("snippet does not load: %s\n---\n%s", cz_err_msg(err), snippet);
}

static void test_every_snippet_loads(void **state) {
  (void)state;
  char *spec = read_spec();
  int blocks = 0, bound = 0, fragments = 0, syntax_only = 0, drawings = 0;
  int saw_rescaling_example = 0;
  for (char *p = spec; (p = strstr(p, "```yaml\n"));) {
    p += 8;
    char *end = strstr(p, "```");
    assert_non_null(end);
    char *snippet = cz_xstrndup(p, (size_t)(end - p));
    p = end + 3;
    blocks++;
    cz_ynode *root = NULL;
    cz_err *err = cz_yaml_load_string(snippet, strlen(snippet), "snippet", false, &root);
    if (err) {
      if (!strstr(snippet, "<training-dataset-root-directory>"))
        fail_msg("snippet is not YAML: %s\n---\n%s", cz_err_msg(err), snippet);
      drawings++;
      cz_err_free(err);
      free(snippet);
      continue;
    }
    cz_config cfg = {0};
    if (root->kind == CZ_Y_MAP && all_keys_known(root)) {
      bind_ok(root, snippet, &cfg);
      bound++;
    } else if (root->kind == CZ_Y_MAP && root->n_entries == 1 && home_section(root->entries[0].key)) {
      cz_ynode *wrap = cz_ynode_new_map("snippet");
      cz_ymap_set(wrap, home_section(root->entries[0].key), root);
      root = wrap;
      bind_ok(root, snippet, &cfg);
      fragments++;
    } else {
      syntax_only++;
    }
    if (cfg.preprocessing.scale.set && cfg.preprocessing.scale.v == 1 / 127.5 &&
        cfg.preprocessing.offset.v == -1) saw_rescaling_example++;
    cz_config_free(&cfg);
    cz_ynode_free(root);
    free(snippet);
  }
  free(spec);
  /* The README as read on 2026-11-26: 33 yaml blocks. */
  assert_int_equal(blocks, 33);
  assert_int_equal(drawings, 2);
  assert_int_equal(bound, 15);
  assert_int_equal(fragments, 6);
  assert_int_equal(syntax_only, 10);
  /* 1/127.5 and -1 evaluated, in the block and the flow-map spelling alike */
  assert_int_equal(saw_rescaling_example, 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_snippet_loads)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
