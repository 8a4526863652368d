/* YAML reading as users write configs: comments, quoting, flow and block
 * collections, multi-line strings, null spellings, anchors, and the
 * one-line errors for files that are not valid YAML configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/yaml_doc.h"

static cz_ynode *load(const char *text) {
  cz_ynode *n = NULL;
  cz_err *err = cz_yaml_load_string(text, strlen(text), "t.yaml", true, &n);
  if (err) fail_msg("unexpected error: %s", cz_err_msg(err));
  return n;
}

static char *load_error(const char *text) {
  cz_ynode *n = NULL;
  cz_err *err = cz_yaml_load_string(text, strlen(text), "t.yaml", true, &n);
  assert_null(n);
  assert_non_null(err);
  char *msg = strdup(cz_err_msg(err));
  cz_err_free(err);
  return msg;
}

static const cz_ynode *at(const cz_ynode *map, const char *key) {
  cz_yentry *e = cz_ymap_find(map, key);
  if (!e) fail_msg("no key %s", key);
  return e->val;
}

static void test_scalars_and_comments(void **state) {
  (void)state;
  cz_ynode *n = load("# top comment\n"
                     "a: fit   # trailing comment\n"
                     "b: \"fit\"\n"
                     "c: 'it''s'\n"
                     "d: \"Pepper,_bell___Bacterial_spot\"\n"
                     "e: 1/127.5\n");
  assert_string_equal(at(n, "a")->text, "fit");
  assert_false(at(n, "a")->quoted);
  assert_string_equal(at(n, "b")->text, "fit");
  assert_true(at(n, "b")->quoted);
  assert_string_equal(at(n, "c")->text, "it's");
  assert_string_equal(at(n, "d")->text, "Pepper,_bell___Bacterial_spot");
  assert_string_equal(at(n, "e")->text, "1/127.5");
  assert_int_equal(at(n, "e")->line, 6);
  assert_int_equal(at(n, "e")->col, 4);
  cz_ynode_free(n);
}

static void test_null_spellings(void **state) {
  (void)state;
  cz_ynode *n = load("attribute_1:\nattribute_2: ~\nattribute_3: null\nattribute_4: None\n"
                     "q: ''\nliteral: 'None'\nzero: 0\n");
  assert_true(cz_ynode_is_null(at(n, "attribute_1")));
  assert_true(cz_ynode_is_null(at(n, "attribute_2")));
  assert_true(cz_ynode_is_null(at(n, "attribute_3")));
  assert_true(cz_ynode_is_null(at(n, "attribute_4")));
  assert_true(cz_ynode_is_null(at(n, "q")));
  assert_false(cz_ynode_is_null(at(n, "literal")));
  assert_false(cz_ynode_is_null(at(n, "zero")));
  cz_ynode_free(n);
}

static void test_flow_and_block_lists_equal(void **state) {
  (void)state;
  cz_ynode *a = load("class_names: [daisy, dandelion, roses, sunflowers, tulips]\n");
  cz_ynode *b = load("class_names:\n- daisy\n- dandelion\n- roses\n- sunflowers\n- tulips\n");
  const cz_ynode *la = at(a, "class_names"), *lb = at(b, "class_names");
  assert_int_equal(la->kind, CZ_Y_SEQ);
  assert_int_equal(la->n_items, 5);
  assert_int_equal(lb->n_items, 5);
  for (size_t i = 0; i < 5; i++) assert_string_equal(la->items[i]->text, lb->items[i]->text);
  cz_ynode_free(a);
  cz_ynode_free(b);
}

static void test_flow_map_equals_block_map(void **state) {
  (void)state;
  cz_ynode *a = load("rescaling: { scale: 1/127.5, offset: -1 }\n");
  cz_ynode *b = load("rescaling:\n   scale: 1/127.5\n   offset: -1\n");
  assert_string_equal(at(at(a, "rescaling"), "scale")->text, at(at(b, "rescaling"), "scale")->text);
  assert_string_equal(at(at(a, "rescaling"), "offset")->text, "-1");
  assert_string_equal(at(at(b, "rescaling"), "offset")->text, "-1");
  cz_ynode_free(a);
  cz_ynode_free(b);
}

static void test_multiline_and_tags(void **state) {
  (void)state;
  cz_ynode *n = load("s: |\n  line one\n  line two\nf: >\n  folded\n  text\nw: !!float 2e-5\n");
  assert_string_equal(at(n, "s")->text, "line one\nline two\n");
  assert_string_equal(at(n, "f")->text, "folded text\n");
  assert_string_equal(at(n, "w")->text, "2e-5");
  assert_string_equal(at(n, "w")->tag, "tag:yaml.org,2002:float");
  cz_ynode_free(n);
}

static void test_anchor_alias(void **state) {
  (void)state;
  cz_ynode *n = load("base: &m [0.5, 0.5]\nmean: *m\n");
  const cz_ynode *m = at(n, "mean");
  assert_int_equal(m->kind, CZ_Y_SEQ);
  assert_int_equal(m->n_items, 2);
  assert_string_equal(m->items[1]->text, "0.5");
  cz_ynode_free(n);
}

static void test_write_round_trip(void **state) {
  (void)state;
  cz_ynode *n = load("a: {b: [1, 2], c: 'true', d: \"x: y\"}\ne: !!float 1e-3\n");
  char *text = NULL;
  cz_err *err = cz_yaml_write(n, &text);
  assert_null(err);
  cz_ynode *back = load(text);
  assert_string_equal(at(at(back, "a"), "c")->text, "true");
  assert_true(at(at(back, "a"), "c")->quoted);
  assert_string_equal(at(at(back, "a"), "d")->text, "x: y");
  assert_string_equal(at(back, "e")->tag, "tag:yaml.org,2002:float");
  free(text);
  cz_ynode_free(n);
  cz_ynode_free(back);
}

static void test_errors(void **state) {
  (void)state;
  char *m = load_error("a: 1\nb: [1, 2\nc: 3\n");
  assert_non_null(strstr(m, "t.yaml:"));
  assert_non_null(strstr(m, "YAML syntax error"));
  free(m);
  m = load_error("a:\n  b: 1\n  b: 2\n");
  assert_string_equal(m, "t.yaml:3:3: duplicate key 'b' (first given at line 2)");
  free(m);
  m = load_error("ok: 1\nbad: \"caf\xff\"\n");
  assert_string_equal(m, "t.yaml:2:10: not valid UTF-8 (byte 0xff); save the file as UTF-8");
  free(m);
  m = load_error("# only a comment\n");
  assert_string_equal(m, "t.yaml: config is empty (no settings in it)");
  free(m);
  m = load_error("- a\n- b\n");
  assert_string_equal(m, "t.yaml:1:1: top level of the config is a list; expected a mapping of "
                         "sections (e.g. 'operation_mode: training')");
  free(m);
  m = load_error("a: 1\n---\nb: 2\n");
  assert_string_equal(m, "t.yaml:2:1: several YAML documents ('---') in one file; expected one");
  free(m);
  /* nested aliases that would expand to 10^7 values are refused */
  m = load_error("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                 "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                 "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
  assert_string_equal(m, "t.yaml:6:8: YAML aliases expand to more than 200000 values; expected a "
                         "config-sized document");
  free(m);
  m = load_error("a: *nope\n");
  assert_non_null(strstr(m, "t.yaml:1:4:"));
  free(m);
}

