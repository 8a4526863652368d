#!/usr/bin/env python3
"""CLI tests: run the czoo binary on configs written here and pin its exact
one-line error messages (exit 2, no run directory created), the resolved
config (--cfg job), overrides, the run directory layout and mode dispatch.
Usage: test_cli.py PATH_TO_CZOO   (CZOO_WRAPPER="valgrind ..." to wrap it)."""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

CZOO = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/czoo"
DATA = os.environ.get("CZOO_TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "data"))
WRAPPER = shlex.split(os.environ.get("CZOO_WRAPPER", ""))

TRAIN_OK = """\
operation_mode: training
model:
  model_name: st_resnetpico_actrelu_pt
  input_shape: [3, 32, 32]
dataset:
  training_path: train
training:
  epochs: 1
  batch_size: 8
"""

EMPTY_CLASS = ("dataset.training_path: class folder train/a: no image files in it: expected "
               ".jpg, .jpeg, .png or .bmp (any case)")


class CzooCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="czoo_cli_")
        os.makedirs(os.path.join(self.dir, "train", "a"))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, text, name="c.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        return name

    def czoo(self, *args, env=None):
        full_env = dict(os.environ, CZOO_TEST_DATA=os.path.abspath(DATA))
        full_env.update(env or {})
        return subprocess.run(WRAPPER + [CZOO, *args], cwd=self.dir, env=full_env,
                              capture_output=True, text=True, timeout=120)

    def assert_config_error(self, text, expected, *overrides, name="c.yaml"):
        """One line on stderr, exactly expected; exit 2; nothing created."""
        if text is not None:
            self.write(text, name)
        r = self.czoo("-c", name, *overrides)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, "czoo: error: " + expected + "\n")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "experiments_outputs")),
                         "a run directory was created on a config error")


