#!/usr/bin/env python3
"""CLI tests of `czoo models`: the zoo listing names every model the issue
asks for with its source, parameter count and MACC; the shape and class
count come from the command line or the config; one model's layer table;
unknown names get a "did you mean" error with exit 2.
Usage: test_models.py PATH_TO_CZOO"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

CZOO = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/czoo"

EXPECTED = {
    "st": ["st_resnetpico_actrelu_pt", "st_resnetnano_actrelu_pt", "st_resnetmicro_actrelu_pt",
           "st_resnetmilli_actrelu_pt", "st_resnettiny_actrelu_pt", "mobilenet_v1_pt",
           "mobilenet_v1_0.25_pt", "mobilenet_v1_0.25_96px_pt",
           "mobilenetv2_w035_pt"],  # torchvision's MobileNetV2, listed by ST as its own
    "timm": ["mobilenetv2_a050_pt", "mobilenetv2_a100_pt", "mobilenetv4small_pt",
             "semnasnet100_pt"],
    "torchvision": ["mnasnet_d050_pt", "shufflenetv2_x050_pt",
                    "shufflenetv2_x100_pt"],
    "pytorchcv": ["mobilenet_a025_pt", "mobilenet_a050_pt", "mobilenet_a075_pt",
                  "fdmobilenet_a025_pt", "fdmobilenet_a050_pt", "fdmobilenet_a075_pt",
                  "mobilenetv2_a025_pt", "mobilenetv2_a075_pt", "squeezenetv10_pt",
                  "resnet18wd4_pt"],
}


def czoo(*args, cwd=None):
    return subprocess.run([CZOO, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def rows(out):
    """model name -> (source, reference, input, params, macc in M)."""
    table = {}
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) == 6 and f[5].endswith("M"):
            table[f[0]] = (f[1], f[2], f[3], int(f[4]), float(f[5][:-1]))
    return table


class Models(unittest.TestCase):
    def test_listing(self):
        r = czoo("models")
        self.assertEqual(r.returncode, 0, r.stderr)
        table = rows(r.stdout)
        for source, names in EXPECTED.items():
            for name in names:
                self.assertIn(name, table, r.stdout)
                self.assertEqual(table[name][0], source, name)
                self.assertGreater(table[name][3], 10000, name)
                self.assertGreater(table[name][4], 0.5, name)
        self.assertEqual(table["mobilenet_v1_0.25_96px_pt"][2], "3x96x96")
        # torchvision's mobilenet_v2 at width 1.0 has 3504872 parameters; timm's
        # mobilenetv2_100 has the same architecture (published: 3.5M).
        self.assertEqual(table["mobilenetv2_a100_pt"][3], 3504872)

    def test_shape_and_classes(self):
        full = rows(czoo("models").stdout)["mobilenetv2_a100_pt"]
        r = czoo("models", "--input-shape", "3,112,112", "--num-classes", "10")
        small = rows(r.stdout)["mobilenetv2_a100_pt"]
        self.assertEqual(small[2], "3x112x112")
        self.assertEqual(small[3], full[3] - 990 * 1281)  # the classifier: 1280 weights + bias
        # a quarter of the pixels; odd maps round up at stride 2 (7x7 -> 4x4)
        self.assertAlmostEqual(small[4] / full[4], 0.25, delta=0.03)

    def test_from_config(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "x", "a"))
            with open(os.path.join(d, "c.yaml"), "w") as f:
                f.write("operation_mode: training\nmodel:\n  model_name: mobilenetv2_a100_pt\n  input_shape: [3, 112, 112]\n"
                        "dataset:\n  num_classes: 10\n  training_path: x\n"
                        "training:\n  batch_size: 8\n  epochs: 1\n")
            r = czoo("models", "-c", "c.yaml", cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(rows(r.stdout)["mobilenetv2_a100_pt"][2], "3x112x112")

    def test_layer_table(self):
        r = czoo("models", "mobilenetv2_a100_pt", "--num-classes", "10")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mobilenetv2_a100_pt (timm's mobilenetv2_100)", r.stdout)
        self.assertIn("conv_stem", r.stdout)
        self.assertIn("classifier", r.stdout)

    def test_unknown(self):
        r = czoo("models", "mobilenetv2_a10_pt")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "czoo: error: model.model_name = 'mobilenetv2_a10_pt': not a "
                         "zoo model; did you mean 'mobilenetv2_a100_pt'? (`czoo models` lists "
                         "them)\n")
        r = czoo("models", "--input-shape", "3,x,1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--input-shape '3,x,1': expected C,H,W", r.stderr)


if __name__ == "__main__":
    unittest.main()
