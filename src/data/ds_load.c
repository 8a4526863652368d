/* The dataset section turned into splits: which layout the dataset_name
 * implies, where each split comes from, and where the class names do. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "util/mem.h"

static const char *const kFashionNames[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                            "Ankle boot"};
static const char *const kDigitNames[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char **dup_names(const char *const *src, size_t n) {
  char **v = cz_xmalloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = cz_xstrdup(src[i]);
  return v;
}

/* Scans one folder split; the first folder sets the classes, and every
 * later one must have the same class folders or its labels would mean
 * other classes. */
static cz_err *scan_into(const char *key, const char *path, cz_ds_set *s, const char **first,
                         cz_ds_split *out) {
  cz_ds_folder f;
  cz_err *e = cz_ds_folder_scan(path, &f);
  if (e) return cz_err_prefix(e, "%s", key);
  if (!s->class_names) {
    s->class_names = f.classes;
    s->num_classes = f.num_classes;
    f.classes = NULL;
    f.num_classes = 0;
    *first = path;
  } else {
    size_t i = 0;
    while (i < f.num_classes && i < s->num_classes && !strcmp(f.classes[i], s->class_names[i]))
      i++;
    if (i < f.num_classes || i < s->num_classes) {
      e = cz_err_new(CZ_EXIT_USAGE,
                     "%s: folder %s has %zu classes, %s has %zu; they differ at class %zu "
                     "(\"%s\" vs \"%s\"): expected the same class folders",
                     key, path, f.num_classes, *first, s->num_classes, i,
                     i < f.num_classes ? f.classes[i] : "(none)",
                     i < s->num_classes ? s->class_names[i] : "(none)");
      cz_ds_folder_free(&f);
      return e;
    }
  }
  *out = f.samples;
  f.samples = (cz_ds_split){0};
  cz_ds_folder_free(&f);
  return NULL;
}

/* <data_dir>/imagenet/<name>, or when the default name is absent, the
 * other usual spellings of it. Returns NULL when none exists. */
static char *imagenet_dir(const char *root, const char *name, const char *dflt,
                          const char *const *alts) {
  char *p = cz_asprintf("%s/%s", root, name);
  if (is_dir(p) || strcmp(name, dflt)) return p;
  free(p);
  for (; *alts; alts++) {
    p = cz_asprintf("%s/%s", root, *alts);
    if (is_dir(p)) return p;
    free(p);
  }
  return NULL;
}

static cz_err *load_imagenet(const cz_cfg_dataset *d, cz_ds_set *s, const char **first) {
  if (!d->data_dir.set)
    return cz_err_new(CZ_EXIT_USAGE, "dataset.data_dir: not set: expected the folder that "
                      "holds imagenet/");
  char *root = cz_asprintf("%s/imagenet", d->data_dir.v);
  if (!is_dir(root)) {
    cz_err *e = cz_err_new(CZ_EXIT_USAGE, "dataset.data_dir = %s: no imagenet folder in it: "
                           "expected %s", d->data_dir.v, root);
    free(root);
    return e;
  }
  static const char *const train_alts[] = {"training", NULL};
  static const char *const val_alts[] = {"validation", "valid", NULL};
  const char *tn = d->train_split.set ? d->train_split.v : "train";
  const char *vn = d->val_split.set ? d->val_split.v : "val";
  char *tp = imagenet_dir(root, tn, "train", train_alts);
  char *vp = imagenet_dir(root, vn, "val", val_alts);
  cz_err *e = NULL;
  if (tp && is_dir(tp)) e = scan_into("dataset.train_split", tp, s, first, &s->train);
  if (!e && vp && is_dir(vp)) e = scan_into("dataset.val_split", vp, s, first, &s->val);
  if (!e && !s->class_names)
    e = cz_err_new(CZ_EXIT_USAGE, "dataset.data_dir = %s: neither %s/%s nor %s/%s exists: "
                   "expected the training or validation folder there", d->data_dir.v, root, tn,
                   root, vn);
  free(tp);
  free(vp);
  free(root);
  return e;
}

