#!/usr/bin/env python3
"""Training options beyond the basic loop, end to end on test_train.py's
tiny IDX dataset: the AugMix JSD loss (data_augmentation.aug_splits 3 +
jsd_loss, timm's JsdCrossEntropy) trains and its errors name the keys;
layer-wise lr decay (training.optimizer.layer_decay) on a timm model
trains, logs its groups, and a run resumed from the epoch-0 checkpoint
ends bit for bit where the uninterrupted one does. Usage:
test_train_extras.py PATH_TO_CZOO."""
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_train as tt  # noqa: E402  (takes PATH_TO_CZOO off sys.argv)


class TrainExtras(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="czoo_train_extras_")
        os.makedirs(os.path.join(cls.dir, "data"))
        tt.write_idx(os.path.join(cls.dir, "data"), "train", 96, 1)
        tt.write_idx(os.path.join(cls.dir, "data"), "t10k", 32, 2)
        with open(os.path.join(cls.dir, "c.yaml"), "w") as f:
            f.write(tt.CONFIG % 2)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def czoo(self, name, *overrides):
        r = subprocess.run([tt.CZOO, "-c", "c.yaml", "hydra.run.dir=runs/" + name,
                            "general.recovery_interval=0", *overrides], cwd=self.dir,
                           env=tt.ENV, capture_output=True, text=True, timeout=600)
        return r.returncode, r.stdout + r.stderr, os.path.join(self.dir, "runs", name)

    def trains(self, name, *overrides):
        rc, out, run = self.czoo(name, *overrides)
        self.assertEqual(rc, 0, out[-4000:])
        return out, run

    def test_jsd_loss_trains(self):
        out, run = self.trains("jsd", "training.epochs=1", "data_augmentation.aug_splits=3",
                               "data_augmentation.jsd_loss=true")
        self.assertIn("loss: JsdCrossEntropy (3 splits, alpha 12, label smoothing)", out)
        losses = [float(x) for x in re.findall(r"Loss: +([0-9.]+) \(", out)]
        self.assertTrue(losses and all(v == v and v < 50 for v in losses), out[-2000:])
        with open(os.path.join(run, "saved_models", "summary.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), 2)
        # with mixup (smoothing 0): the clean split's soft targets
        out, _ = self.trains("jsd_mix", "training.epochs=1", "data_augmentation.aug_splits=2",
                             "data_augmentation.jsd_loss=true", "data_augmentation.mixup=0.4",
                             "data_augmentation.smoothing=0")
        self.assertIn("loss: JsdCrossEntropy (2 splits, alpha 12)", out)

    def test_jsd_loss_errors(self):
        rc, out, _ = self.czoo("bad1", "data_augmentation.jsd_loss=true")
        self.assertEqual(rc, 2, out)
        self.assertIn("data_augmentation.jsd_loss: True needs aug_splits > 1 (aug_splits is 0)",
                      out.splitlines()[-1])
        rc, out, _ = self.czoo("bad2", "data_augmentation.jsd_loss=true",
                               "data_augmentation.aug_splits=2", "data_augmentation.mixup=0.4")
        self.assertEqual(rc, 2, out)
        self.assertIn("data_augmentation.jsd_loss: True with mixup/cutmix needs "
                      "data_augmentation.smoothing 0 (it is 0.1)", out.splitlines()[-1])

    def test_layer_decay_without_group_matcher_warns(self):
        out, _ = self.trains("ld_st", "training.epochs=1", "training.optimizer.layer_decay=0.8")
        self.assertIn("layer_decay: no effect on st_resnetpico_actrelu_pt", out)

    def test_layer_decay_resumes_exactly(self):
        ld = ["model.model_name=mobilenetv2_a050_pt", "training.optimizer.layer_decay=0.8",
              "model.input_shape=[1,32,32]"]
        out, run = self.trains("ld", *ld)
        self.assertIn("layer_decay 0.8: 19 layers", out)
        src = os.path.join(self.dir, "ld0.pth.tar")
        shutil.copy(os.path.join(run, "saved_models", "checkpoint-0.pth.tar"), src)
        out2, run2 = self.trains("ld_resumed", *ld, "+training.resume=" + src)
        a = tt.load(os.path.join(run, "saved_models", "last.pth.tar"))
        b = tt.load(os.path.join(run2, "saved_models", "last.pth.tar"))
        for k in a["state_dict"]:
            self.assertTrue(a["state_dict"][k].numpy().tobytes() ==
                            b["state_dict"][k].numpy().tobytes(), k)
        with open(os.path.join(run, "saved_models", "summary.csv")) as f1, \
                open(os.path.join(run2, "saved_models", "summary.csv")) as f2:
            self.assertEqual(f1.read().splitlines()[-1], f2.read().splitlines()[-1])

    def test_start_epoch_continues_the_update_count(self):
        # timm counts updates from start_epoch x updates per epoch, so a
        # per-update cosine schedule continues there; summary.csv's lr is
        # the lr after the epoch's last update: min_lr 0 + lr/2 (1 + cos(pi
        # t / T)), T = epochs x updates (the schedule itself is checked
        # against timm in oracle.sched_golden)
        out, run = self.trains("start1", "training.epochs=3", "training.model_ema=false",
                               "general.tta=1", "training.lr_scheduler.start_epoch=1",
                               "training.lr_scheduler.sched_on_updates=true",
                               "training.lr_scheduler.min_lr=0")
        upe = int(re.search(r"(\d+) updates per epoch", out).group(1))
        with open(os.path.join(run, "saved_models", "summary.csv")) as f:
            rows = [r.split(",") for r in f.read().splitlines()[1:]]
        self.assertEqual([r[0] for r in rows], ["1", "2"])
        for r in rows:
            t = (int(r[0]) + 1) * upe
            want = 0.5 * 0.01 * (1 + math.cos(math.pi * t / (3 * upe)))
            self.assertAlmostEqual(float(r[5]), want, delta=1e-9, msg=r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
