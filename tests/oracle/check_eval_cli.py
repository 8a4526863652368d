#!/usr/bin/env python3
"""CLI check of the evaluation and prediction services against PyTorch:
runs `czoo` (operation_mode evaluation / prediction) on what gen_eval.py
wrote and compares with its expected.json (PyTorch float64 on the same
weights and images):
- top-1 and top-5 as printed: equal to PyTorch's to 0.01 points (the
  smallest top-1/top-2 logit margin, printed by the generator, is far above
  float32 rounding, so no image may flip); mean loss within 1e-3;
- the confusion matrix CSV equal count for count, per-class accuracy CSV,
  the PNG present and a PNG; the log lines; the model's stem, kind and set
  in every file name; the same figures with a batch size that leaves a
  partial last batch, with 2 loader workers, and with general.tta 2 (flip
  averaging) against PyTorch's flip-averaged logits;
- prediction: predictions.csv probabilities within 1e-4 absolute of
  PyTorch's softmax, top-5 in order, the broken file reported on its row,
  the non-image ignored, annotated copies in predictions/; one file as prediction_path; an empty folder is
  an error (exit 2); wrong weights for the architecture are an error.
Usage: check_eval_cli.py CZOO ORACLE_DIR  (CZOO_WRAPPER: e.g. valgrind)"""
import csv
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

CZOO = os.path.abspath(sys.argv.pop(1))
DIR = os.path.abspath(sys.argv.pop(1))
WRAP = shlex.split(os.environ.get("CZOO_WRAPPER", ""))
EXP = json.load(open(os.path.join(DIR, "expected.json")))
NAMES = EXP["classes"]


def config(mode, run_dir, **extra):
    lines = [f"operation_mode: {mode}", "model:", "  model_name: mobilenetv2_w035_pt",
             f"  model_path: {DIR}/mbv2_w035.pth", "  input_shape: [3, 64, 64]", "dataset:",
             "  class_names: [" + ", ".join(json.dumps(n) for n in NAMES) + "]"]
    for k, v in extra.items():
        if k.startswith("dataset_"):
            lines.append(f"  {k[8:]}: {v}")
    lines += ["training:", f"  batch_size: {extra.get('batch', 16)}"]
    if "tta" in extra or "workers" in extra:
        lines.append("general:")
        if "tta" in extra:
            lines.append(f"  tta: {extra['tta']}")
        if "workers" in extra:
            lines.append(f"  workers: {extra['workers']}")
    lines += ["hydra:", "  run:", f"    dir: {run_dir}"]
    return "\n".join(lines) + "\n"


def read(path):
    with open(path, newline="") as f:
        return f.read()


def run(text, tmp, *overrides):
    path = os.path.join(tmp, "c.yaml")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run(WRAP + [CZOO, "-c", path, *overrides], capture_output=True, text=True,
                          timeout=900, cwd=tmp)


