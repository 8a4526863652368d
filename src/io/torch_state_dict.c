/* Picking the state_dict out of a loaded checkpoint (torch_file.h), as the
 * tool we replace does in common/model_utils/torch_utils.py. */
#include <stdlib.h>
#include <string.h>

#include "io/torch_file.h"
#include "util/mem.h"
#include "util/strbuf.h"

/* steal: move each unshared tensor's data out of the tree (which the
 * caller then only frees) instead of copying it. */
static cz_err *to_tdict(const cz_pyval *d, const char *path, const char *where, bool steal,
                        cz_tensor_dict **out) {
  cz_tensor_dict *td = cz_tdict_new();
  for (int i = 0; i < d->dict.n; i++) {
    const cz_pyval *k = d->dict.keys[i], *v = d->dict.vals[i];
    if (k->kind != CZ_PY_STR || strlen(k->str.s) != k->str.len) {
      cz_tdict_free(td);
      return cz_err_new(CZ_EXIT_RUNTIME, "%s: %s has a key that is not a name (a %s)", path, where,
                        cz_py_kind_name(k->kind));
    }
    if (v->kind != CZ_PY_TENSOR) {
      cz_tdict_free(td);
      return cz_err_new(CZ_EXIT_RUNTIME, "%s: %s: '%.200s' is of type %s, not a tensor", path, where, k->str.s,
                        cz_py_kind_name(v->kind));
    }
    cz_err *e;
    if (steal && v->refs == 1 && v->tensor.data) {
      cz_pyval *mv = (cz_pyval *)v;
      e = cz_tdict_add_owned(td, k->str.s, v->tensor.dtype, v->tensor.shape, mv->tensor.data);
      mv->tensor.data = NULL;
    } else {
      e = cz_tdict_add(td, k->str.s, v->tensor.dtype, v->tensor.shape, v->tensor.data);
    }
    if (e) {
      cz_tdict_free(td);
      return cz_err_prefix(e, "%s: %s", path, where);
    }
  }
  /* DataParallel / DistributedDataParallel save every name under "module.". */
  cz_tdict_strip_prefix(td, "module.");
  *out = td;
  return NULL;
}

static void list_keys(const cz_pyval *d, cz_strbuf *sb) {
  for (int i = 0; i < d->dict.n && i < 10; i++) {
    const cz_pyval *k = d->dict.keys[i];
    if (i) cz_sb_append(sb, ", ");
    if (k->kind == CZ_PY_STR)
      cz_sb_append_oneline(sb, k->str.s, 40);
    else
      cz_sb_printf(sb, "<%s>", cz_py_kind_name(k->kind));
  }
  if (d->dict.n > 10) cz_sb_printf(sb, ", ... (%d keys)", d->dict.n);
}

static cz_err *pick_dict(const cz_pyval *root, const char *path, cz_sd_pick pick, bool steal,
                         cz_tensor_dict **out) {
  *out = NULL;
  if (root->kind != CZ_PY_DICT)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: holds a %s, expected a state_dict or a checkpoint dict", path,
                      cz_py_kind_name(root->kind));
  const char *key = NULL;
  if (pick == CZ_SD_EMA) {
    key = "state_dict_ema";
  } else if (cz_py_get(root, "state_dict")) {
    key = "state_dict";
  } else if (cz_py_get(root, "model")) {
    key = "model";
  }
  if (!key) {
    for (int i = 0; i < root->dict.n; i++)
      if (root->dict.vals[i]->kind != CZ_PY_TENSOR) {
        cz_strbuf sb;
        cz_sb_init(&sb);
        list_keys(root, &sb);
        cz_err *e = cz_err_new(CZ_EXIT_RUNTIME,
                               "%s: no state_dict: expected a dict of tensors or a checkpoint with "
                               "'state_dict' or 'model' (it has: %s)", path, sb.data);
        cz_sb_free(&sb);
        return e;
      }
    return to_tdict(root, path, "the state_dict", steal, out);
  }
  const cz_pyval *sd = cz_py_get(root, key);
  if (!sd || sd->kind != CZ_PY_DICT) {
    cz_strbuf sb;
    cz_sb_init(&sb);
    list_keys(root, &sb);
    cz_err *e = sd ? cz_err_new(CZ_EXIT_RUNTIME, "%s: checkpoint entry '%s' is a %s, expected a state_dict", path,
                                key, cz_py_kind_name(sd->kind))
                   : cz_err_new(CZ_EXIT_RUNTIME, "%s: checkpoint has no '%s' (it has: %s)", path, key, sb.data);
    cz_sb_free(&sb);
    return e;
  }
  char *where = cz_asprintf("checkpoint entry '%s'", key);
  cz_err *e = to_tdict(sd, path, where, steal, out);
  free(where);
  return e;
}

cz_err *cz_torch_state_dict_pick(const cz_pyval *root, const char *path, cz_sd_pick pick,
                                 cz_tensor_dict **out) {
  return pick_dict(root, path, pick, false, out);
}

cz_err *cz_torch_state_dict(const cz_pyval *root, const char *path, cz_tensor_dict **out) {
  return pick_dict(root, path, CZ_SD_DEFAULT, false, out);
}

cz_err *cz_torch_state_dict_take(cz_pyval *root, const char *path, cz_tensor_dict **out) {
  cz_err *e = pick_dict(root, path, CZ_SD_DEFAULT, true, out);
  cz_py_free(root);
  return e;
}
