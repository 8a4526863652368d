/* torchvision's MobileNetV2 (any width) built in the graph IR with
 * torchvision's state_dict names, for the engine's model-level check and
 * benchmark. The model zoo issue makes this a zoo model. */
#ifndef CZ_TEST_MBV2_H
#define CZ_TEST_MBV2_H
#include "graph/graph.h"

typedef struct {
  int input;   /* value id of "input" [N,3,H,W] */
  int logits;  /* value id of the logits [N,classes] */
} mbv2_net;

/* dropout: the classifier's Dropout ratio (torchvision default 0.2). */
mbv2_net mbv2_build(cz_graph *g, int batch, int h, int w, float width, int classes,
                    float dropout);
#endif
