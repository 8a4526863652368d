/* The model zoo: every model users name in `model.model_name`, built into
 * the graph IR with the reference implementation's state_dict names, so
 * that weights move by name between czoo and PyTorch.
 *
 * Each family file (zoo_<family>.c) defines a table of entries ending with
 * a {NULL} row; zoo_table.c lists the family tables. A built model has one
 * input "input" [batch, C, H, W] (float, NHWC in memory) and one output,
 * the logits [batch, num_classes]; it is toposorted and shape-inferred,
 * with weights initialized as the reference initializes them (in law, from
 * a seeded stream). */
#ifndef CZ_ZOO_ZOO_H
#define CZ_ZOO_ZOO_H
#include <stdint.h>

#include "graph/graph.h"
#include "util/err.h"

typedef struct {
  int num_classes;
  int channels, height, width; /* input_shape [C,H,W] */
  float drop_rate;       /* classifier dropout; < 0: the model's default */
  float drop_path_rate;  /* stochastic depth (models that have it); 0: off */
  float bn_momentum;     /* PyTorch's meaning; <= 0: the model's default */
  float bn_eps;          /* <= 0: the model's default */
  int batch;             /* batch of the graph input; <= 0: 1 */
  uint64_t seed;         /* weight initialization */
} cz_zoo_opts;

typedef struct cz_zoo_entry cz_zoo_entry;

/* One rule of a timm model's group_matcher(coarse=False), which timm's
 * layer-wise lr decay (optim/_param_groups.py) uses to number layers: a
 * parameter whose name matches `regex` (POSIX extended, anchored at the
 * start as Python's re.match) gets the ordinal (group, the numbers the
 * regex captures, suffix when >= 0); 99999 as suffix is timm's
 * MATCH_PREV_GROUP (joins the previous layer). A list ends with regex NULL. */
typedef struct {
  int group;
  const char *regex;
  int suffix;
} cz_zoo_group_rule;

/* Builds the model on graph g, reading value `input`; stores the logits
 * value id in *logits. Parameters are created zero or at their fixed
 * initial value (BatchNorm weight 1); cz_zoo_build initializes them. */
typedef cz_err *(*cz_zoo_build_fn)(cz_graph *g, const cz_zoo_entry *e, const cz_zoo_opts *o,
                                   int input, int *logits);

struct cz_zoo_entry {
  const char *name;      /* zoo name, e.g. "mobilenetv2_a100_pt" */
  const char *source;    /* "st", "timm", "torchvision" or "pytorchcv" */
  const char *reference; /* the reference's own name, e.g. "mobilenetv2_100" */
  int default_c, default_h, default_w;
  cz_zoo_build_fn build;
  const void *variant; /* the family's description of this model */
  /* Draws the initial weights as the reference does (in law, from the
   * seed); NULL: cz_zoo_build's default (He fan_out convs, Linear
   * normal(0, 0.01), zero biases). */
  void (*init)(cz_graph *g, uint64_t seed);
  /* timm's group_matcher rules; NULL: the reference model has none (a
   * plain nn.Module: timm's layer decay then puts every parameter in one
   * layer). */
  const cz_zoo_group_rule *groups;
};

/* NULL when unknown. */
const cz_zoo_entry *cz_zoo_find(const char *name);
int cz_zoo_count(void);
const cz_zoo_entry *cz_zoo_at(int i);
/* Defaults for every option (classes 1000, the entry's input shape,
 * model-default dropout and BatchNorm settings, batch 1, seed 0). */
cz_zoo_opts cz_zoo_default_opts(const cz_zoo_entry *e);
/* Builds, toposorts, infers and initializes. An unknown name is an error
 * listing the closest names; a bad option names it and its value. */
cz_err *cz_zoo_build(const char *name, const cz_zoo_opts *o, cz_graph **out);
#endif