class Evaluation(unittest.TestCase):
    def evaluate(self, top1, loss, check=None, **extra):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("evaluation", run_dir, dataset_test_path=f"{DIR}/test", **extra), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            m = re.search(r"\[INFO\] : Evaluation accuracy on test_set: ([\d.]+) %", r.stdout)
            self.assertTrue(m, r.stdout)
            self.assertAlmostEqual(float(m.group(1)), top1, delta=0.01)
            m = re.search(r"Top-5 accuracy on test_set: ([\d.]+) %, mean loss \(cross-entropy\): "
                          r"([\d.]+), images: 42", r.stdout)
            self.assertTrue(m, r.stdout)
            self.assertAlmostEqual(float(m.group(2)), loss, delta=1e-3)
            self.assertIn("[INFO] : Evaluation complete.", r.stdout)
            log = read(os.path.join(run_dir, "stm32ai_main.log"))
            self.assertIn("Evaluation accuracy on test_set:", log)
            self.assertRegex(log, r"\]\[INFO\] - float model mbv2_w035\n")
            self.assertRegex(log, r"\]\[INFO\] - Evaluation accuracy: [\d.]+ %\n")
            base = os.path.join(run_dir, "float_mbv2_w035_test_set_")
            with open(base + "confusion_matrix.png", "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            if check:
                check(float(m.group(1)), base)

    def test_metrics_and_files(self):
        self.evaluate(EXP["top1"], EXP["loss"], self.check_files)

    def check_files(self, top5, base):
        self.assertGreater(EXP["min_margin"], 1e-2)
        self.assertAlmostEqual(top5, EXP["top5"], delta=0.01)
        rows = list(csv.reader(read(base + "confusion_matrix.csv").splitlines()))
        self.assertEqual(rows[0], ["true\\predicted"] + NAMES)
        self.assertEqual([r[0] for r in rows[1:]], NAMES)
        self.assertEqual([[int(v) for v in r[1:]] for r in rows[1:]], EXP["confusion"])
        acc = list(csv.reader(read(base + "class_accuracy.csv").splitlines()))
        self.assertEqual(acc[0], ["class", "images", "correct", "accuracy_percent"])
        for i, r in enumerate(acc[1:]):
            n = sum(EXP["confusion"][i])
            self.assertEqual(r[:3], [NAMES[i], str(n), str(EXP["confusion"][i][i])])
            self.assertAlmostEqual(float(r[3]), 100 * EXP["confusion"][i][i] / n, delta=0.005)

    def test_partial_batch_and_workers(self):
        self.evaluate(EXP["top1"], EXP["loss"], batch=5, workers=2)

    def test_tta_flip_average(self):
        self.assertGreater(EXP["min_margin_tta"], 1e-2)
        self.evaluate(EXP["top1_tta"], EXP["loss_tta"], tta=2)

    def test_validation_set_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("evaluation", run_dir, dataset_validation_path=f"{DIR}/test"), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("Evaluation accuracy on validation_set: ", r.stdout)
            self.assertTrue(os.path.exists(os.path.join(
                run_dir, "float_mbv2_w035_validation_set_confusion_matrix.csv")))

    def test_weights_of_another_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(config("evaluation", os.path.join(tmp, "run"),
                           dataset_test_path=f"{DIR}/test"), tmp,
                    "model.model_name=shufflenetv2_x050_pt")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("mbv2_w035.pth", r.stderr)


    def test_no_weights(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(config("evaluation", os.path.join(tmp, "run"),
                           dataset_test_path=f"{DIR}/test"), tmp, "~model.model_path")
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("czoo: error: model.model_path: not set, and model.pretrained is False: "
                          "expected weights to run (mobilenetv2_w035_pt would have random "
                          "weights)", r.stderr)


class Prediction(unittest.TestCase):
    def test_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("prediction", run_dir, dataset_prediction_path=f"{DIR}/predict"), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("[INFO] : Prediction complete.", r.stdout)
            self.assertRegex(r.stderr, r"broken.png: cannot predict: .*broken.png: ")
            rows = list(csv.DictReader(read(os.path.join(run_dir, "predictions.csv")).splitlines()))
            self.assertEqual([os.path.basename(r["file"]) for r in rows],
                             ["broken.png", "p0.png", "p1.png", "p2.png"])
            self.assertIn("broken.png", rows[0]["error"])
            self.assertEqual(rows[0]["class_1"], "")
            for row in rows[1:]:
                probs = EXP["predictions"][os.path.basename(row["file"])]
                order = sorted(range(len(probs)), key=lambda c: -probs[c])[:5]
                self.assertEqual(row["error"], "")
                for t in range(5):
                    self.assertEqual(row[f"class_{t + 1}"], NAMES[order[t]])
                    self.assertAlmostEqual(float(row[f"probability_{t + 1}"]), probs[order[t]],
                                           delta=1e-4)
                best = NAMES[order[0]]
                self.assertIn(f"{best} {100 * probs[order[0]]:.2f} %", r.stdout)
            # Annotated copies, as the reference writes them: readable ones only.
            self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "predictions"))),
                             ["p0.png", "p1.png", "p2.png"])
            with open(os.path.join(run_dir, "predictions", "p0.png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_one_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("prediction", run_dir,
                           dataset_prediction_path=f"{DIR}/predict/p1.png"), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            rows = list(csv.DictReader(read(os.path.join(run_dir, "predictions.csv")).splitlines()))
            self.assertEqual(len(rows), 1)

    def test_empty_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(config("prediction", os.path.join(tmp, "run"),
                           dataset_prediction_path=f"{DIR}/empty"), tmp)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(f"czoo: error: dataset.prediction_path = '{DIR}/empty': no image in "
                          "the folder: expected .png, .jpg or .jpeg files", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
