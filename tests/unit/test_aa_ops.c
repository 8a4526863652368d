/* The auto-augment ops, level-to-arg mappings and parsed transforms
 * against timm 1.0.31 itself (tests/oracle/gen_aa.py): every op on
 * generated gray / RGB images must equal timm's PIL result exactly (0 LSB:
 * point ops, enhance, and the nearest / bilinear / bicubic affine paths);
 * level arguments must be the same doubles; parsed transforms the same
 * op lists, probabilities, magnitudes and hparams; AugMix's mixing of
 * fixed chains with fixed weights the same bytes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg.h"
#include "data/aa.h"
#include "tensor_file.h"

static ct_bundle *bundle(void) {
  const char *d = getenv("CZOO_AA_DIR");
  if (!d) fail_msg("CZOO_AA_DIR is not set (the oracle.gen_aa fixture sets it)");
  char path[4096];
  snprintf(path, sizeof path, "%s/aa.czt", d);
  return ct_bundle_read(path);
}

static cz_image tensor_image(const ct_tensor *t) {
  assert_int_equal(t->dtype, CZ_U8);
  return (cz_image){.h = (int)t->shape.d[0], .w = (int)t->shape.d[1], .c = (int)t->shape.d[2],
                    .px = t->data};
}

static int op_of(const char *name) {
  for (int i = 0; i < CZ_AA_NOPS; i++)
    if (!strcmp(cz_aa_op_name((cz_aa_opname)i), name)) return i;
  fail_msg("unknown op %s", name);
  return -1;
}

static const char *cases(const ct_bundle *b) { return ct_bundle_need(b, "cases")->data; }

static void test_ops_match_timm(void **state) {
  (void)state;
  ct_bundle *b = bundle();
  const char *text = cases(b);
  const uint8_t fill[3] = {124, 116, 104};
  int n = 0, bad = 0;
  for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
    int k, interp, im;
    char name[64];
    double arg;
    if (sscanf(line, "op %d %63s %lf %d %d", &k, name, &arg, &interp, &im) != 5) continue;
    char key[64];
    snprintf(key, sizeof key, "img.%d", im);
    cz_image src = tensor_image(ct_bundle_need(b, key));
    snprintf(key, sizeof key, "op.%d", k);
    cz_image want = tensor_image(ct_bundle_need(b, key));
    size_t sz = (size_t)src.w * (size_t)src.h * (size_t)src.c;
    cz_image img = src;
    img.px = malloc(sz);
    memcpy(img.px, src.px, sz);
    cz_err *e = cz_aa_op_apply(&img, (cz_aa_opname)op_of(name), arg, interp, fill);
    if (e) fail_msg("%s", cz_err_msg(e));
    assert_int_equal(want.w, img.w);
    assert_int_equal(want.h, img.h);
    assert_int_equal(want.c, img.c);
    int diff = 0, maxd = 0;
    for (size_t i = 0; i < sz; i++) {
      int d = abs((int)img.px[i] - (int)want.px[i]);
      if (d) diff++;
      if (d > maxd) maxd = d;
    }
    if (diff) {
      bad++;
      print_message("op %d %s(%g) interp %d image %d (%dx%dx%d): %d values differ, max %d\n", k,
                    name, arg, interp, im, img.w, img.h, img.c, diff, maxd);
    }
    free(img.px);
    n++;
  }
  print_message("%d op cases, %d differ (tolerance: exact)\n", n, bad);
  assert_true(n > 400);
  assert_int_equal(bad, 0);
  ct_bundle_free(b);
}

static void test_levels_match_timm(void **state) {
  (void)state;
  ct_bundle *b = bundle();
  cz_aa aa = {.translate_const = 100, .translate_pct = 0.45};
  int n = 0;
  for (const char *line = cases(b); *line; line = strchr(line, '\n') + 1) {
    char name[64];
    double m, want;
    int neg;
    if (sscanf(line, "level %63s %lf %d %lf", name, &m, &neg, &want) != 4) continue;
    double got = cz_aa_level_arg(&aa, (cz_aa_opname)op_of(name), m, neg != 0);
    if (got != want) fail_msg("%s level %g neg %d: %.17g, timm %.17g", name, m, neg, got, want);
    n++;
  }
  assert_true(n > 200);
  ct_bundle_free(b);
}

/* AugMix's mixing (basic and blended) for fixed weights, m and chains. */
static void test_augmix_matches_timm(void **state) {
  (void)state;
  ct_bundle *b = bundle();
  cz_aa aa = {.kind = CZ_AA_AUGMIX, .fill = {124, 116, 104}};
  int n = 0;
  for (const char *line = cases(b); *line; line = strchr(line, '\n') + 1) {
    int k, im, blended, used;
    double m;
    if (sscanf(line, "augmix %d %d %d %lf %n", &k, &im, &blended, &m, &used) != 4) continue;
    static cz_aa_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.kind = CZ_AA_AUGMIX;
    plan.blended = blended != 0;
    plan.m = (float)m;
    const char *p = line + used;
    while (*p != ' ') {
      plan.mix_w[plan.width++] = (float)strtod(p, (char **)&p);
      if (*p == ',') p++;
    }
    p++;
    cz_aa_step steps[64];
    int ns = 0;
    while (*p && *p != '\n') {
      char name[64];
      double arg;
      int interp, u;
      if (sscanf(p, "%63[^:]:%lf:%d%n", name, &arg, &interp, &u) != 3) fail_msg("bad %s", p);
      steps[ns++] = (cz_aa_step){(cz_aa_opname)op_of(name), arg, interp};
      p += u;
      if (*p == ',') p++;
    }
    int depth = ns / plan.width;
    for (int c = 0; c < plan.width; c++) {
      plan.chain_len[c] = depth;
      for (int j = 0; j < depth; j++) plan.steps[c * CZ_AA_MAX_DEPTH + j] = steps[c * depth + j];
    }
    char key[64];
    snprintf(key, sizeof key, "img.%d", im);
    cz_image src = tensor_image(ct_bundle_need(b, key));
    snprintf(key, sizeof key, "mix.%d", k);
    cz_image want = tensor_image(ct_bundle_need(b, key));
    size_t sz = (size_t)src.w * (size_t)src.h * (size_t)src.c;
    cz_image img = src;
    img.px = malloc(sz);
    memcpy(img.px, src.px, sz);
    cz_err *e = cz_aa_apply(&aa, &plan, &img);
    if (e) fail_msg("%s", cz_err_msg(e));
    int diff = 0;
    for (size_t i = 0; i < sz; i++) diff += img.px[i] != want.px[i];
    if (diff) fail_msg("augmix case %d: %d of %zu values differ (tolerance: exact)", k, diff, sz);
    free(img.px);
    n++;
  }
  assert_int_equal(n, 4);
  ct_bundle_free(b);
}

