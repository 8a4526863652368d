#!/usr/bin/env python3
"""CLI tests of `czoo info FILE`: an ONNX file that torch.onnx.export writes
(inputs, outputs, opset, producer, op histogram, parameter count equal to
PyTorch's, MACC), a QDQ file (int8 parameter count and bytes, MACC of the
real ops only), a torch checkpoint (epoch, arch, tensor count, the
dtype/shape list), a safetensors file, and errors (no file: exit 2; a file
that is not a model: exit 1 with one line).
Usage: test_info.py PATH_TO_CZOO"""
import os
import subprocess
import sys
import tempfile
import unittest

import torch
import torch.nn as nn

CZOO = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/czoo"


def czoo(*args):
    return subprocess.run([CZOO, *args], capture_output=True, text=True, timeout=300)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = x.mean((2, 3))
        return self.fc(x)


class Info(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = Tiny().eval()
        cls.onnx = os.path.join(cls.tmp.name, "tiny.onnx")
        torch.onnx.export(cls.model, torch.rand(1, 3, 8, 8), cls.onnx, opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_qdq(self):
        """A hand-made QDQ Conv: 108 int8 weights + 4 int32 biases = 124
        bytes; MACC the Conv's alone (Q/DQ nodes not counted)."""
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"),
                 numpy_helper.from_array(np.array(3, np.int8), "z"),
                 numpy_helper.from_array(np.arange(108, dtype=np.int8).reshape(4, 3, 3, 3), "w"),
                 numpy_helper.from_array(np.array(0.01, np.float32), "ws"),
                 numpy_helper.from_array(np.arange(4, dtype=np.int32), "b"),
                 numpy_helper.from_array(np.array(0.0005, np.float32), "bs")]
        nodes = [helper.make_node("QuantizeLinear", ["input", "s", "z"], ["xq"]),
                 helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
                 helper.make_node("DequantizeLinear", ["w", "ws"], ["wd"]),
                 helper.make_node("DequantizeLinear", ["b", "bs"], ["bd"]),
                 helper.make_node("Conv", ["xd", "wd", "bd"], ["y"], pads=[1, 1, 1, 1]),
                 helper.make_node("QuantizeLinear", ["y", "s", "z"], ["yq"]),
                 helper.make_node("DequantizeLinear", ["yq", "s", "z"], ["output"])]
        g = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info(
            "input", TensorProto.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info(
                "output", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
        path = os.path.join(self.tmp.name, "qdq.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        r = czoo("info", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("parameters 112 quantized (124 bytes) + 0 float", r.stdout)
        self.assertIn("quantized (QDQ): 108 int8/uint8 weights, 4 int32 biases", r.stdout)
        macc = int(r.stdout.split("MACC ")[1].split()[0])
        # the Conv: 8*8*4*27 plus at most its bias adds; the Q/DQ nodes
        # would add over 1,000
        self.assertGreaterEqual(macc, 6912)
        self.assertLessEqual(macc, 6912 + 8 * 8 * 4)

    def test_onnx(self):
        r = czoo("info", self.onnx)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertIn("producer pytorch", out)
        self.assertIn("opset   ai.onnx 13", out)
        self.assertIn("input   input elem_type 1 [batch,3,8,8]", out)
        self.assertIn("output  output elem_type 1 [batch,5]", out)
        self.assertIn("Conv 1", out)
        self.assertIn("Gemm 1", out)
        # torch folds BatchNorm into the Conv when exporting in eval mode:
        # conv 4*3*3*3 + bias 4, fc 4*5 + 5
        params = 108 + 4 + 25
        self.assertIn(f"parameters {params} (+ 0 in buffers)", out)
        # MACC: conv 8*8*4*27 = 6912, Gemm 20 (pooling and Relu count 0 or their
        # element counts; the Conv dominates)
        macc = int(out.split("MACC ")[1].split()[0])
        self.assertGreaterEqual(macc, 6912 + 20)
        self.assertLess(macc, 6912 + 20 + 8 * 8 * 4 * 3)

    def test_checkpoint(self):
        path = os.path.join(self.tmp.name, "ckpt.pth.tar")
        torch.save({"epoch": 7, "arch": "tiny", "state_dict": self.model.state_dict()}, path)
        r = czoo("info", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        sd = self.model.state_dict()
        n_el = sum(t.numel() for t in sd.values())
        n_par = sum(p.numel() for p in self.model.parameters())
        self.assertIn(f"weights file, {len(sd)} tensors, {n_el} elements, {n_par} parameters",
                      r.stdout)
        self.assertIn("epoch   7", r.stdout)
        self.assertIn("arch    tiny", r.stdout)
        self.assertRegex(r.stdout, r"conv\.weight\s+float32\s+\[4,3,3,3\]")
        self.assertRegex(r.stdout, r"bn\.num_batches_tracked\s+int64\s+\[\]")

    def test_safetensors(self):
        st = os.path.join(os.environ.get("CZOO_REPO", "."), "tests/fuzz/corpus_safetensors/good.safetensors")
        r = czoo("info", st)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("weights file,", r.stdout)

    def test_errors(self):
        r = czoo("info")
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: czoo info FILE", r.stderr)
        bad = os.path.join(self.tmp.name, "bad.onnx")
        with open(bad, "wb") as f:
            f.write(b"\xff" * 100)
        r = czoo("info", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"'{bad}': not a valid ONNX model", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
