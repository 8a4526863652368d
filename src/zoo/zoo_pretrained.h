/* Pretrained weights from local files only: where czoo looks for a zoo
 * model's weights (model.pretrained_path, $CZOO_WEIGHTS, then the caches
 * that PyTorch tools fill: ~/.cache/model_weights, torch hub's checkpoints,
 * pytorchcv's ~/.torch/models, the Hugging Face hub cache), and loading a
 * weights file into a built model by name and shape. */
#ifndef CZ_ZOO_ZOO_PRETRAINED_H
#define CZ_ZOO_ZOO_PRETRAINED_H
#include "config/cfg.h"
#include "graph/graph.h"
#include "util/err.h"
#include "zoo/zoo.h"

/* The first existing weights file for entry e: `explicit_path` (a file, or
 * a folder searched like the caches) when set, then $CZOO_WEIGHTS, then the
 * caches. Not found: an error listing every place searched, the file names
 * expected, and suggesting `pretrained: False`. *out is malloc'd. */
cz_err *cz_zoo_find_weights(const cz_zoo_entry *e, const char *explicit_path, char **out);

/* Reads a weights file (PyTorch zip checkpoint or safetensors) and copies
 * every tensor whose name and shape match into g; the rest stay as they
 * were (e.g. a classifier of another class count). Logs "loaded a/b
 * tensors, skipped c" with the skipped names. Nothing matching at all is
 * an error: the file is for another model. */
cz_err *cz_zoo_load_weights(cz_graph *g, const char *path);

/* Writes g's parameters and buffers as a state_dict PyTorch loads
 * strictly into the reference model: safetensors when the path ends in
 * .safetensors, else torch.save's zip format (torch.load(weights_only=True)
 * reads it). Atomic. */
cz_err *cz_zoo_save_weights(const cz_graph *g, const char *path);

/* What `pretrained: True` / `model.model_path` ask for, on a built model:
 * model_path (.pt/.pth/.pth.tar/.safetensors) wins; else, when
 * pretrained, the search above. Does nothing otherwise. */
cz_err *cz_zoo_apply_config_weights(cz_graph *g, const cz_zoo_entry *e, const cz_config *cfg);
#endif
