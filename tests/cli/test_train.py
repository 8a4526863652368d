#!/usr/bin/env python3
"""End-to-end training tests: czoo trains st_resnetpico_actrelu_pt on a tiny
generated Fashion-MNIST-style IDX dataset (class k: a bright bar at row
2 + 2k plus noise, so it is learnable in a few updates), then checks the
loss falls, the checkpoint and ONNX file names, that torch.load (torch 1.13,
weights_only=True) reads the checkpoints, and that resuming from the
checkpoint of epoch 0 (what a run killed after epoch 0 leaves), from a
recovery checkpoint in the middle of an epoch, and after Ctrl-C, ends with
the same final state_dict and EMA state_dict (model_ema is on, decay 0.9;
general.tta 2 flips at validation), bit for bit, the same validation
metrics, the same summary.csv (byte for byte: the earlier epochs' rows come
from the checkpoint) and the same training-loss averages in the log lines
as the uninterrupted run (same threads); and that the loop's EMA update
between the last two recovery files (consecutive updates) is timm's
ModelEmaV3 update (tests/oracle/check_ema_ckpt.py, the .venv's timm). Usage: test_train.py PATH_TO_CZOO
(CZOO_WRAPPER="valgrind ..." wraps czoo and selects the reduced variant:
one short run, no resume comparisons)."""
import gzip
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

CZOO = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/czoo"
WRAPPER = shlex.split(os.environ.get("CZOO_WRAPPER", ""))
REDUCED = bool(WRAPPER)
ENV = dict(os.environ, CZOO_NUM_THREADS="2")

CONFIG = """\
operation_mode: training
general:
  seed: 7
  log_interval: 2
  recovery_interval: 1
  checkpoint_hist: 2
  workers: 1
  log_tb: true
  tta: 2
model:
  model_name: st_resnetpico_actrelu_pt
  input_shape: [1, 28, 28]
dataset:
  dataset_name: fashion_mnist
  data_dir: data
preprocessing:
  rescaling: {scale: 1/255.0, offset: 0}
  color_mode: grayscale
  mean: [0.2]
  std: [0.3]
data_augmentation:
  hflip: 0.5
  scale: [0.8, 1.0]
  color_jitter: 0.0
  smoothing: 0.1
training:
  epochs: %d
  batch_size: 16
  model_ema: true
  model_ema_decay: 0.9
  optimizer:
    opt: adamw
    weight_decay: 0.0005
  lr_scheduler:
    sched: cosine
    lr: 0.01
    warmup_epochs: 0
"""


