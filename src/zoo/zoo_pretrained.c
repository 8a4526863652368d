/* Finding and loading pretrained weights from local files (zoo_pretrained.h).
 * File names follow what each tool writes into its cache: ST's model zoo
 * (`<model>_224.pth.tar` / `.pt` in ~/.cache/model_weights), torchvision's
 * download URLs' basenames in torch hub's checkpoints folder, pytorchcv's
 * `<name>-<error>-<sha1>.pth` in ~/.torch/models, and timm's Hugging Face
 * repositories `timm/<name>.<tag>` holding `model.safetensors`. */
#include "zoo/zoo_pretrained.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graph/graph_dict.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "io/weights_file.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strbuf.h"

/* torchvision's weight files (the basenames of its download URLs). */
static const struct {
  const char *model, *file;
} kTorchvisionFiles[] = {
    {"mnasnet_d050_pt", "mnasnet0.5_top1_67.823-3ffadce67e.pth"},
    {"shufflenetv2_x050_pt", "shufflenetv2_x0.5-f707e7126e.pth"},
    {"shufflenetv2_x100_pt", "shufflenetv2_x1-5666bf0f80.pth"},
};

typedef struct {
  char **dirs, **pats; /* a place: directory + glob pattern inside it */
  int n, cap;
} places;

static void add_place(places *p, const char *dir, const char *pat) {
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 16;
    p->dirs = cz_xrealloc(p->dirs, (size_t)p->cap * sizeof *p->dirs);
    p->pats = cz_xrealloc(p->pats, (size_t)p->cap * sizeof *p->pats);
  }
  p->dirs[p->n] = cz_xstrdup(dir);
  p->pats[p->n++] = cz_xstrdup(pat);
}

static void free_places(places *p) {
  for (int i = 0; i < p->n; i++) free(p->dirs[i]), free(p->pats[i]);
  free(p->dirs);
  free(p->pats);
}

/* The file names a folder may hold for e (globs, most specific first). */
static void names_for(const cz_zoo_entry *e, places *p, const char *dir, bool caches_too) {
  char *s;
  static const char *const exts[] = {".pth.tar", ".pth", ".pt", ".safetensors"};
  for (int i = 0; i < 4; i++) {
    s = cz_asprintf("%s%s", e->name, exts[i]);
    add_place(p, dir, s);
    free(s);
  }
  if (!caches_too) return;
  if (strcmp(e->source, "st") == 0 || strcmp(e->name, "mobilenetv2_w035_pt") == 0) {
    s = cz_asprintf("%s_*.pth.tar", e->name), add_place(p, dir, s), free(s);
    s = cz_asprintf("%s_*.pt", e->name), add_place(p, dir, s), free(s);
  }
  for (size_t i = 0; i < sizeof kTorchvisionFiles / sizeof kTorchvisionFiles[0]; i++)
    if (strcmp(kTorchvisionFiles[i].model, e->name) == 0) add_place(p, dir, kTorchvisionFiles[i].file);
  if (strcmp(e->source, "pytorchcv") == 0 || strcmp(e->source, "timm") == 0) {
    s = cz_asprintf("%s-*.pth", e->reference), add_place(p, dir, s), free(s);
  }
  if (strcmp(e->source, "timm") == 0) {
    s = cz_asprintf("%s_*.pth", e->reference), add_place(p, dir, s), free(s);
    s = cz_asprintf("models--timm--%s.*/snapshots/*/model.safetensors", e->reference);
    add_place(p, dir, s), free(s);
    s = cz_asprintf("models--timm--%s/snapshots/*/model.safetensors", e->reference);
    add_place(p, dir, s), free(s);
  }
}

static char *home_path(const char *rel) {
  const char *h = getenv("HOME");
  return cz_asprintf("%s/%s", h && *h ? h : ".", rel);
}