class ConfigErrors(CzooCase):
    def test_unknown_key_suggests_closest(self):
        self.assert_config_error(TRAIN_OK + "  optimizer:\n    momentun: 0.9\n",
                                 "c.yaml:11:5: training.optimizer.momentun: unknown key; "
                                 "did you mean 'momentum'?")

    def test_unknown_key_in_wrong_section(self):
        self.assert_config_error(TRAIN_OK + "  momentum: 0.9\n",
                                 "c.yaml:10:3: training.momentum: unknown key here; "
                                 "'momentum' belongs at training.optimizer.momentum")

    def test_unknown_top_level_section(self):
        self.assert_config_error(TRAIN_OK + "trainig:\n  epochs: 1\n",
                                 "c.yaml:10:1: trainig: unknown key; did you mean 'training'?")

    def test_unknown_key_lists_known_ones(self):
        self.assert_config_error(TRAIN_OK + "mlflow:\n  zzzzzz: 1\n",
                                 "c.yaml:11:3: mlflow.zzzzzz: unknown key; known keys in "
                                 "'mlflow': uri")

    def test_wrong_type(self):
        self.assert_config_error(TRAIN_OK.replace("batch_size: 8", "batch_size: abc"),
                                 "c.yaml:9:15: training.batch_size = 'abc': expected an integer "
                                 "between 1 and 1000000")

    def test_out_of_range(self):
        self.assert_config_error(TRAIN_OK.replace("batch_size: 8", "batch_size: 0"),
                                 "c.yaml:9:15: training.batch_size = '0': expected an integer "
                                 "between 1 and 1000000")
        self.assert_config_error(TRAIN_OK + "  validation_batch_size: 2.5\n",
                                 "c.yaml:10:26: training.validation_batch_size = '2.5': expected "
                                 "an integer between 1 and 1000000")
        self.assert_config_error(TRAIN_OK.replace("training_path: train", "validation_split: 1/1"),
                                 "c.yaml:6:21: dataset.validation_split = '1/1': expected a number "
                                 "> 0 and < 1")

    def test_wrong_bool(self):
        self.assert_config_error(TRAIN_OK + "general:\n  log_tb: yes\n",
                                 "c.yaml:11:11: general.log_tb = 'yes': expected true or false")

    def test_list_length(self):
        self.assert_config_error(TRAIN_OK.replace("[3, 32, 32]", "[3, 32]"),
                                 "c.yaml:4:16: model.input_shape = [3, 32]: expected a list of 3 "
                                 "integers")
        self.assert_config_error(TRAIN_OK.replace("[3, 32, 32]", "[3, x, 32]"),
                                 "c.yaml:4:20: model.input_shape[1] = 'x': expected an integer "
                                 "between 1 and 8192")

    def test_value_not_allowed_lists_choices(self):
        self.assert_config_error(TRAIN_OK + "  optimizer:\n    opt: sgdd\n",
                                 "c.yaml:11:10: training.optimizer.opt = 'sgdd': expected one of "
                                 "sgd, momentum, nesterov, adam, adamw, nadam, radam, adamax, "
                                 "rmsprop, rmsproptf, adagrad, adadelta, lamb, lars, lion "
                                 "(optionally prefixed lookahead_)")
        self.assert_config_error(TRAIN_OK.replace("operation_mode: training",
                                                  "operation_mode: train"),
                                 "c.yaml:1:17: operation_mode = 'train': expected one of "
                                 "training, evaluation, quantization, prediction, benchmarking, "
                                 "deployment, chain_tqeb, chain_tqe, chain_eqe, chain_qb, "
                                 "chain_eqeb, chain_qd")

    def test_section_given_a_value(self):
        self.assert_config_error(TRAIN_OK + "preprocessing: 5\n",
                                 "c.yaml:10:16: preprocessing = '5': expected a section "
                                 "(indented keys below 'preprocessing:')")

    def test_two_spellings_that_disagree(self):
        self.assert_config_error(TRAIN_OK + "data_augmentation:\n  hflip: 0.5\n"
                                 "  horizontal_flip: 0.3\n",
                                 "c.yaml:12:20: data_augmentation.horizontal_flip = '0.3': "
                                 "conflicts with data_augmentation.hflip = '0.5' (line 11); "
                                 "both spell the same setting, expected one value")

    def test_missing_key_for_mode(self):
        self.assert_config_error(TRAIN_OK.replace("  batch_size: 8\n", ""),
                                 "c.yaml: training.batch_size: missing; operation_mode 'training' "
                                 "needs it (images per training step)")
        self.assert_config_error(TRAIN_OK.replace("  epochs: 1\n", ""),
                                 "c.yaml: training.epochs: missing; operation_mode 'training' "
                                 "needs it (number of passes over the training data)")
        self.assert_config_error("operation_mode: evaluation\ndataset:\n  test_path: train\n",
                                 "c.yaml: model.model_name: missing; operation_mode 'evaluation' "
                                 "needs a model: set model.model_path (.onnx, .pt, .pth, "
                                 ".pth.tar) or model.model_name")
        self.assert_config_error("operation_mode: chain_qb\nmodel:\n  model_name: x\n"
                                 "  input_shape: [3, 8, 8]\n",
                                 "c.yaml: benchmarking.board: missing; operation_mode 'chain_qb' "
                                 "needs the STM32 board to benchmark for, e.g. STM32H747I-DISCO")

    def test_keys_that_disagree(self):
        self.assert_config_error(TRAIN_OK.replace("training_path: train\n", "training_path: "
                                                  "train\n  num_classes: 3\n  class_names: [a, b]\n"),
                                 "c.yaml:7:16: dataset.num_classes = '3': expected 2, the number "
                                 "of names in dataset.class_names")
        self.assert_config_error(TRAIN_OK + "preprocessing:\n  mean: [0.5, 0.5]\n",
                                 "c.yaml:11:9: preprocessing.mean = [0.5, 0.5]: has 2 values but "
                                 "model.input_shape has 3 channels; expected 1 or 3 values")
        self.assert_config_error(TRAIN_OK + "preprocessing:\n  color_mode: grayscale\n",
                                 "c.yaml:11:15: preprocessing.color_mode = 'grayscale': "
                                 "model.input_shape has 3 channels; expected rgb")

    def test_missing_operation_mode(self):
        self.assert_config_error("general:\n  seed: 1\n",
                                 "c.yaml: operation_mode: missing; expected one of training, "
                                 "evaluation, quantization, prediction, benchmarking, deployment, "
                                 "chain_tqeb, chain_tqe, chain_eqe, chain_qb, chain_eqeb, chain_qd")

    def test_path_that_does_not_exist(self):
        self.assert_config_error(TRAIN_OK.replace("training_path: train",
                                                  "training_path: nowhere"),
                                 "c.yaml:6:18: dataset.training_path = 'nowhere': No such file or "
                                 "directory (expected an existing directory)")
        self.write("x", "model.h5")
        self.assert_config_error("operation_mode: evaluation\nmodel:\n  model_path: model.h5\n",
                                 "c.yaml:3:15: model.model_path = 'model.h5': TensorFlow/Keras "
                                 "models are not supported; expected an .onnx, .pt, .pth or "
                                 ".pth.tar file")

    def test_yaml_syntax_error(self):
        self.assert_config_error(TRAIN_OK + "general: [1, 2\n",
                                 "c.yaml:11:1: YAML syntax error: did not find expected ',' or "
                                 "']' while parsing a flow sequence")

    def test_bad_files(self):
        self.assert_config_error(None, "nope.yaml: cannot read config file: No such file or "
                                       "directory", name="nope.yaml")
        self.write("", "empty.yaml")
        self.assert_config_error(None, "empty.yaml: config file is empty", name="empty.yaml")
        self.write("# nothing but a comment\n", "comment.yaml")
        self.assert_config_error(None, "comment.yaml: config is empty (no settings in it)",
                                 name="comment.yaml")
        self.write(b"operation_mode: training\nmodel:\n  model_name: caf\xe9\n", "latin1.yaml")
        self.assert_config_error(None, "latin1.yaml:3:18: not valid UTF-8 (byte 0xe9); save the "
                                       "file as UTF-8", name="latin1.yaml")
        os.makedirs(os.path.join(self.dir, "adir.yaml"))
        self.assert_config_error(None, "adir.yaml: is a directory; expected a YAML config file",
                                 name="adir.yaml")

    def test_unreadable_file(self):
        self.write(TRAIN_OK)
        os.chmod(os.path.join(self.dir, "c.yaml"), 0)
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            # root reads anything: run as an unprivileged user instead.
            self.assertIsNotNone(shutil.which("runuser"), "runuser is needed to test permissions as root")
            # A copy of the binary, since nobody may not reach the build tree.
            exe = os.path.join(self.dir, "czoo")
            shutil.copy(CZOO, exe)
            r = subprocess.run(["runuser", "-u", "nobody", "--", exe, "-c", "c.yaml"],
                               cwd=self.dir, capture_output=True, text=True)
        else:
            r = self.czoo("-c", "c.yaml")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, "czoo: error: c.yaml: cannot read config file: Permission "
                                   "denied\n")

    def test_environment_variable_not_set(self):
        self.assert_config_error(TRAIN_OK + "mlflow:\n  uri: ${CZOO_SURELY_UNSET_VAR}/mlruns\n",
                                 "c.yaml:11:8: mlflow.uri = '${CZOO_SURELY_UNSET_VAR}/mlruns': "
                                 "${CZOO_SURELY_UNSET_VAR}: no config key or environment variable "
                                 "named 'CZOO_SURELY_UNSET_VAR'")

    def test_override_errors(self):
        self.write(TRAIN_OK)
        self.assert_config_error(None, "command line 'training.epochs=abc': training.epochs = "
                                       "'abc': expected an integer between 1 and 1000000",
                                 "training.epochs=abc")
        self.assert_config_error(None, "command line '+training.epochs=3': training.epochs is "
                                       "already in the config; use training.epochs=... to change it",
                                 "+training.epochs=3")
        self.assert_config_error(None, "command line '~general.seed': cannot remove general.seed: "
                                       "it is not in the config", "~general.seed")
        self.assert_config_error(None, "command line 'model.input_shape.x=1': a part of "
                                       "model.input_shape.x is a value, not a section; cannot set "
                                       "model.input_shape.x", "model.input_shape.x=1")
        self.assert_config_error(None, "command line 'epochs': expected key=value, +key=value, "
                                       "++key=value or ~key (key as section.name)", "epochs")
        self.assert_config_error(None, "command line 'training.epochz=3': training.epochz: "
                                       "unknown key; did you mean 'epochs'?", "training.epochz=3")

    def test_multi_line_values_stay_on_one_line(self):
        self.assert_config_error(TRAIN_OK.replace("epochs: 1", "epochs: |\n    12\n    x"),
                                 "c.yaml:8:11: training.epochs = '12\\nx\\n': expected an "
                                 "integer between 1 and 1000000")
        self.write(TRAIN_OK)
        self.assert_config_error(None, "command line 'training.epochs=a\\nb': training.epochs = "
                                       "'a b': expected an integer between 1 and 1000000",
                                 "training.epochs=a\nb")

    def test_command_line_errors(self):
        r = self.czoo("--frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "czoo: error: command line: unknown option '--frobnicate' "
                                   "(see czoo --help)\n")
        r = self.czoo("--cfg", "hydra")
        self.assertEqual(r.stderr, "czoo: error: command line: --cfg hydra: expected job or all\n")


