/* torchvision MobileNetV2 in the graph IR (mbv2.h). Architecture facts from
 * torchvision's mobilenetv2.py: channel rounding to multiples of 8, the
 * (t, c, n, s) block table, ReLU6, residual when stride 1 and in == out. */
#include "mbv2.h"

#include <stdio.h>
#include <stdlib.h>

#include "net_build.h"
#include "util/mem.h"

/* torchvision's _make_divisible with divisor 8. */
static int round8(double v) {
  int r = (int)(v + 4) / 8 * 8;
  if (r < 8) r = 8;
  if (r < 0.9 * v) r += 8;
  return r;
}

mbv2_net mbv2_build(cz_graph *g, int batch, int h, int w, float width, int classes,
                    float dropout) {
  static const int table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  mbv2_net net;
  net.input = cz_graph_input(g, "input", CZ_F32, cz_shape4(batch, 3, h, w));
  int cin = round8(32 * width);
  int last = round8(1280 * (width > 1.0f ? width : 1.0f));
  int x = nb_conv_bn_act(g, net.input, "features.0.0", "features.0.1", 3, cin, 3, 2, 1, NB_RELU6);
  int f = 1;
  char a[96], b[96];
  for (int s = 0; s < 7; s++) {
    int t = table[s][0], cout = round8(table[s][1] * width);
    for (int i = 0; i < table[s][2]; i++, f++) {
      int stride = i == 0 ? table[s][3] : 1;
      int hidden = (int)(cin * t + 0.5);
      int y = x, l = 0;
      if (t != 1) {
        snprintf(a, sizeof a, "features.%d.conv.0.0", f);
        snprintf(b, sizeof b, "features.%d.conv.0.1", f);
        y = nb_conv_bn_act(g, y, a, b, cin, hidden, 1, 1, 1, NB_RELU6);
        l = 1;
      }
      snprintf(a, sizeof a, "features.%d.conv.%d.0", f, l);
      snprintf(b, sizeof b, "features.%d.conv.%d.1", f, l);
      y = nb_conv_bn_act(g, y, a, b, hidden, hidden, 3, stride, hidden, NB_RELU6);
      snprintf(a, sizeof a, "features.%d.conv.%d", f, l + 1);
      snprintf(b, sizeof b, "features.%d.conv.%d", f, l + 2);
      y = nb_conv_bn_act(g, y, a, b, hidden, cout, 1, 1, 1, NB_NONE);
      if (stride == 1 && cin == cout) {
        snprintf(a, sizeof a, "features.%d.add", f);
        y = nb_add(g, x, y, a);
      }
      x = y;
      cin = cout;
    }
  }
  snprintf(a, sizeof a, "features.%d.0", f);
  snprintf(b, sizeof b, "features.%d.1", f);
  x = nb_conv_bn_act(g, x, a, b, cin, last, 1, 1, 1, NB_RELU6);
  x = nb_unary(g, "GlobalAveragePool", x, "pool");
  x = nb_unary(g, "Flatten", x, "flatten");
  int ratio = cz_graph_const(g, "classifier.0.ratio", CZ_F32, (cz_shape){0}, &dropout);
  int din[2] = {x, ratio};
  x = cz_node_out(g, cz_graph_node(g, "Dropout", "classifier.0", 2, din, 1, NULL), 0);
  net.logits = nb_linear(g, x, "classifier.1", last, classes);
  return net;
}
