/* Dataset listing: which samples make up each split (training, validation,
 * test, quantization) and what the classes are called. Nothing is decoded. */
#ifndef CZ_DATA_DS_H
#define CZ_DATA_DS_H

#include <stddef.h>
#include <stdint.h>

#include "config/cfg.h"
#include "util/err.h"

/* Grayscale images read from IDX files, all h x w, stored one after the
 * other (image i at pixels + i*h*w). */
typedef struct {
  uint8_t *pixels; /* owned */
  size_t n;
  uint32_t h, w;
} cz_ds_images;

/* One sample: a file (folder layouts) or an index into a cz_ds_images. */
typedef struct {
  char *path;     /* owned; NULL for IDX samples */
  uint32_t index; /* IDX: image number in the split's images */
  int32_t label;  /* class number, 0..num_classes-1 */
} cz_ds_sample;

/* A list of samples. `images` is borrowed from the cz_ds_set (IDX only). */
typedef struct {
  cz_ds_sample *s; /* owned */
  size_t n;
  const cz_ds_images *images;
} cz_ds_split;

/* A folder scanned ImageFolder-style: class names (sorted) and samples. */
typedef struct {
  char **classes; /* owned */
  size_t num_classes;
  cz_ds_split samples;
} cz_ds_folder;

/* Everything a run needs from the dataset section. A split with n == 0 and
 * absent is simply not available (e.g. no training data in evaluation). */
typedef struct {
  char **class_names; /* owned */
  size_t num_classes;
  cz_ds_split train, val, test, quant;
  cz_ds_images idx_train, idx_test; /* owned pixel arrays (IDX layouts) */
} cz_ds_set;

/* --- IDX (MNIST, Fashion-MNIST) --- */

/* Reads an idx3 image file and its idx1 label file, gzipped or plain
 * (zlib reads both). Checks magic numbers, dimensions, matching counts and
 * truncation. On success *labels (owned, n bytes) and *images are set. */
cz_err *cz_ds_idx_read(const char *images_path, const char *labels_path,
                       cz_ds_images *images, uint8_t **labels);
/* Finds "<prefix>-images-idx3-ubyte[.gz]" ("train" or "t10k") in dir (or in
 * dir/<sub>/raw, torchvision's layout, when sub is non-NULL); returns an
 * owned path or an error naming what was looked for. */
cz_err *cz_ds_idx_find(const char *dir, const char *sub, const char *name, char **path);

/* --- folders (ImageFolder) --- */

/* Scans root: one class per subfolder; see ds_folder.c for the rules. */
cz_err *cz_ds_folder_scan(const char *root, cz_ds_folder *out);
void cz_ds_folder_free(cz_ds_folder *f);
/* True for the image file names the folder scan takes. */
int cz_ds_is_image_name(const char *name);

/* --- class names --- */

/* One class name per line, order kept; CR before LF dropped; trailing
 * blank lines ignored; a blank line before the last name is an error. */
cz_err *cz_ds_read_class_file(const char *path, char ***names, size_t *n);

/* --- splits --- */

/* Moves floor(frac * n) samples of *from, chosen by a seeded shuffle, into
 * *taken; both keep the original listing order. See ds_split.c. */
cz_err *cz_ds_carve(cz_ds_split *from, double frac, uint64_t seed, uint64_t purpose,
                    const char *what, cz_ds_split *taken);
/* A seeded subset of floor(frac * n) samples (at least 1) of src, listing
 * order kept; src is unchanged. */
void cz_ds_subset(const cz_ds_split *src, double frac, uint64_t seed, uint64_t purpose,
                  cz_ds_split *out);
void cz_ds_split_copy(const cz_ds_split *src, cz_ds_split *dst);
void cz_ds_split_free(cz_ds_split *s);

/* Stream purposes, so the validation and quantization draws never share
 * random numbers. */
enum { CZ_DS_PURPOSE_VAL = 0x5641, CZ_DS_PURPOSE_QUANT = 0x5155 };

/* --- Flowers-102 and Food-101 (see ds_flowers.c, ds_food.c) --- */

/* Lists data_dir/flowers-102: train/val/test from setid.mat, labels from
 * imagelabels.mat, class names "1".."102". */
cz_err *cz_ds_load_flowers(const char *data_dir, cz_ds_set *s);
/* Lists data_dir/food-101: train and test from meta/train.txt and
 * meta/test.txt, classes in meta/classes.txt order. */
cz_err *cz_ds_load_food(const char *data_dir, cz_ds_set *s);
/* An error naming the first few missing sample files of sp and how many
 * there are; `what` starts the message. NULL when all exist. */
cz_err *cz_ds_check_files(const char *what, const cz_ds_split *sp);

/* --- the dataset section --- */

/* Lists every split the config describes (see ds_load.c for the layouts). */
cz_err *cz_ds_load(const cz_cfg_dataset *d, cz_ds_set *out);
void cz_ds_set_free(cz_ds_set *s);
void cz_ds_free_names(char **names, size_t n);

#endif
