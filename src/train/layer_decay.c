/* timm's layer numbering for layer-wise lr decay (layer_decay.h):
 * _manipulate.group_with_matcher with reverse=True. Each parameter name
 * gets an ordinal tuple from the first rule whose regex matches at its
 * start: (group, captured numbers..., suffix); unmatched names (inf,).
 * The distinct tuples, sorted (Python's tuple order), are numbered in
 * order, except that a tuple ending in 99999 (MATCH_PREV_GROUP) keeps the
 * previous number. */
#include "train/layer_decay.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define KEY_MAX 6
#define MATCH_PREV 99999.0

typedef struct {
  double v[KEY_MAX];
  int n;
} ordinal;

static int cmp_ordinal(const void *pa, const void *pb) {
  const ordinal *a = pa, *b = pb;
  for (int i = 0; i < a->n && i < b->n; i++)
    if (a->v[i] != b->v[i]) return a->v[i] < b->v[i] ? -1 : 1;
  return (a->n > b->n) - (a->n < b->n);
}

static ordinal name_ordinal(const cz_zoo_group_rule *rules, const regex_t *re, const char *name) {
  ordinal k = {{INFINITY}, 1};
  for (int r = 0; rules && rules[r].regex; r++) {
    regmatch_t m[KEY_MAX];
    if (regexec(&re[r], name, KEY_MAX - 2, m, 0) != 0 || m[0].rm_so != 0) continue;
    k.n = 0;
    k.v[k.n++] = rules[r].group;
    for (int g = 1; g < KEY_MAX - 2 && m[g].rm_so >= 0; g++)
      k.v[k.n++] = strtod(name + m[g].rm_so, NULL);
    if (rules[r].suffix >= 0) k.v[k.n++] = rules[r].suffix;
    break;
  }
  return k;
}

cz_err *cz_layer_decay_map(const cz_zoo_group_rule *rules, const cz_train_param *params, int n,
                           double layer_decay, int *layer, double *scale, int *n_layers) {
  int n_rules = 0;
  while (rules && rules[n_rules].regex) n_rules++;
  regex_t *re = cz_xcalloc((size_t)(n_rules ? n_rules : 1), sizeof *re);
  for (int r = 0; r < n_rules; r++)
    if (regcomp(&re[r], rules[r].regex, REG_EXTENDED) != 0) {
      for (int q = 0; q < r; q++) regfree(&re[q]);
      free(re);
      return cz_err_new(CZ_EXIT_RUNTIME, "layer_decay: bad group rule '%s'", rules[r].regex);
    }
  ordinal *key = cz_xcalloc((size_t)(n ? n : 1), sizeof *key);
  ordinal *sorted = cz_xcalloc((size_t)(n ? n : 1), sizeof *sorted);
  for (int i = 0; i < n; i++) sorted[i] = key[i] = name_ordinal(rules, re, params[i].name);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_ordinal);
  int *lid = cz_xcalloc((size_t)(n ? n : 1), sizeof *lid), u = 0, id = -1;
  for (int i = 0; i < n; i++) { /* distinct tuples in order, and their layer */
    if (i > 0 && cmp_ordinal(&sorted[i], &sorted[i - 1]) == 0) continue;
    if (id < 0 || sorted[i].v[sorted[i].n - 1] != MATCH_PREV) id++;
    sorted[u] = sorted[i];
    lid[u++] = id;
  }
  int max_layer = 0;
  for (int i = 0; i < n; i++) {
    const ordinal *f = bsearch(&key[i], sorted, (size_t)u, sizeof *sorted, cmp_ordinal);
    layer[i] = lid[f - sorted];
    if (layer[i] > max_layer) max_layer = layer[i];
  }
  for (int i = 0; i < n; i++)
    scale[i] = fmax(0.0, pow(layer_decay, (double)(max_layer - layer[i])));
  *n_layers = max_layer + 1;
  for (int r = 0; r < n_rules; r++) regfree(&re[r]);
  free(re);
  free(key);
  free(sorted);
  free(lid);
  return NULL;
}