/* Every cache folder, as each tool resolves it from its environment. */
static void cache_places(const cz_zoo_entry *e, places *p) {
  char *d = home_path(".cache/model_weights");
  names_for(e, p, d, true), free(d);
  const char *th = getenv("TORCH_HOME"), *xdg = getenv("XDG_CACHE_HOME");
  d = th && *th ? cz_asprintf("%s/hub/checkpoints", th)
      : xdg && *xdg ? cz_asprintf("%s/torch/hub/checkpoints", xdg)
                    : home_path(".cache/torch/hub/checkpoints");
  names_for(e, p, d, true), free(d);
  d = home_path(".torch/models");
  names_for(e, p, d, true), free(d);
  const char *hc = getenv("HF_HUB_CACHE"), *hh = getenv("HF_HOME");
  d = hc && *hc ? cz_xstrdup(hc)
      : hh && *hh ? cz_asprintf("%s/hub", hh)
                  : home_path(".cache/huggingface/hub");
  names_for(e, p, d, true), free(d);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* First regular file matching place i (glob sorts; the last match is the
 * newest snapshot or tag in byte order, which is as good as any). */
static char *match(const places *p, int i) {
  char *pat = cz_asprintf("%s/%s", p->dirs[i], p->pats[i]);
  glob_t gl;
  char *found = NULL;
  if (glob(pat, 0, NULL, &gl) == 0)
    for (size_t k = 0; k < gl.gl_pathc && !found; k++)
      if (is_file(gl.gl_pathv[k])) found = cz_xstrdup(gl.gl_pathv[k]);
  globfree(&gl);
  free(pat);
  return found;
}

cz_err *cz_zoo_find_weights(const cz_zoo_entry *e, const char *explicit_path, char **out) {
  *out = NULL;
  places p = {0};
  const char *env = getenv("CZOO_WEIGHTS");
  const char *firsts[2] = {explicit_path, env && *env ? env : NULL};
  for (int k = 0; k < 2; k++) {
    if (!firsts[k]) continue;
    if (is_file(firsts[k])) {
      *out = cz_xstrdup(firsts[k]);
      free_places(&p);
      return NULL;
    }
    if (is_dir(firsts[k])) names_for(e, &p, firsts[k], true);
    else if (k == 0) {
      free_places(&p);
      return cz_err_new(CZ_EXIT_USAGE,
                        "model.pretrained_path = '%s': no such file or folder (expected a "
                        "weights file for %s, or a folder holding one)",
                        explicit_path, e->name);
    }
  }
  cache_places(e, &p);
  for (int i = 0; i < p.n && !*out; i++) *out = match(&p, i);
  cz_err *err = NULL;
  if (!*out) {
    cz_strbuf sb;
    cz_sb_init(&sb);
    const char *last = NULL;
    for (int i = 0; i < p.n; i++) {
      if (!last || strcmp(last, p.dirs[i]) != 0) cz_sb_printf(&sb, "%s%s/{", last ? "}; " : "", p.dirs[i]);
      else cz_sb_append(&sb, ",");
      cz_sb_append(&sb, p.pats[i]);
      last = p.dirs[i];
    }
    if (last) cz_sb_append(&sb, "}");
    err = cz_err_new(CZ_EXIT_USAGE,
                     "model.pretrained: True: no weights file for %s (%s's %s) on this machine "
                     "(czoo never downloads); searched %s; put the file there or name it with "
                     "model.pretrained_path, or set model.pretrained: False",
                     e->name, e->source, e->reference, sb.data);
    cz_sb_free(&sb);
  }
  free_places(&p);
  return err;
}

cz_err *cz_zoo_load_weights(cz_graph *g, const char *path) {
  cz_tensor_dict *d = NULL;
  cz_err *err = cz_weights_read(path, &d);
  if (err) return err;
  cz_load_report r = {0};
  err = cz_graph_load_dict(g, d, false, path, &r);
  cz_tdict_free(d);
  if (err) return err;
  if (r.loaded == 0)
    err = cz_err_new(CZ_EXIT_RUNTIME,
                     "%s: no tensor fits model %s (by name and shape); skipped %d: %s", path,
                     g->name, r.skipped, r.skipped_names);
  else {
    cz_info("weights %s: loaded %d/%d tensors, skipped %d%s%s", path, r.loaded, r.total,
            r.skipped, r.skipped ? ": " : "", r.skipped_names);
    if (r.missing) cz_info("weights %s: %d model tensor(s) keep their initial values: %s", path,
                           r.missing, r.missing_names);
  }
  cz_load_report_free(&r);
  return err;
}

cz_err *cz_zoo_apply_config_weights(cz_graph *g, const cz_zoo_entry *e, const cz_config *cfg) {
  if (cfg->model.model_path.set) return cz_zoo_load_weights(g, cfg->model.model_path.v);
  if (!cfg->model.pretrained.set || !cfg->model.pretrained.v) return NULL;
  char *path = NULL;
  cz_err *err = cz_zoo_find_weights(
      e, cfg->model.pretrained_path.set ? cfg->model.pretrained_path.v : NULL, &path);
  if (!err) err = cz_zoo_load_weights(g, path);
  free(path);
  return err;
}

/* The `_metadata` torch's load_state_dict hands each module: only the root
 * module's version matters to the zoo's references (torchvision's MNASNet
 * refuses a state_dict without version 2); every other module reads a
 * missing entry as its current layout. */
static cz_pyval *state_dict_metadata(const char *model) {
  int version = strcmp(model, "mnasnet_d050_pt") == 0 ? 2 : 1;
  cz_pyval *root = cz_py_dict(false), *meta = cz_py_dict(true), *attrs = cz_py_dict(false);
  cz_py_set_str(root, "version", cz_py_int(version));
  cz_py_set_str(meta, "", root);
  cz_py_set_str(attrs, "_metadata", meta);
  return attrs;
}

cz_err *cz_zoo_save_weights(const cz_graph *g, const char *path) {
  cz_tensor_dict *d = cz_graph_to_dict(g);
  size_t n = strlen(path), k = strlen(".safetensors");
  cz_err *err;
  if (n >= k && strcmp(path + n - k, ".safetensors") == 0) {
    err = cz_safetensors_write(path, d);
  } else {
    cz_pyval *root = cz_py_from_tdict(d);
    cz_py_set_attrs(root, state_dict_metadata(g->name ? g->name : ""));
    err = cz_torch_save(path, root);
    cz_py_free(root);
  }
  cz_tdict_free(d);
  return err;
}
