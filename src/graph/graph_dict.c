/* Weights between a graph and a state_dict (graph_dict.h). */
#include "graph/graph_dict.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/strbuf.h"

#define NBT ".num_batches_tracked"
#define NAMES_MAX 12 /* names listed in one message */

void cz_load_report_free(cz_load_report *r) {
  if (!r) return;
  free(r->skipped_names);
  free(r->missing_names);
  r->skipped_names = r->missing_names = NULL;
}

static bool is_weight(const cz_value *v) { return v->kind == CZ_V_PARAM || v->kind == CZ_V_BUFFER; }

/* "x.num_batches_tracked" whose "x.running_mean" is a graph buffer. */
static bool is_bn_counter(const cz_graph *g, const char *name) {
  size_t n = strlen(name), k = strlen(NBT);
  if (n <= k || strcmp(name + n - k, NBT) != 0) return false;
  char *rm = cz_asprintf("%.*s.running_mean", (int)(n - k), name);
  int id = cz_graph_find_value(g, rm);
  free(rm);
  return id >= 0 && g->values[id].kind == CZ_V_BUFFER;
}

/* Appends "name" + detail to a comma list of at most NAMES_MAX names. */
static void list_add(cz_strbuf *sb, int *count, const char *name, const char *detail) {
  if (*count < NAMES_MAX) {
    if (*count) cz_sb_append(sb, ", ");
    cz_sb_append(sb, name);
    cz_sb_append(sb, detail);
  } else if (*count == NAMES_MAX) {
    cz_sb_append(sb, ", ...");
  }
  (*count)++;
}

cz_err *cz_graph_load_dict(cz_graph *g, const cz_tensor_dict *d, bool strict, const char *what,
                           cz_load_report *rep) {
  cz_load_report r = {0};
  cz_strbuf sk, mi;
  cz_sb_init(&sk);
  cz_sb_init(&mi);
  bool *used = cz_xcalloc((size_t)d->n + 1, sizeof *used);
  int *src = cz_xmalloc((size_t)g->n_values * sizeof *src);
  cz_err *err = NULL;
  for (int vi = 0; vi < g->n_values; vi++) {
    src[vi] = -1;
    const cz_value *v = &g->values[vi];
    if (!is_weight(v)) continue;
    r.total++;
    for (int i = 0; i < d->n; i++) {
      if (strcmp(d->t[i].name, v->name) != 0) continue;
      used[i] = true;
      char a[CZ_SHAPE_STR_MAX], b[CZ_SHAPE_STR_MAX];
      if (!cz_shape_eq(&d->t[i].shape, &v->shape)) {
        cz_shape_str(&d->t[i].shape, a, sizeof a);
        cz_shape_str(&v->shape, b, sizeof b);
        char *detail = cz_asprintf(" %s (the model has %s)", a, b);
        list_add(&sk, &r.skipped, v->name, detail);
        free(detail);
      } else if (d->t[i].dtype != CZ_F32) {
        err = cz_err_new(CZ_EXIT_RUNTIME, "%s: tensor '%s' is %s, expected float32", what,
                         v->name, cz_dtype_name(d->t[i].dtype));
      } else {
        src[vi] = i;
      }
      break;
    }
    if (src[vi] < 0) list_add(&mi, &r.missing, v->name, "");
    else r.loaded++;
    if (err) break;
  }
  for (int i = 0; i < d->n && !err; i++)
    if (!used[i] && !is_bn_counter(g, d->t[i].name))
      list_add(&sk, &r.skipped, d->t[i].name, " (not in the model)");
  if (!err && strict && (r.skipped || r.missing))
    err = cz_err_new(CZ_EXIT_RUNTIME,
                     "%s does not fit model %s: %d tensor(s) skipped [%s], %d missing [%s]", what,
                     g->name ? g->name : "?", r.skipped, sk.data, r.missing, mi.data);
  if (!err)
    for (int vi = 0; vi < g->n_values; vi++)
      if (src[vi] >= 0)
        memcpy(g->values[vi].data, d->t[src[vi]].data,
               (size_t)cz_shape_numel(&g->values[vi].shape) * sizeof(float));
  free(used);
  free(src);
  r.skipped_names = cz_sb_take(&sk);
  r.missing_names = cz_sb_take(&mi);
  cz_sb_free(&sk);
  cz_sb_free(&mi);
  if (rep && !err) *rep = r;
  else cz_load_report_free(&r);
  return err;
}

cz_tensor_dict *cz_graph_to_dict(const cz_graph *g) {
  cz_tensor_dict *d = cz_tdict_new();
  for (int vi = 0; vi < g->n_values; vi++) {
    const cz_value *v = &g->values[vi];
    if (!is_weight(v)) continue;
    cz_err_free(cz_tdict_add(d, v->name, CZ_F32, v->shape, v->data));
    size_t n = strlen(v->name), k = strlen(".running_var");
    if (v->kind == CZ_V_BUFFER && n > k && strcmp(v->name + n - k, ".running_var") == 0) {
      char *c = cz_asprintf("%.*s" NBT, (int)(n - k), v->name);
      int64_t zero = 0;
      cz_err_free(cz_tdict_add(d, c, CZ_I64, (cz_shape){0}, &zero));
      free(c);
    }
  }
  return d;
}