/* "NAME:PROB:M:MSTD:MMAX" of our op vs the line's. */
static void check_op(const char *s, const char *desc, const cz_aa *aa, const cz_aa_op *op) {
  char want[128], got[128];
  int len = (int)strcspn(desc, ",;");
  snprintf(want, sizeof want, "%.*s", len, desc);
  double mstd = aa->mstd;
  snprintf(got, sizeof got, "%s:%.17g:%.17g:%s:%d", cz_aa_op_name(op->op), op->prob, op->magnitude,
           isinf(mstd) ? "inf" : "", aa->mmax);
  char name[64];
  double p, m, ms, mm;
  char mss[32];
  if (sscanf(want, "%63[^:]:%lf:%lf:%31[^:]:%lf", name, &p, &m, mss, &mm) != 5)
    fail_msg("bad line %s", want);
  ms = strcmp(mss, "inf") ? strtod(mss, NULL) : INFINITY;
  if (strcmp(name, cz_aa_op_name(op->op)) || p != op->prob || m != op->magnitude || ms != mstd ||
      mm != aa->mmax)
    fail_msg("'%s': op %s, timm %s", s, got, want);
}

static void test_parse_matches_timm(void **state) {
  (void)state;
  ct_bundle *b = bundle();
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  int n = 0;
  for (const char *line = cases(b); *line; line = strchr(line, '\n') + 1) {
    if (strncmp(line, "parse ", 6)) continue;
    char buf[8192];
    int len = (int)strcspn(line, "\n");
    snprintf(buf, sizeof buf, "%.*s", len - 6, line + 6);
    char *f[8];
    char *p = buf;
    for (int i = 0; i < 8; i++) {
      f[i] = p;
      p = strchr(p, '|');
      if (p) *p++ = 0;
      else assert_int_equal(i, 7);
    }
    cz_aa aa;
    cz_err *e = cz_aa_parse(f[0], 224, 224, 3, mean, "random", &aa);
    if (e) fail_msg("'%s': %s", f[0], cz_err_msg(e));
    assert_int_equal(aa.color_jitter, atoi(f[3]));
    assert_int_equal(aa.translate_const, atoi(f[4]));
    assert_true(aa.translate_pct == strtod(f[5], NULL));
    char fill[32];
    snprintf(fill, sizeof fill, "%d,%d,%d", aa.fill[0], aa.fill[1], aa.fill[2]);
    assert_string_equal(fill, f[6]);
    assert_int_equal(aa.n_interp, 2);
    const char *d = f[7];
    if (!strcmp(f[1], "AutoAugment")) {
      assert_int_equal(aa.kind, CZ_AA_AUTO);
      assert_int_equal(aa.n_sub, atoi(f[2]));
      for (int k = 0; k < aa.n_sub; k++)
        for (int j = 0; j < aa.sub_len[k]; j++) {
          check_op(f[0], d, &aa, &aa.sub[k][j]);
          d += strcspn(d, ",;");
          if (*d) d++;
        }
    } else {
      if (!strcmp(f[1], "RandAugment")) {
        assert_int_equal(aa.kind, CZ_AA_RAND);
        assert_int_equal(aa.num_layers, atoi(f[2]));
        char key[8300];
        snprintf(key, sizeof key, "w.%s", f[0]);
        const ct_tensor *w = ct_bundle_get(b, key);
        assert_int_equal(aa.weighted, w != NULL);
        for (int i = 0; w && i < aa.n_ops; i++)
          assert_true(fabs(aa.weight[i] - (double)((const float *)w->data)[i]) < 1e-7);
      } else {
        assert_int_equal(aa.kind, CZ_AA_AUGMIX);
        char got[64];
        snprintf(got, sizeof got, "%d,%d,%.1f,%d", aa.width, aa.depth, aa.alpha, aa.blended);
        assert_string_equal(got, f[2]);
      }
      for (int i = 0; i < aa.n_ops; i++) {
        check_op(f[0], d, &aa, &aa.ops[i]);
        d += strcspn(d, ",;");
        if (*d) d++;
      }
    }
    assert_int_equal(*d, 0); /* as many ops as timm */
    n++;
  }
  assert_true(n >= 15);
  ct_bundle_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ops_match_timm),
      cmocka_unit_test(test_levels_match_timm),
      cmocka_unit_test(test_augmix_matches_timm),
      cmocka_unit_test(test_parse_matches_timm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
