/* torchvision's MobileNetV2 (width 0.35) built in the graph IR with
 * torchvision's state_dict names, for the engine's model-level check and
 * benchmark: the zoo's mobilenetv2_w035_pt on the caller's graph. */
#ifndef CZ_TEST_MBV2_H
#define CZ_TEST_MBV2_H
#include "graph/graph.h"

typedef struct {
  int input;   /* value id of "input" [N,3,H,W] */
  int logits;  /* value id of the logits [N,classes] */
} mbv2_net;

/* width must be 0.35. dropout: the classifier's Dropout ratio
 * (torchvision default 0.2; 0: no Dropout node). */
mbv2_net mbv2_build(cz_graph *g, int batch, int h, int w, float width, int classes,
                    float dropout);
#endif