class ResolvedConfig(CzooCase):
    def cfg_job(self, text, *overrides, env=None):
        self.write(text)
        r = self.czoo("-c", "c.yaml", "--cfg", "job", *overrides, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "experiments_outputs")))
        return r.stdout

    def test_expressions_evaluated_and_defaults_filled(self):
        out = self.cfg_job(TRAIN_OK + "preprocessing:\n  rescaling: { scale: 1/255.0, "
                           "offset: -1 }\n  mean: 0.5\n  std: (0.25,0.25,0.25)\n"
                           "  color_mode: RGB\n"
                           "  resizing:\n    interpolation: bilinear\n")
        self.assertIn("    scale: 0.00392156862745098\n", out)
        self.assertIn("    offset: -1.0\n", out)
        self.assertIn("  mean: [0.5]\n", out)
        self.assertIn("  std: [0.25, 0.25, 0.25]\n", out)
        self.assertIn("  color_mode: rgb\n", out)
        self.assertIn("    interpolation: bilinear\n", out)
        self.assertIn("    weight_decay: 2e-05\n", out)          # timm's default
        self.assertIn("  validation_batch_size: 8\n", out)       # = batch_size
        self.assertIn("  seed: 42\n", out)
        self.assertIn("    dir: experiments_outputs/", out)

    def test_both_spellings_read(self):
        out = self.cfg_job(TRAIN_OK + "  optimizer:\n    opt: AdamW\n    opt-eps: 1e-8\n"
                           "    opt-betas: [0.9, 0.99]\n"
                           "data_augmentation:\n  horizontal_flip: 0.25\n  vertical_flip: 0.5\n"
                           "  hflip: 0.25\n")
        self.assertIn("    opt: adamw\n", out)
        self.assertIn("    opt_eps: 1e-08\n", out)
        self.assertIn("    opt_betas: [0.9, 0.99]\n", out)
        self.assertIn("  hflip: 0.25\n", out)
        self.assertIn("  vflip: 0.5\n", out)

    def test_null_spellings_keep_defaults(self):
        out = self.cfg_job(TRAIN_OK + "  optimizer:\n    momentum: None\n  lr_scheduler:\n"
                           "    lr_base_scale: ''\n    lr: ~\n    warmup_lr: null\n")
        self.assertIn("    momentum: 0.9\n", out)
        self.assertIn("    lr_base_scale: null\n", out)
        self.assertIn("    lr: null\n", out)
        self.assertIn("    warmup_lr: 1e-05\n", out)

    def test_interpolation_and_environment(self):
        out = self.cfg_job(TRAIN_OK + "general:\n  project_name: ${CZOO_T_PROJECT}\n"
                           "mlflow:\n  uri: runs/${general.project_name}/${oc.env:CZOO_T_NONE,x}\n"
                           "hydra:\n  run:\n    dir: out/${now:%Y}\n",
                           env={"CZOO_T_PROJECT": "demo"})
        self.assertIn("  project_name: demo\n", out)
        self.assertIn("  uri: runs/demo/x\n", out)
        self.assertIn("    dir: out/%s\n" % time.strftime("%Y"), out)

    def test_overrides(self):
        out = self.cfg_job(TRAIN_OK + "general:\n  seed: 1\n", "training.epochs=7",
                           "preprocessing.mean=[0.1,0.2,0.3]", "~general.seed",
                           "+general.tta=2", "++training.batch_size=16")
        self.assertIn("  epochs: 7\n", out)
        self.assertIn("  mean: [0.1, 0.2, 0.3]\n", out)
        self.assertIn("  seed: 42\n", out)
        self.assertIn("  tta: 2\n", out)
        self.assertIn("  batch_size: 16\n", out)

    def test_complete_config_loads(self):
        shutil.copy(os.path.join(DATA, "full_config.yaml"), os.path.join(self.dir, "full.yaml"))
        r = self.czoo("-c", "full.yaml", "--cfg", "job")
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in ("operation_mode: chain_eqeb\n", "  board: STM32H747I-DISCO\n",
                     "    calibrate_method: MinMax\n", "    CalibMovingAverage: true\n",
                     "  gpu_memory_limit: 3.0\n", "  test_path: null\n"):
            self.assertIn(line, r.stdout)
        # gpu_memory_limit is accepted for compatibility, with a warning.
        self.assertIn("general.gpu_memory_limit is accepted but has no effect", r.stderr)

    def test_config_path_and_name(self):
        os.makedirs(os.path.join(self.dir, "cfgs"))
        self.write(TRAIN_OK, "cfgs/train.yaml")
        r = self.czoo("--config-path", "cfgs", "--config-name", "train", "--cfg", "job")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.czoo("--config-path=cfgs", "--config-name=nothere.yaml")
        self.assertEqual(r.stderr, "czoo: error: cfgs/nothere.yaml: cannot read config file: "
                                   "No such file or directory\n")
        self.write(TRAIN_OK, "user_config.yaml")
        r = self.czoo("--cfg", "job")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_help_and_version(self):
        r = self.czoo("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: czoo", r.stdout)
        r = self.czoo("--version")
        self.assertRegex(r.stdout, r"^czoo \d+\.\d+\.\d+\n$")