static void test_file_errors(void **state) {
  (void)state;
  char dir[] = "/tmp/czoo_yaml_XXXXXX";
  assert_non_null(mkdtemp(dir));
  cz_ynode *n = NULL;
  cz_err *err = cz_yaml_load_file(dir, &n);
  char expect[256];
  snprintf(expect, sizeof expect, "%s: is a directory; expected a YAML config file", dir);
  assert_string_equal(cz_err_msg(err), expect);
  cz_err_free(err);

  char path[64];
  snprintf(path, sizeof path, "%s/empty.yaml", dir);
  FILE *f = fopen(path, "w");
  fclose(f);
  err = cz_yaml_load_file(path, &n);
  snprintf(expect, sizeof expect, "%s: config file is empty", path);
  assert_string_equal(cz_err_msg(err), expect);
  cz_err_free(err);
  unlink(path);

  snprintf(path, sizeof path, "%s/missing.yaml", dir);
  err = cz_yaml_load_file(path, &n);
  snprintf(expect, sizeof expect, "%s: cannot read config file: No such file or directory", path);
  assert_string_equal(cz_err_msg(err), expect);
  cz_err_free(err);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalars_and_comments), cmocka_unit_test(test_null_spellings),
      cmocka_unit_test(test_flow_and_block_lists_equal), cmocka_unit_test(test_flow_map_equals_block_map),
      cmocka_unit_test(test_multiline_and_tags), cmocka_unit_test(test_anchor_alias),
      cmocka_unit_test(test_write_round_trip), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_file_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