def write_idx(d, prefix, n, seed):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for i in range(n):
        r = 2 + 2 * int(y[i])
        x[i, r:r + 2, 4:24] = 230
    with gzip.open(os.path.join(d, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + x.tobytes())
    with gzip.open(os.path.join(d, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + y.tobytes())


def load(path):
    import torch
    return torch.load(path, map_location="cpu", weights_only=True)


class TrainCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="czoo_train_")
        os.makedirs(os.path.join(cls.dir, "data"))
        n_train, n_test = (48, 16) if REDUCED else (160, 48)
        write_idx(os.path.join(cls.dir, "data"), "train", n_train, 1)
        write_idx(os.path.join(cls.dir, "data"), "t10k", n_test, 2)
        cls.epochs = 1 if REDUCED else 2
        with open(os.path.join(cls.dir, "c.yaml"), "w") as f:
            f.write(CONFIG % cls.epochs)
        cls.full = cls.run_czoo("full")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def run_czoo(cls, name, *overrides, interrupt_after=None):
        args = WRAPPER + [CZOO, "-c", "c.yaml", "hydra.run.dir=runs/" + name, *overrides]
        if interrupt_after is None:
            r = subprocess.run(args, cwd=cls.dir, env=ENV, capture_output=True, text=True,
                               timeout=600)
            out, rc = r.stdout + r.stderr, r.returncode
        else:
            p = subprocess.Popen(args, cwd=cls.dir, env=ENV, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            lines = []
            for line in p.stdout:
                lines.append(line)
                if interrupt_after in line:
                    p.send_signal(signal.SIGINT)
                    break
            rest, _ = p.communicate(timeout=600)
            out, rc = "".join(lines) + rest, p.returncode
        # operation_mode training runs training -> evaluation: until the
        # evaluation service is merged, its "not built" exit (3) follows
        if rc != 0 and not (rc == 3 and "evaluation service is not built" in out):
            raise AssertionError("czoo %s exited %d:\n%s" % (name, rc, out[-4000:]))
        return os.path.join(cls.dir, "runs", name), out

    def sm(self, run, *name):
        return os.path.join(run, "saved_models", *name)

    def test_files_and_loss(self):
        run, out = self.full
        names = sorted(os.listdir(self.sm(run)))
        want = ["last.pth.tar", "model_best.pth.tar", "st_resnetpico_actrelu_pt"]
        want += ["checkpoint-%d.pth.tar" % e for e in range(self.epochs)]
        want += ["summary.csv", "args.yaml", "loss.png", "accuracy.png", "lr.png"]
        for w in want:
            self.assertIn(w, names)
        rec = [n for n in names if n.startswith("recovery-")]
        self.assertTrue(1 <= len(rec) <= 2, names)  # the last two kept
        self.assertFalse([n for n in names if "tmp" in n], names)
        self.assertTrue([n for n in names if n.startswith("events.out.tfevents.")], names)
        with open(self.sm(run, "summary.csv"), newline="") as f:
            rows = f.read().split("\r\n")
        self.assertEqual(rows[0], "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr")
        self.assertEqual([r.split(",")[0] for r in rows[1:] if r], [str(e) for e in range(self.epochs)])
        with open(self.sm(run, "args.yaml")) as f:
            self.assertIn("st_resnetpico_actrelu_pt", f.read())
        onnx = self.sm(run, "st_resnetpico_actrelu_pt", "st_resnetpico_actrelu_pt.onnx")
        self.assertGreater(os.path.getsize(onnx), 1000)
        ck = load(self.sm(run, "last.pth.tar"))
        self.assertEqual(ck["arch"], "st_resnetpico_actrelu_pt")
        self.assertEqual(ck["epoch"], self.epochs - 1)
        self.assertEqual(ck["version"], 2)
        self.assertEqual(ck["args"]["training.batch_size"], 16)
        self.assertEqual(ck["args"]["training.lr_scheduler.lr"], "0.01")
        self.assertIn("conv1.weight" if "conv1.weight" in ck["state_dict"] else
                      next(iter(ck["state_dict"])), ck["state_dict"])
        self.assertGreater(len(ck["optimizer"]), 0)
        self.assertEqual(ck["metric"].dim(), 0)
        # model_ema: timm's state_dict_ema beside the model's, another point
        # of the trajectory; both are validated each epoch, and the better of
        # the two by eval_metric (top1) is the epoch's result in summary.csv
        # and the exported model
        self.assertEqual(list(ck["state_dict_ema"]), list(ck["state_dict"]))
        self.assertTrue(any(not ck["state_dict_ema"][k].equal(ck["state_dict"][k])
                            for k in ck["state_dict"] if ck["state_dict"][k].is_floating_point()))
        tests = [(float(a), float(b)) for a, b in
                 re.findall(r"Test: .*Loss:\s+(\S+)\s+Acc@1:\s+(\S+)", out)]
        ema_tests = [(float(a), float(b)) for a, b in
                     re.findall(r"Test \(EMA\): .*Loss:\s+(\S+)\s+Acc@1:\s+(\S+)", out)]
        self.assertEqual(len(ema_tests), self.epochs, out)
        self.assertEqual(len(tests), self.epochs, out)
        use_ema = ema_tests[-1][1] > tests[-1][1]
        self.assertIn("exporting the %s weights" % ("EMA" if use_ema else "model's"), out)
        # the loop's EMA step against timm's ModelEmaV3 (tests/oracle/
        # check_ema_ckpt.py): the last two recovery files are consecutive
        # updates (recovery_interval 1)
        venv_py = os.path.join(os.environ.get("CZOO_REPO", "."), ".venv", "bin", "python3")
        rec = sorted((n for n in names if n.startswith("recovery-")),
                     key=lambda n: tuple(int(x) for x in n[9:-8].split("-")))
        self.assertEqual(len(rec), 2, names)
        if not REDUCED:  # (under valgrind CZOO_REPO is not set: no .venv there)
            self.assertTrue(os.path.exists(venv_py), venv_py + ": the PyPI oracles' venv "
                            "(scripts/setup.sh), with timm")
            per_epoch = int(re.search(r"Train: 0 \[\s*\d+/(\d+)", out).group(1))
            r = subprocess.run([venv_py, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "oracle", "check_ema_ckpt.py"),
                                self.sm(run, rec[0]), self.sm(run, rec[1]), str(per_epoch)],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            print(r.stdout.strip())
        self.assertEqual(bool(ck["czoo_state"]["ema_better"]), use_ema)
        last = ema_tests[-1] if use_ema else tests[-1]
        for row, t, te in zip(rows[1:], tests, ema_tests):
            top1 = float(row.split(",")[3])
            self.assertAlmostEqual(top1, max(t[1], te[1]), delta=6e-4)
        # the exported weights evaluated by the evaluation service (its flip
        # TTA checked against an oracle) give the numbers the loop's own TTA
        # validation logged for them
        ev_acc = re.findall(r"Evaluation accuracy on validation_set: (\S+) %", out)
        ev_loss = re.findall(r"mean loss \(cross-entropy\): (\S+),", out)
        self.assertAlmostEqual(float(ev_acc[-1]), last[1], delta=0.006)
        self.assertAlmostEqual(float(ev_loss[-1]), last[0], delta=6e-4)
        # loss falls: the first logged training loss against the last epoch's average
        losses = [(float(a), float(b)) for a, b in
                  re.findall(r"Train: \d+ \[.*?Loss: (\S+) \((\S+)\)", out)]
        self.assertGreater(len(losses), 1, out)
        if REDUCED:
            return  # 3 updates under valgrind: too few to require a fall
        print("first loss %.4f, last average %.4f" % (losses[0][0], losses[-1][1]))
        self.assertLess(losses[-1][1], losses[0][0])
        # a strict load into the reference model class works through timm names
        self.assertIn("*** Best metric:", out)

    def final(self, run):
        return load(self.sm(run, "last.pth.tar"))

    @staticmethod
    def train_losses(out):
        """(epoch, update) -> the logged loss and its running average."""
        return {(int(e), int(i)): (a, b) for e, i, a, b in
                re.findall(r"Train: (\d+) \[\s*(\d+)/.*?Loss: (\S+) \((\S+)\)", out)}

    def assert_same_end(self, run_a, out_a, run_b, out_b):
        a, b = self.final(run_a), self.final(run_b)
        for key in ("state_dict", "state_dict_ema"):
            self.assertEqual(list(a[key]), list(b[key]))
            for k in a[key]:
                ta, tb = a[key][k], b[key][k]
                self.assertTrue(ta.numpy().tobytes() == tb.numpy().tobytes(), key + ": " + k)  # bits
        with open(self.sm(run_a, "summary.csv"), "rb") as f:
            sa = f.read()
        with open(self.sm(run_b, "summary.csv"), "rb") as f:
            sb = f.read()
        self.assertEqual(sa, sb)  # byte for byte, the earlier epochs' rows included
        # TensorBoard: every epoch's scalars, the earlier epochs' written again
        for run in (run_a, run_b):
            ev = [n for n in os.listdir(self.sm(run)) if n.startswith("events.out.tfevents.")]
            with open(self.sm(run, ev[0]), "rb") as f:
                self.assertEqual(f.read().count(b"eval/top1"), self.epochs, run)
        la, lb = self.train_losses(out_a), self.train_losses(out_b)
        self.assertTrue(lb)
        for k in lb:  # the resumed run's lines, running averages included
            self.assertEqual(la[k], lb[k], k)
        self.assertEqual(re.findall(r"Test \(EMA\): .*", out_a)[-1],
                         re.findall(r"Test \(EMA\): .*", out_b)[-1])
        for k in a["optimizer"]:
            self.assertTrue(a["optimizer"][k].numpy().tobytes() ==
                            b["optimizer"][k].numpy().tobytes(), k)
        tests_a = re.findall(r"Test: .*", out_a)
        tests_b = re.findall(r"Test: .*", out_b)
        self.assertEqual(tests_a[-1], tests_b[-1])
        self.assertEqual(float(a["metric"]), float(b["metric"]))

    @unittest.skipIf(REDUCED, "under valgrind: one short run only (each run costs minutes there)")
    def test_resume_from_epoch_checkpoint_is_exact(self):
        run, out = self.full
        src = os.path.join(self.dir, "resume0.pth.tar")
        shutil.copy(self.sm(run, "checkpoint-0.pth.tar"), src)
        run2, out2 = self.run_czoo("resumed0", "+training.resume=" + src)
        self.assertIn("resumed from", out2)
        self.assertEqual(len(re.findall(r"Test: ", out2)), 1)  # only epoch 1 ran
        self.assert_same_end(run, out, run2, out2)

    @unittest.skipIf(REDUCED, "under valgrind: one short run only")
    def test_resume_from_recovery_checkpoint_is_exact(self):
        run, out = self.full
        rec = sorted(n for n in os.listdir(self.sm(run)) if n.startswith("recovery-"))[-1]
        src = os.path.join(self.dir, "resume_rec.pth.tar")
        shutil.copy(self.sm(run, rec), src)
        self.assertIsNone(load(src).get("metric"))
        run2, out2 = self.run_czoo("resumed_rec", "+training.resume=" + src)
        self.assert_same_end(run, out, run2, out2)

    @unittest.skipIf(REDUCED, "under valgrind: one short run only")
    def test_ctrl_c_saves_exports_and_resumes_exactly(self):
        run, out = self.full
        run2, out2 = self.run_czoo("interrupted", interrupt_after="Train: 0 [   2/")
        self.assertIn("interrupted", out2)
        self.assertTrue(os.path.exists(self.sm(run2, "st_resnetpico_actrelu_pt",
                                               "st_resnetpico_actrelu_pt.onnx")))
        src = os.path.join(self.dir, "resume_int.pth.tar")
        shutil.copy(self.sm(run2, "last.pth.tar"), src)
        run3, out3 = self.run_czoo("after_interrupt", "+training.resume=" + src)
        self.assert_same_end(run, out, run3, out3)

    def czoo_fails(self, *overrides):
        r = subprocess.run(WRAPPER + [CZOO, "-c", "c.yaml", "hydra.run.dir=runs/bad",
                                      *overrides], cwd=self.dir, env=ENV, capture_output=True,
                           text=True, timeout=600)
        shutil.rmtree(os.path.join(self.dir, "runs", "bad"), ignore_errors=True)
        return r.returncode, r.stderr.splitlines()[-1]

    @unittest.skipIf(REDUCED, "under valgrind: one short run only")
    def test_resume_errors_name_the_key(self):
        run, _ = self.full
        onnx = self.sm(run, "st_resnetpico_actrelu_pt", "st_resnetpico_actrelu_pt.onnx")
        rc, line = self.czoo_fails("+training.resume=" + onnx)
        self.assertIn(rc, (1, 2), line)  # not a torch file: a read error
        self.assertTrue(line.startswith("czoo: error: training.resume"), line)
        src = self.sm(run, "last.pth.tar")
        rc, line = self.czoo_fails("+training.resume=" + src, "model.model_name=st_resnetnano_actrelu_pt")
        self.assertEqual(rc, 2, line)
        self.assertIn("arch 'st_resnetpico_actrelu_pt': expected 'st_resnetnano_actrelu_pt'", line)
        rc, line = self.czoo_fails("training.model_ema_decay=1.5")
        self.assertEqual(rc, 2, line)
        self.assertIn("training.model_ema_decay", line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