/* Labels become samples (index i, label labels[i]). */
static cz_err *idx_split(const char *lpath, const cz_ds_images *im, const uint8_t *labels,
                         size_t ncls, cz_ds_split *out) {
  for (size_t i = 0; i < im->n; i++)
    if (labels[i] >= ncls)
      return cz_err_new(CZ_EXIT_RUNTIME, "IDX file %s: label %u at item %zu: expected 0 "
                        "to %zu", lpath, labels[i], i, ncls - 1);
  out->s = cz_xmalloc(im->n * sizeof *out->s);
  out->n = im->n;
  out->images = im;
  for (size_t i = 0; i < im->n; i++) out->s[i] = (cz_ds_sample){NULL, (uint32_t)i, labels[i]};
  return NULL;
}

static cz_err *load_idx_part(const char *dir, const char *sub, const char *prefix,
                             size_t ncls, cz_ds_images *im, cz_ds_split *out) {
  char *ip = NULL, *lp = NULL, *iname = cz_asprintf("%s-images-idx3-ubyte", prefix),
       *lname = cz_asprintf("%s-labels-idx1-ubyte", prefix);
  uint8_t *labels = NULL;
  cz_err *e = cz_ds_idx_find(dir, sub, iname, &ip);
  if (!e) e = cz_ds_idx_find(dir, sub, lname, &lp);
  if (!e) e = cz_ds_idx_read(ip, lp, im, &labels);
  if (!e) e = idx_split(lp, im, labels, ncls, out);
  free(labels);
  free(ip);
  free(lp);
  free(iname);
  free(lname);
  return e;
}

/* MNIST-like: training from train-*, validation from t10k-* (the sets
 * torchvision gives for train=True and train=False). */
static cz_err *load_idx(const cz_cfg_dataset *d, cz_ds_set *s, int fashion) {
  if (!d->data_dir.set)
    return cz_err_new(CZ_EXIT_USAGE, "dataset.data_dir: not set: expected the folder with "
                      "the IDX files");
  s->class_names = dup_names(fashion ? kFashionNames : kDigitNames, 10);
  s->num_classes = 10;
  const char *sub = fashion ? "FashionMNIST" : "MNIST";
  cz_err *e = load_idx_part(d->data_dir.v, sub, "train", 10, &s->idx_train, &s->train);
  if (!e) e = load_idx_part(d->data_dir.v, sub, "t10k", 10, &s->idx_test, &s->val);
  return e;
}

/* Given names (config list, else file) replace the data's, with the same count. */
static cz_err *apply_names(const cz_cfg_dataset *d, cz_ds_set *s) {
  char **names = NULL;
  size_t n = 0;
  const char *src = "dataset.class_names";
  if (d->class_names.set && d->class_names.n > 0) {
    names = cz_xmalloc(d->class_names.n * sizeof *names);
    for (n = 0; n < d->class_names.n; n++) names[n] = cz_xstrdup(d->class_names.v[n]);
  } else if (d->classes_file_path.set) {
    cz_err *e = cz_ds_read_class_file(d->classes_file_path.v, &names, &n);
    if (e) return e;
    src = "dataset.classes_file_path";
  } else {
    return NULL;
  }
  if (s->class_names && n != s->num_classes) {
    cz_err *e = cz_err_new(CZ_EXIT_USAGE, "%s: %zu class names, but the data has %zu "
                           "classes: expected as many names as classes", src, n,
                           s->num_classes);
    cz_ds_free_names(names, n);
    return e;
  }
  cz_ds_free_names(s->class_names, s->num_classes);
  s->class_names = names;
  s->num_classes = n;
  return NULL;
}

