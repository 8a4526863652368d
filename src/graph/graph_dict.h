/* Moving weights between a graph and a state_dict by name: loading (strict,
 * or partial by name and shape as the tool we replace does) and exporting
 * the graph's parameters and buffers in PyTorch's state_dict form. */
#ifndef CZ_GRAPH_GRAPH_DICT_H
#define CZ_GRAPH_GRAPH_DICT_H
#include <stdbool.h>

#include "graph/graph.h"
#include "tensor/tensor_dict.h"

typedef struct {
  int loaded;   /* graph tensors filled from the dict */
  int total;    /* graph tensors (parameters and buffers) */
  int skipped;  /* dict tensors not used: unknown name or other shape */
  int missing;  /* graph tensors the dict did not fill (left as they were) */
  char *skipped_names; /* "a.weight [10,64] (model has [1000,64]), b.x (not in the model)" */
  char *missing_names; /* "a, b" */
} cz_load_report;

void cz_load_report_free(cz_load_report *r);

/* Copies every dict tensor whose name and shape match a PARAM or BUFFER
 * of g (float32 only; another dtype of a matching name is an error). A
 * BatchNorm's `num_batches_tracked` is accepted beside its running stats
 * and ignored. strict: any skipped or missing tensor is an error naming
 * the first few; nothing is copied then. `what` names the source in
 * messages (a file path). */
cz_err *cz_graph_load_dict(cz_graph *g, const cz_tensor_dict *d, bool strict, const char *what,
                           cz_load_report *rep);
/* Parameters and buffers in graph order, then after each BatchNorm's
 * running_var its `num_batches_tracked` (int64 scalar, 0), so that
 * PyTorch's load_state_dict(strict=True) accepts it. */
cz_tensor_dict *cz_graph_to_dict(const cz_graph *g);
#endif
