/* torchvision MobileNetV2 for the engine's tests and benchmark (mbv2.h):
 * the zoo's mobilenetv2_w035_pt (src/zoo/zoo_torchvision.c) built on the
 * caller's graph, weights left as the builder makes them (tests load or
 * randomize them). */
#include "mbv2.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "zoo/zoo.h"

mbv2_net mbv2_build(cz_graph *g, int batch, int h, int w, float width, int classes,
                    float dropout) {
  assert(fabsf(width - 0.35f) < 1e-6f); /* the zoo's width; the only one used */
  (void)width;
  const cz_zoo_entry *e = cz_zoo_find("mobilenetv2_w035_pt");
  cz_zoo_opts o = cz_zoo_default_opts(e);
  o.num_classes = classes, o.height = h, o.width = w, o.batch = batch, o.drop_rate = dropout;
  mbv2_net net;
  net.input = cz_graph_input(g, "input", CZ_F32, cz_shape4(batch, 3, h, w));
  cz_err *err = e->build(g, e, &o, net.input, &net.logits);
  if (err) {
    fprintf(stderr, "mbv2_build: %s\n", cz_err_msg(err));
    abort();
  }
  return net;
}
