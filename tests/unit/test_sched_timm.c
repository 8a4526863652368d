/* The learning-rate schedules against timm 1.0.31: tests/data/sched_golden.txt
 * holds, for 126 settings (every scheduler x warmup x prefix x cooldown x
 * cycles/k_decay x per-epoch/per-update, plateau with fixed metric
 * sequences, edge cases such as epochs < warmup or cycle_mul 0.5), timm's
 * lr after construction and after each step() / step_update() call; it was
 * made by tests/oracle/gen_sched_golden.py.
 * Each call is replayed on czoo's schedule and every lr must agree within
 * 1e-12 relative (plus 1e-18 absolute for zeros), in double; num_epochs
 * exactly. lr noise is off in the golden file: timm draws it from torch's
 * generator, czoo from Philox, so test_sched.c checks czoo's noise
 * statistically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "train/sched.h"

#define REL_TOL 1e-12
#define ABS_TOL 1e-18

static char sched_name[32];

static void strip_quotes(const char *v, char *out, size_t n) {
  size_t len = strlen(v);
  if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'') {
    v++;
    len -= 2;
  }
  if (len >= n) len = n - 1;
  memcpy(out, v, len);
  out[len] = 0;
}

static void parse_params(char *line, cz_sched_params *p) {
  memset(p, 0, sizeof *p);
  for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
    char *eq = strchr(tok, '=');
    if (!eq) continue;
    *eq = 0;
    const char *k = tok, *v = eq + 1;
    if (!strcmp(k, "sched")) {
      strip_quotes(v, sched_name, sizeof sched_name);
      p->sched = sched_name;
    } else if (!strcmp(k, "lr")) p->lr = strtod(v, NULL);
    else if (!strcmp(k, "num_epochs")) p->epochs = strtoll(v, NULL, 10);
    else if (!strcmp(k, "decay_epochs")) p->decay_epochs = strtod(v, NULL);
    else if (!strcmp(k, "decay_milestones")) {
      char *s = (char *)v, *end;
      p->n_milestones = 0;
      while (*s) {
        p->decay_milestones[p->n_milestones++] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
      }
    } else if (!strcmp(k, "cooldown_epochs")) p->cooldown_epochs = strtoll(v, NULL, 10);
    else if (!strcmp(k, "patience_epochs")) p->patience_epochs = strtoll(v, NULL, 10);
    else if (!strcmp(k, "decay_rate")) p->decay_rate = strtod(v, NULL);
    else if (!strcmp(k, "min_lr")) p->min_lr = strtod(v, NULL);
    else if (!strcmp(k, "warmup_lr")) p->warmup_lr = strtod(v, NULL);
    else if (!strcmp(k, "warmup_epochs")) p->warmup_epochs = strtoll(v, NULL, 10);
    else if (!strcmp(k, "warmup_prefix")) p->warmup_prefix = atoi(v) != 0;
    else if (!strcmp(k, "cycle_mul")) p->cycle_mul = strtod(v, NULL);
    else if (!strcmp(k, "cycle_decay")) p->cycle_decay = strtod(v, NULL);
    else if (!strcmp(k, "cycle_limit")) p->cycle_limit = strtoll(v, NULL, 10);
    else if (!strcmp(k, "k_decay")) p->k_decay = strtod(v, NULL);
    else if (!strcmp(k, "plateau_mode")) p->plateau_min = strstr(v, "min") != NULL;
    else if (!strcmp(k, "step_on_epochs")) p->on_updates = atoi(v) == 0;
    else if (!strcmp(k, "updates_per_epoch")) p->updates_per_epoch = strtoll(v, NULL, 10);
    else fail_msg("unknown golden key %s", k);
  }
}

static int close_enough(double got, double want) {
  return fabs(got - want) <= REL_TOL * fabs(want) + ABS_TOL;
}

static void test_golden(void **state) {
  (void)state;
  const char *data = getenv("CZOO_TEST_DATA");
  if (!data) fail_msg("CZOO_TEST_DATA is not set");
  char path[1024];
  snprintf(path, sizeof path, "%s/sched_golden.txt", data);
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  char line[4096], name[64] = "";
  cz_sched s;
  cz_sched_params p;
  int cases = 0, values = 0, bad = 0;
  double worst = 0;
  while (fgets(line, sizeof line, f)) {
    double want = 0, got = 0;
    long long t;
    char metric[64];
    if (line[0] == '#') continue;
    if (!strncmp(line, "case ", 5)) {
      sscanf(line + 5, "%63s", name);
      cases++;
      continue;
    }
    if (!strncmp(line, "p ", 2)) {
      parse_params(line + 2, &p);
      cz_err *e = cz_sched_init(&s, &p);
      if (e) fail_msg("%s: %s", name, cz_err_msg(e));
      continue;
    }
    if (line[0] == 'n') {
      long long n = strtoll(line + 2, NULL, 10);
      if (n != cz_sched_num_epochs(&s)) {
        print_error("%s: num_epochs %lld, timm %lld\n", name, (long long)cz_sched_num_epochs(&s), n);
        bad++;
      }
      continue;
    }
    if (line[0] == 'i') {
      want = strtod(line + 2, NULL);
      got = cz_sched_lr(&s);
    } else if (line[0] == 's') {
      if (sscanf(line + 2, "%lld %63s %lf", &t, metric, &want) != 3) fail_msg("bad line %s", line);
      double m = strtod(metric, NULL);
      cz_sched_step(&s, t, metric[0] == '-' ? NULL : &m);
      got = cz_sched_lr(&s);
    } else if (line[0] == 'u') {
      if (sscanf(line + 2, "%lld %lf", &t, &want) != 2) fail_msg("bad line %s", line);
      cz_sched_step_update(&s, t, NULL);
      got = cz_sched_lr(&s);
    } else {
      continue;
    }
    values++;
    double rel = want != 0 ? fabs(got - want) / fabs(want) : fabs(got);
    if (rel > worst) worst = rel;
    if (!close_enough(got, want)) {
      if (bad < 20) print_error("%s: %.*s -> czoo %.17g\n", name, (int)strcspn(line, "\n"), line, got);
      bad++;
    }
  }
  fclose(f);
  print_message("%d cases, %d lr values, worst relative difference %.3g\n", cases, values, worst);
  assert_true(cases >= 100);
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