cz_err *cz_ds_load(const cz_cfg_dataset *d, cz_ds_set *s) {
  memset(s, 0, sizeof *s);
  const char *first = NULL;
  cz_err *e = NULL;
  int kind = d->dataset_name.set ? d->dataset_name.v : CZ_DS_CUSTOM;
  switch (kind) {
  case CZ_DS_FASHION_MNIST: e = load_idx(d, s, 1); break;
  case CZ_DS_MNIST: e = load_idx(d, s, 0); break;
  case CZ_DS_IMAGENET: e = load_imagenet(d, s, &first); break;
  case CZ_DS_FLOWERS102:
  case CZ_DS_FOOD101:
    if (!d->data_dir.set)
      e = cz_err_new(CZ_EXIT_USAGE, "dataset.data_dir: not set: expected the folder that "
                     "holds %s", kind == CZ_DS_FLOWERS102 ? "flowers-102/" : "food-101/");
    else if (kind == CZ_DS_FLOWERS102) e = cz_ds_load_flowers(d->data_dir.v, s);
    else e = cz_ds_load_food(d->data_dir.v, s);
    break;
  case CZ_DS_CUSTOM:
    if (d->training_path.set)
      e = scan_into("dataset.training_path", d->training_path.v, s, &first, &s->train);
    if (!e && d->validation_path.set)
      e = scan_into("dataset.validation_path", d->validation_path.v, s, &first, &s->val);
    break;
  default:
    e = cz_err_new(CZ_EXIT_NOTIMPL, "dataset.dataset_name = %d: unknown dataset kind", kind);
  }
  cz_ds_split test = {0}, quant = {0};
  int own_test = 0, own_quant = 0;
  if (!e && d->test_path.set && kind != CZ_DS_FASHION_MNIST && kind != CZ_DS_MNIST) {
    e = scan_into("dataset.test_path", d->test_path.v, s, &first, &test);
    own_test = 1;
  }
  if (!e && d->quantization_path.set && kind != CZ_DS_FASHION_MNIST && kind != CZ_DS_MNIST) {
    e = scan_into("dataset.quantization_path", d->quantization_path.v, s, &first, &quant);
    own_quant = 1;
  }
  uint64_t seed = d->seed.set ? (uint64_t)d->seed.v : 0;
  if (!e && s->train.n && !s->val.n) {
    double f = d->validation_split.set ? d->validation_split.v : 0.2;
    e = cz_ds_carve(&s->train, f, seed, CZ_DS_PURPOSE_VAL, "dataset.validation_split",
                    &s->val);
  }
  if (!e) {
    /* A test_path replaces the layout's own test split (Flowers-102,
     * Food-101); without either, the validation split doubles as test. */
    if (own_test) cz_ds_split_free(&s->test), s->test = test, own_test = 0;
    else if (!s->test.n && s->val.n) cz_ds_split_copy(&s->val, &s->test);
    if (own_quant) s->quant = quant, own_quant = 0;
    else if (s->train.n)
      cz_ds_subset(&s->train, d->quantization_split.set ? d->quantization_split.v : 1.0, seed,
                   CZ_DS_PURPOSE_QUANT, &s->quant);
  }
  if (!e) e = apply_names(d, s);
  if (!e && !s->class_names)
    e = cz_err_new(CZ_EXIT_USAGE, "dataset: no data and no class names: expected "
                   "dataset.training_path, dataset.validation_path, dataset.test_path, "
                   "dataset.data_dir or dataset.class_names");
  if (!e && d->num_classes.set && (size_t)d->num_classes.v != s->num_classes)
    e = cz_err_new(CZ_EXIT_USAGE, "dataset.num_classes = %lld, but the dataset has %zu "
                   "classes: expected them to agree", (long long)d->num_classes.v,
                   s->num_classes);
  if (own_test) cz_ds_split_free(&test);
  if (own_quant) cz_ds_split_free(&quant);
  if (e) {
    cz_ds_set_free(s);
    return e;
  }
  return NULL;
}

void cz_ds_set_free(cz_ds_set *s) {
  cz_ds_free_names(s->class_names, s->num_classes);
  cz_ds_split_free(&s->train);
  cz_ds_split_free(&s->val);
  cz_ds_split_free(&s->test);
  cz_ds_split_free(&s->quant);
  free(s->idx_train.pixels);
  free(s->idx_test.pixels);
  memset(s, 0, sizeof *s);
}