class Runs(CzooCase):
    def run_dirs(self):
        root = os.path.join(self.dir, "experiments_outputs")
        return sorted(os.listdir(root)) if os.path.isdir(root) else []

    def test_run_directory_layout_and_unbuilt_service(self):
        self.write(TRAIN_OK + "general:\n  pin_mem: true\n")
        # The training service runs and stops at the empty class folder.
        r = self.czoo("-c", "c.yaml", "training.epochs=3")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.splitlines()[-1], "czoo: error: " + EMPTY_CLASS)
        dirs = self.run_dirs()
        self.assertEqual(len(dirs), 1)
        self.assertRegex(dirs[0], r"^\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d$")
        run = os.path.join(self.dir, "experiments_outputs", dirs[0])
        with open(os.path.join(run, ".hydra", "overrides.yaml")) as f:
            self.assertEqual(f.read(), "- training.epochs=3\n")
        with open(os.path.join(run, ".hydra", "config.yaml")) as f:
            composed = f.read()
        self.assertIn("  epochs: 3\n", composed)
        with open(os.path.join(run, "stm32ai_main.log")) as f:
            log = f.read().splitlines()
        # The config warning came before the log existed; the log has it too.
        self.assertRegex(log[0], r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]\[WARNING\] - "
                                 r"general.pin_mem is accepted but has no effect")
        self.assertRegex(log[1], r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]\[INFO\] - czoo ")
        self.assertIn("operation_mode: training", log[2])
        self.assertTrue(log[-1].endswith(EMPTY_CLASS))
        self.assertIn("[ERROR]", log[-1])

    def test_runs_in_the_same_second_get_their_own_directory(self):
        self.write(TRAIN_OK + "hydra:\n  run:\n    dir: experiments_outputs/fixed\n")
        procs = [subprocess.Popen(WRAPPER + [CZOO, "-c", "c.yaml"], cwd=self.dir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(4)]
        for p in procs:
            self.assertEqual(p.wait(timeout=120), 2)  # the empty class folder
        self.assertEqual(self.run_dirs(), ["fixed", "fixed_1", "fixed_2", "fixed_3"])
        for d in self.run_dirs():
            log = os.path.join(self.dir, "experiments_outputs", d, "stm32ai_main.log")
            with open(log) as f:
                self.assertEqual(sum("operation_mode: training" in l for l in f), 1)

    def test_every_mode_dispatches_to_its_first_service(self):
        model = self.write("", "m.onnx")
        first = {"training": "training", "evaluation": "evaluation",
                 "quantization": "quantization", "prediction": "prediction",
                 "benchmarking": "benchmarking", "deployment": "deployment",
                 "chain_tqeb": "training", "chain_tqe": "training", "chain_eqe": "evaluation",
                 "chain_qb": "quantization", "chain_eqeb": "evaluation",
                 "chain_qd": "quantization"}
        for mode, service in first.items():
            self.write(TRAIN_OK.replace("operation_mode: training", "operation_mode: " + mode) +
                       "  model_path: %s\n" % model)
            cfg = ("operation_mode: %s\nmodel:\n  model_name: st_resnetpico_actrelu_pt\n"
                   "  input_shape: [3, 32, 32]\n  model_path: m.onnx\n"
                   "dataset:\n  training_path: train\n  prediction_path: train\n"
                   "  class_names: [a]\ntraining:\n  epochs: 1\n  batch_size: 8\n"
                   "benchmarking:\n  board: NUCLEO-F401RE\n"
                   "deployment:\n  hardware_setup:\n    board: STM32H747I-DISCO\n" % mode)
            self.write(cfg)
            r = self.czoo("-c", "c.yaml")
            if service == "training":  # built: it stops at the empty class folder
                self.assertEqual(r.returncode, 2, mode + ": " + r.stderr)
                self.assertIn(EMPTY_CLASS, r.stderr, mode)
                continue
            elif service in ("evaluation", "prediction", "quantization"):
                # Built: the service runs and stops at this test's empty data.
                self.assertNotEqual(r.returncode, 0, mode)
                self.assertIn("czoo: error: ", r.stderr, mode)
                self.assertNotIn("the %s service is not built yet" % service, r.stderr, mode)
                continue
            self.assertEqual(r.returncode, 3, mode + ": " + r.stderr)
            self.assertIn("the %s service is not built yet" % service, r.stderr, mode)


if __name__ == "__main__":
    unittest.main(verbosity=2)
