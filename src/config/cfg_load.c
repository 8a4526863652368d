/* Runs the config pipeline and prints resolved configs. */
#include "config/cfg_load.h"

#include <stdlib.h>
#include <string.h>

#include "config/cfg_bind.h"
#include "config/cfg_interp.h"
#include "config/cfg_override.h"
#include "config/cfg_schema.h"
#include "config/cfg_validate.h"
#include "config/cfg_value.h"
#include "util/mem.h"

/* Defaults that interpolate (hydra.run.dir's ${now:...}) go into the tree
 * when the user gave none, so they resolve like the user's own values. */
static void add_interpolated_defaults(cz_ynode *root) {
  for (size_t i = 0; i < cz_n_keys; i++) {
    const cz_key *k = &cz_keys[i];
    if (!k->def || !strstr(k->def, "${")) continue;
    const char *p;
    cz_ynode *map = cz_ymap_make_path(root, k->path, "built-in default", &p);
    cz_yentry *leaf = map ? cz_ymap_find(map, p) : NULL;
    if (map && (!leaf || cz_ynode_is_null(leaf->val)))
      cz_ymap_set(map, p, cz_ynode_new_scalar(k->def, false, "built-in default"));
  }
}

cz_err *cz_config_load(const char *file, char *const *overrides, size_t n_overrides,
                       time_t now, cz_loaded_config *out) {
  memset(out, 0, sizeof *out);
  cz_ynode *root;
  cz_err *err = cz_yaml_load_file(file, &root);
  if (err) return err;
  for (size_t i = 0; i < n_overrides && !err; i++) err = cz_override_apply(root, overrides[i]);
  cz_ynode *resolved = NULL;
  if (!err) {
    resolved = cz_ynode_clone(root);
    add_interpolated_defaults(resolved);
    err = cz_interpolate(resolved, now);
  }
  if (!err) err = cz_config_bind(resolved, &out->cfg);
  if (!err) err = cz_config_validate(&out->cfg, resolved, file);
  cz_ynode_free(resolved);
  if (err) {
    cz_ynode_free(root);
    cz_config_free(&out->cfg);
    memset(out, 0, sizeof *out);
    return err;
  }
  out->composed = root;
  return NULL;
}

void cz_loaded_config_free(cz_loaded_config *lc) {
  cz_config_free(&lc->cfg);
  cz_ynode_free(lc->composed);
  memset(lc, 0, sizeof *lc);
}

char *cz_config_to_yaml(const cz_config *cfg) {
  cz_ynode *root = cz_ynode_new_map("");
  for (size_t i = 0; i < cz_n_keys; i++) {
    const cz_key *k = &cz_keys[i];
    const char *leaf;
    cz_ynode *map = cz_ymap_make_path(root, k->path, "", &leaf);
    cz_ymap_set(map, leaf, cz_value_to_node(k, (const char *)cfg + k->off));
  }
  char *text = NULL;
  cz_err *err = cz_yaml_write(root, &text);
  cz_ynode_free(root);
  if (err) { /* only on an emitter bug: the tree is built here */
    text = cz_xstrdup(cz_err_msg(err));
    cz_err_free(err);
  }
  return text;
}
