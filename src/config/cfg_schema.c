/* Every config key czoo reads: the sections and keys documented for the
 * model-zoo services (spec/image_classification_README.md), their types,
 * defaults and allowed values. Defaults are the documented ones, or timm's
 * train.py defaults where the documentation shows timm's keys. */
#include "config/cfg_schema.h"

#include <math.h>
#include <string.h>

#include "config/cfg.h"

#define OFF(f) offsetof(cz_config, f)

/* Leaf rows, by type. */
#define BOOL_(p, f, d) {p, NULL, CZ_KT_BOOL, OFF(f), d, -INFINITY, INFINITY, 0, 0, NULL, 0, NULL}
#define INT_(p, f, d, lo, hi) {p, NULL, CZ_KT_INT, OFF(f), d, lo, hi, 0, 0, NULL, 0, NULL}
#define FLT_(p, f, d, lo, hi, fl) {p, NULL, CZ_KT_FLOAT, OFF(f), d, lo, hi, 0, 0, NULL, fl, NULL}
#define STR_(p, f, d, fl) {p, NULL, CZ_KT_STR, OFF(f), d, -INFINITY, INFINITY, 0, 0, NULL, fl, NULL}
#define CHOICE_(p, f, d, ch, fl) {p, NULL, CZ_KT_STR, OFF(f), d, -INFINITY, INFINITY, 0, 0, ch, fl, NULL}
#define ENUM_(p, f, d, ch, fl) {p, NULL, CZ_KT_ENUM, OFF(f), d, -INFINITY, INFINITY, 0, 0, ch, fl, NULL}
#define INTS_(p, f, d, lo, hi, n0, n1) {p, NULL, CZ_KT_INTS, OFF(f), d, lo, hi, n0, n1, NULL, 0, NULL}
#define FLTS_(p, f, d, lo, hi, n0, n1) {p, NULL, CZ_KT_FLOATS, OFF(f), d, lo, hi, n0, n1, NULL, 0, NULL}
#define STRS_(p, f) {p, NULL, CZ_KT_STRS, OFF(f), NULL, -INFINITY, INFINITY, 0, 0, NULL, 0, NULL}
/* Keys kept so existing configs load, but meaningless on a CPU-only,
 * single-process, offline tool: a non-default value gets a warning. */
#define NOEFF_BOOL(p, f, d, why) {p, NULL, CZ_KT_BOOL, OFF(f), d, -INFINITY, INFINITY, 0, 0, NULL, CZ_K_NO_EFFECT, why}
#define NOEFF_STR(p, f, d, why) {p, NULL, CZ_KT_STR, OFF(f), d, -INFINITY, INFINITY, 0, 0, NULL, CZ_K_NO_EFFECT, why}
#define NOEFF_INT(p, f, d, why) {p, NULL, CZ_KT_INT, OFF(f), d, -INFINITY, INFINITY, 0, 0, NULL, CZ_K_NO_EFFECT, why}

const char *const cz_mode_names[] = {
    "training", "evaluation", "quantization", "prediction", "benchmarking",
    "deployment", "chain_tqeb", "chain_tqe", "chain_eqe", "chain_qb",
    "chain_eqeb", "chain_qd", NULL};
static const char *const use_cases[] = {"image_classification", NULL};
static const char *const metrics[] = {"top1", "top5", "loss", NULL};
static const char *const frameworks[] = {"torch", NULL};
static const char *const pretrained_sets[] = {"imagenet", "food101", "flowers102", "vww", NULL};
static const char *const datasets[] = {"imagenet", "custom", "flowers102", "food101",
                                       "fashion_mnist", "mnist", NULL};
static const char *const interps[] = {"nearest", "bilinear", "bicubic", "area", NULL};
static const char *const aspects[] = {"fit", "crop", "padding", NULL};
static const char *const resize_modes[] = {"timm", "config", NULL};
static const char *const colors[] = {"grayscale", "rgb", "rgba", NULL};
static const char *const train_interps[] = {"random", "bilinear", "bicubic", "nearest", NULL};
static const char *const remodes[] = {"pixel", "const", "rand", NULL};
static const char *const mixup_modes[] = {"batch", "pair", "elem", NULL};
static const char *const optimizers[] = {
    "sgd", "momentum", "nesterov", "adam", "adamw", "nadam", "radam", "adamax",
    "rmsprop", "rmsproptf", "adagrad", "adadelta", "lamb", "lars", "lion", NULL};
static const char *const clip_modes[] = {"norm", "value", "agc", NULL};
static const char *const scheds[] = {"cosine", "tanh", "step", "multistep", "plateau", "poly", NULL};
static const char *const lr_scales[] = {"linear", "sqrt", NULL};
static const char *const worker_seedings[] = {"all", "part", NULL};
static const char *const amp_dtypes[] = {"float16", "bfloat16", NULL};
static const char *const quantizers[] = {"onnx_quantizer", NULL};
static const char *const quant_types[] = {"PTQ", NULL};
static const char *const io_types[] = {"float", "int8", "uint8", NULL};
static const char *const granularities[] = {"per_channel", "per_tensor", NULL};
static const char *const quant_modes[] = {"default", NULL};
static const char *const qtypes[] = {"Int8", "UInt8", NULL};
static const char *const calibs[] = {"MinMax", "Entropy", "Percentile", NULL};
static const char *const targets[] = {"host", "stedgeai_host", "stedgeai_n6", "stedgeai_h7p", NULL};
static const char *const data_types[] = {"uint8", "int8", "float32", NULL};
static const char *const chpos[] = {"chlast", "chfirst", NULL};
static const char *const optimizations[] = {"balanced", "time", "ram", NULL};
static const char *const boards[] = {
    "STM32N6570-DK", "STM32H747I-DISCO", "STM32H7B3I-DK", "STM32F469I-DISCO",
    "B-U585I-IOT02A", "STM32L4R9I-DISCO", "NUCLEO-H743ZI2", "STM32H735G-DK",
    "STM32F769I-DISCO", "NUCLEO-G474RE", "NUCLEO-F401RE", "STM32F746G-DISCO",
    "STM32MP257F-EV1", "STM32MP157F-DK2", "STM32MP135F-DK", NULL};
static const char *const ides[] = {"GCC", NULL};

static const char kCpu[] = "czoo runs on the CPU in one process";

const cz_key cz_keys[] = {
    ENUM_("operation_mode", operation_mode, NULL, cz_mode_names, 0),
    CHOICE_("use_case", use_case, "image_classification", use_cases, 0),

    /* general */
    STR_("general.project_name", general.project_name, "'<unnamed>'", 0),
    STR_("general.output", general.output, NULL, CZ_K_PATH),
    STR_("general.saved_models_dir", general.saved_models_dir, "saved_models", CZ_K_PATH),
    BOOL_("general.display_figures", general.display_figures, "false"),
    INT_("general.seed", general.seed, "42", 0, 4294967295.0),
    {"general.gpu_memory_limit", NULL, CZ_KT_FLOAT, OFF(general.gpu_memory_limit), NULL, 0, INFINITY, 0, 0,
     NULL, CZ_K_NO_EFFECT, kCpu},
    INT_("general.workers", general.workers, NULL, 0, 256),
    INT_("general.log_interval", general.log_interval, "50", 1, INFINITY),
    INT_("general.recovery_interval", general.recovery_interval, "0", 0, INFINITY),
    INT_("general.checkpoint_hist", general.checkpoint_hist, "10", 1, INFINITY),
    BOOL_("general.save_images", general.save_images, "false"),
    NOEFF_BOOL("general.amp", general.amp, "false", "czoo trains in float32 on the CPU"),
    CHOICE_("general.amp_dtype", general.amp_dtype, "float16", amp_dtypes, 0),
    NOEFF_STR("general.amp_impl", general.amp_impl, "native", kCpu),
    NOEFF_BOOL("general.no_ddp_bb", general.no_ddp_bb, "false", kCpu),
    NOEFF_BOOL("general.synchronize_step", general.synchronize_step, "false", kCpu),
    NOEFF_BOOL("general.pin_mem", general.pin_mem, "false", kCpu),
    NOEFF_BOOL("general.no_prefetcher", general.no_prefetcher, "true", kCpu),
    ENUM_("general.eval_metric", general.eval_metric, "top1", metrics, 0),
    INT_("general.tta", general.tta, "0", 0, INFINITY),
    NOEFF_INT("general.local_rank", general.local_rank, "0", kCpu),
    NOEFF_BOOL("general.use_multi_epochs_loader", general.use_multi_epochs_loader, "false", kCpu),
    NOEFF_BOOL("general.log_wandb", general.log_wandb, "false",
               "czoo never uses the network; use log_tb"),
    BOOL_("general.log_tb", general.log_tb, "false"),
    NOEFF_STR("general.device", general.device, "cpu", kCpu),

    /* model */
    CHOICE_("model.framework", model.framework, "torch", frameworks, CZ_K_NOCASE),
    STR_("model.model_path", model.model_path, NULL, CZ_K_PATH),
    STR_("model.model_name", model.model_name, NULL, 0),
    INTS_("model.input_shape", model.input_shape, NULL, 1, 8192, 3, 3),
    BOOL_("model.pretrained", model.pretrained, "false"),
    STR_("model.model_type", model.model_type, NULL, 0),
    CHOICE_("model.pretrained_dataset", model.pretrained_dataset, NULL, pretrained_sets, CZ_K_NOCASE),
    STR_("model.pretrained_path", model.pretrained_path, NULL, CZ_K_PATH),

    /* dataset */
    ENUM_("dataset.dataset_name", dataset.dataset_name, NULL, datasets, CZ_K_NOCASE),
    STRS_("dataset.class_names", dataset.class_names),
    STR_("dataset.classes_file_path", dataset.classes_file_path, NULL, CZ_K_PATH),
    INT_("dataset.num_classes", dataset.num_classes, NULL, 1, 1000000),
    STR_("dataset.data_dir", dataset.data_dir, NULL, CZ_K_PATH),
    STR_("dataset.training_path", dataset.training_path, NULL, CZ_K_PATH),
    STR_("dataset.validation_path", dataset.validation_path, NULL, CZ_K_PATH),
    FLT_("dataset.validation_split", dataset.validation_split, "0.2", 0, 1, CZ_K_MIN_EXCL | CZ_K_MAX_EXCL),
    STR_("dataset.test_path", dataset.test_path, NULL, CZ_K_PATH),
    STR_("dataset.quantization_path", dataset.quantization_path, NULL, CZ_K_PATH),
    FLT_("dataset.quantization_split", dataset.quantization_split, "0.1", 0, 1, CZ_K_MIN_EXCL),
    STR_("dataset.prediction_path", dataset.prediction_path, NULL, CZ_K_PATH),
    BOOL_("dataset.check_image_files", dataset.check_image_files, "false"),
    INT_("dataset.seed", dataset.seed, NULL, 0, 4294967295.0),
    BOOL_("dataset.data_download", dataset.data_download, "false"),
    STR_("dataset.train_split", dataset.train_split, "train", 0),
    STR_("dataset.val_split", dataset.val_split, "val", 0),
    STR_("dataset.test_split", dataset.test_split, NULL, 0),

    /* preprocessing */
    FLT_("preprocessing.rescaling.scale", preprocessing.scale, "1/255.0", -INFINITY, INFINITY, 0),
    FLT_("preprocessing.rescaling.offset", preprocessing.offset, "0", -INFINITY, INFINITY, 0),
    ENUM_("preprocessing.resizing.interpolation", preprocessing.interpolation, NULL, interps, CZ_K_NOCASE),
    ENUM_("preprocessing.resizing.aspect_ratio", preprocessing.aspect_ratio, NULL, aspects, CZ_K_NOCASE),
    /* czoo's own: which resize the eval transform does (see README, Data). */
    ENUM_("preprocessing.resizing.mode", preprocessing.resize_mode, "timm", resize_modes, CZ_K_NOCASE),
    ENUM_("preprocessing.color_mode", preprocessing.color_mode, "rgb", colors, CZ_K_NOCASE),
    FLTS_("preprocessing.mean", preprocessing.mean, "[0.485, 0.456, 0.406]", -INFINITY, INFINITY, 1, 4),
    FLTS_("preprocessing.std", preprocessing.std, "[0.229, 0.224, 0.225]", 0, INFINITY, 1, 4),

    /* data_augmentation (timm's names and train.py defaults) */
    BOOL_("data_augmentation.no_aug", data_augmentation.no_aug, "false"),
    FLTS_("data_augmentation.scale", data_augmentation.scale, "[0.08, 1.0]", 0, 1, 2, 2),
    FLTS_("data_augmentation.ratio", data_augmentation.ratio, "[0.75, 1.3333333333333333]", 0, INFINITY, 2, 2),
    {"data_augmentation.hflip", "data_augmentation.horizontal_flip", CZ_KT_FLOAT,
     OFF(data_augmentation.hflip), "0.5", 0, 1, 0, 0, NULL, 0, NULL},
    {"data_augmentation.vflip", "data_augmentation.vertical_flip", CZ_KT_FLOAT,
     OFF(data_augmentation.vflip), "0.0", 0, 1, 0, 0, NULL, 0, NULL},
    FLTS_("data_augmentation.color_jitter", data_augmentation.color_jitter, "0.4", 0, INFINITY, 1, 4),
    STR_("data_augmentation.aa", data_augmentation.aa, NULL, 0),
    INT_("data_augmentation.aug_repeats", data_augmentation.aug_repeats, "0", 0, INFINITY),
    INT_("data_augmentation.aug_splits", data_augmentation.aug_splits, "0", 0, INFINITY),
    BOOL_("data_augmentation.jsd_loss", data_augmentation.jsd_loss, "false"),
    BOOL_("data_augmentation.bce_loss", data_augmentation.bce_loss, "false"),
    FLT_("data_augmentation.bce_target_thresh", data_augmentation.bce_target_thresh, NULL, 0, 1, 0),
    FLT_("data_augmentation.reprob", data_augmentation.reprob, "0", 0, 1, 0),
    CHOICE_("data_augmentation.remode", data_augmentation.remode, "pixel", remodes, 0),
    INT_("data_augmentation.recount", data_augmentation.recount, "1", 1, INFINITY),
    BOOL_("data_augmentation.resplit", data_augmentation.resplit, "false"),
    FLT_("data_augmentation.mixup", data_augmentation.mixup, "0", 0, INFINITY, 0),
    FLT_("data_augmentation.cutmix", data_augmentation.cutmix, "0", 0, INFINITY, 0),
    FLTS_("data_augmentation.cutmix_minmax", data_augmentation.cutmix_minmax, NULL, 0, 1, 2, 2),
    FLT_("data_augmentation.mixup_prob", data_augmentation.mixup_prob, "1.0", 0, 1, 0),
    FLT_("data_augmentation.mixup_switch_prob", data_augmentation.mixup_switch_prob, "0.5", 0, 1, 0),
    CHOICE_("data_augmentation.mixup_mode", data_augmentation.mixup_mode, "batch", mixup_modes, 0),
    FLT_("data_augmentation.smoothing", data_augmentation.smoothing, "0.1", 0, 1, CZ_K_MAX_EXCL),
    CHOICE_("data_augmentation.train_interpolation", data_augmentation.train_interpolation, "random",
            train_interps, CZ_K_NOCASE),
    FLT_("data_augmentation.drop", data_augmentation.drop, "0.0", 0, 1, CZ_K_MAX_EXCL),
    /* timm's deprecated drop_connect is another name for drop_path */
    {"data_augmentation.drop_path", "data_augmentation.drop_connect", CZ_KT_FLOAT,
     OFF(data_augmentation.drop_path), NULL, 0, 1, 0, 0, NULL, CZ_K_MAX_EXCL, NULL},
    FLT_("data_augmentation.drop_block", data_augmentation.drop_block, NULL, 0, 1, CZ_K_MAX_EXCL),

    /* training */
    INT_("training.epochs", training.epochs, NULL, 1, 1000000),
    INT_("training.batch_size", training.batch_size, NULL, 1, 1000000),
    INT_("training.validation_batch_size", training.validation_batch_size, NULL, 1, 1000000),
    {"training.optimizer.opt", NULL, CZ_KT_STR, OFF(training.optimizer.opt), "sgd", -INFINITY, INFINITY, 0, 0,
     optimizers, CZ_K_NOCASE | CZ_K_LOOKAHEAD, NULL},
    {"training.optimizer.opt_eps", "training.optimizer.opt-eps", CZ_KT_FLOAT,
     OFF(training.optimizer.opt_eps), NULL, 0, 1, 0, 0, NULL, CZ_K_MIN_EXCL, NULL},
    {"training.optimizer.opt_betas", "training.optimizer.opt-betas", CZ_KT_FLOATS,
     OFF(training.optimizer.opt_betas), NULL, 0, 1, 2, 3, NULL, 0, NULL},
    FLT_("training.optimizer.momentum", training.optimizer.momentum, "0.9", 0, 1, 0),
    FLT_("training.optimizer.weight_decay", training.optimizer.weight_decay, "2e-5", 0, INFINITY, 0),
    FLT_("training.optimizer.clip_grad", training.optimizer.clip_grad, NULL, 0, INFINITY, CZ_K_MIN_EXCL),
    CHOICE_("training.optimizer.clip_mode", training.optimizer.clip_mode, "norm", clip_modes, 0),
    FLT_("training.optimizer.layer_decay", training.optimizer.layer_decay, NULL, 0, INFINITY, CZ_K_MIN_EXCL),
    CHOICE_("training.lr_scheduler.sched", training.lr_scheduler.sched, "cosine", scheds, 0),
    BOOL_("training.lr_scheduler.sched_on_updates", training.lr_scheduler.sched_on_updates, "false"),
    FLT_("training.lr_scheduler.lr", training.lr_scheduler.lr, NULL, 0, INFINITY, 0),
    FLT_("training.lr_scheduler.lr_base", training.lr_scheduler.lr_base, "0.1", 0, INFINITY, CZ_K_MIN_EXCL),
    INT_("training.lr_scheduler.lr_base_size", training.lr_scheduler.lr_base_size, "256", 1, INFINITY),
    CHOICE_("training.lr_scheduler.lr_base_scale", training.lr_scheduler.lr_base_scale, NULL, lr_scales, 0),
    FLTS_("training.lr_scheduler.lr_noise", training.lr_scheduler.lr_noise, NULL, 0, INFINITY, 1, 2),
    FLT_("training.lr_scheduler.lr_noise_pct", training.lr_scheduler.lr_noise_pct, "0.67", 0, INFINITY, 0),
    FLT_("training.lr_scheduler.lr_noise_std", training.lr_scheduler.lr_noise_std, "1.0", 0, INFINITY, 0),
    FLT_("training.lr_scheduler.lr_cycle_mul", training.lr_scheduler.lr_cycle_mul, "1.0", 0, INFINITY, CZ_K_MIN_EXCL),
    FLT_("training.lr_scheduler.lr_cycle_decay", training.lr_scheduler.lr_cycle_decay, "0.5", 0, INFINITY, 0),
    INT_("training.lr_scheduler.lr_cycle_limit", training.lr_scheduler.lr_cycle_limit, "1", 1, INFINITY),
    FLT_("training.lr_scheduler.lr_k_decay", training.lr_scheduler.lr_k_decay, "1.0", 0, INFINITY, CZ_K_MIN_EXCL),
    FLT_("training.lr_scheduler.warmup_lr", training.lr_scheduler.warmup_lr, "1e-5", 0, INFINITY, 0),
    FLT_("training.lr_scheduler.min_lr", training.lr_scheduler.min_lr, "0", 0, INFINITY, 0),
    FLT_("training.lr_scheduler.epoch_repeats", training.lr_scheduler.epoch_repeats, "0", 0, INFINITY, 0),
    INT_("training.lr_scheduler.start_epoch", training.lr_scheduler.start_epoch, NULL, 0, INFINITY),
    INTS_("training.lr_scheduler.decay_milestones", training.lr_scheduler.decay_milestones,
          "[90, 180, 270]", 0, INFINITY, 1, 0),
    FLT_("training.lr_scheduler.decay_epochs", training.lr_scheduler.decay_epochs, "90", 0, INFINITY, CZ_K_MIN_EXCL),
    INT_("training.lr_scheduler.warmup_epochs", training.lr_scheduler.warmup_epochs, "5", 0, INFINITY),
    BOOL_("training.lr_scheduler.warmup_prefix", training.lr_scheduler.warmup_prefix, "false"),
    INT_("training.lr_scheduler.cooldown_epochs", training.lr_scheduler.cooldown_epochs, "0", 0, INFINITY),
    INT_("training.lr_scheduler.patience_epochs", training.lr_scheduler.patience_epochs, "10", 0, INFINITY),
    FLT_("training.lr_scheduler.decay_rate", training.lr_scheduler.decay_rate, "0.1", 0, INFINITY, CZ_K_MIN_EXCL),
    FLT_("training.bn_momentum", training.bn_momentum, NULL, 0, 1, CZ_K_MIN_EXCL),
    FLT_("training.bn_eps", training.bn_eps, NULL, 0, 1, CZ_K_MIN_EXCL),
    NOEFF_BOOL("training.sync_bn", training.sync_bn, "false", kCpu),
    NOEFF_STR("training.dist_bn", training.dist_bn, "reduce", kCpu),
    BOOL_("training.split_bn", training.split_bn, "false"),
    BOOL_("training.model_ema", training.model_ema, "false"),
    NOEFF_BOOL("training.model_ema_force_cpu", training.model_ema_force_cpu, "false", kCpu),
    FLT_("training.model_ema_decay", training.model_ema_decay, "0.9998", 0, 1, CZ_K_MAX_EXCL),
    CHOICE_("training.worker_seeding", training.worker_seeding, "all", worker_seedings, 0),
    STR_("training.trainer_name", training.trainer_name, NULL, 0),
    STR_("training.resume", training.resume, NULL, CZ_K_PATH),

    /* quantization */
    CHOICE_("quantization.quantizer", quantization.quantizer, "onnx_quantizer", quantizers, CZ_K_NOCASE),
    CHOICE_("quantization.quantization_type", quantization.quantization_type, "PTQ", quant_types, CZ_K_NOCASE),
    CHOICE_("quantization.quantization_input_type", quantization.quantization_input_type, "float",
            io_types, CZ_K_NOCASE),
    CHOICE_("quantization.quantization_output_type", quantization.quantization_output_type, "float",
            io_types, CZ_K_NOCASE),
    STR_("quantization.export_dir", quantization.export_dir, "quantized_models", CZ_K_PATH),
    ENUM_("quantization.granularity", quantization.granularity, "per_channel", granularities, CZ_K_NOCASE),
    INT_("quantization.target_opset", quantization.target_opset, "17", 13, 20),
    BOOL_("quantization.optimize", quantization.optimize, "false"),
    CHOICE_("quantization.operating_mode", quantization.operating_mode, "default", quant_modes, 0),
    ENUM_("quantization.onnx_quant_parameters.weightType",
          quantization.onnx_quant_parameters.weight_type, "Int8", qtypes, CZ_K_NOCASE),
    ENUM_("quantization.onnx_quant_parameters.activType",
          quantization.onnx_quant_parameters.activ_type, "Int8", qtypes, CZ_K_NOCASE),
    ENUM_("quantization.onnx_quant_parameters.calibrate_method",
          quantization.onnx_quant_parameters.calibrate_method, "MinMax", calibs, CZ_K_NOCASE),
    STRS_("quantization.onnx_quant_parameters.op_types_to_quantize",
          quantization.onnx_quant_parameters.op_types_to_quantize),
    STRS_("quantization.onnx_quant_parameters.nodes_to_quantize",
          quantization.onnx_quant_parameters.nodes_to_quantize),
    STRS_("quantization.onnx_quant_parameters.nodes_to_exclude",
          quantization.onnx_quant_parameters.nodes_to_exclude),
    BOOL_("quantization.onnx_extra_options.WeightSymmetric",
          quantization.onnx_extra_options.weight_symmetric, "true"),
    BOOL_("quantization.onnx_extra_options.ActivationSymmetric",
          quantization.onnx_extra_options.activation_symmetric, "false"),
    BOOL_("quantization.onnx_extra_options.CalibMovingAverage",
          quantization.onnx_extra_options.calib_moving_average, "false"),
    FLT_("quantization.onnx_extra_options.CalibMovingAverageConstant",
         quantization.onnx_extra_options.calib_moving_average_constant, "0.01", 0, 1,
         CZ_K_MIN_EXCL | CZ_K_MAX_EXCL),
    BOOL_("quantization.onnx_extra_options.QuantizeBias",
          quantization.onnx_extra_options.quantize_bias, "true"),
    BOOL_("quantization.onnx_extra_options.SmoothQuant",
          quantization.onnx_extra_options.smooth_quant, "false"),
    FLT_("quantization.onnx_extra_options.SmoothQuantAlpha",
         quantization.onnx_extra_options.smooth_quant_alpha, "0.5", 0, 1, 0),
    BOOL_("quantization.onnx_extra_options.SmoothQuantFolding",
          quantization.onnx_extra_options.smooth_quant_folding, "true"),

    /* evaluation */
    CHOICE_("evaluation.target", evaluation.target, "host", targets, 0),
    STR_("evaluation.profile", evaluation.profile, "profile_O3", 0),
    CHOICE_("evaluation.input_type", evaluation.input_type, "uint8", data_types, 0),
    CHOICE_("evaluation.output_type", evaluation.output_type, "int8", data_types, 0),
    CHOICE_("evaluation.input_chpos", evaluation.input_chpos, "chlast", chpos, 0),
    CHOICE_("evaluation.output_chpos", evaluation.output_chpos, "chlast", chpos, 0),
    BOOL_("evaluation.gen_npy_input", evaluation.gen_npy_input, "false"),
    BOOL_("evaluation.gen_npy_output", evaluation.gen_npy_output, "false"),
    STR_("evaluation.npy_in_name", evaluation.npy_in_name, NULL, 0),
    STR_("evaluation.npy_out_name", evaluation.npy_out_name, NULL, 0),

    /* prediction */
    INT_("prediction.seed", prediction.seed, NULL, 0, 4294967295.0),
    CHOICE_("prediction.target", prediction.target, "host", targets, 0),
    STR_("prediction.profile", prediction.profile, "profile_O3", 0),
    CHOICE_("prediction.input_type", prediction.input_type, "uint8", data_types, 0),
    CHOICE_("prediction.output_type", prediction.output_type, "int8", data_types, 0),
    CHOICE_("prediction.input_chpos", prediction.input_chpos, "chlast", chpos, 0),
    CHOICE_("prediction.output_chpos", prediction.output_chpos, "chlast", chpos, 0),

    /* tools, benchmarking, deployment */
    CHOICE_("tools.stedgeai.optimization", tools.optimization, "balanced", optimizations, 0),
    BOOL_("tools.stedgeai.on_cloud", tools.on_cloud, "false"),
    STR_("tools.stedgeai.path_to_stedgeai", tools.path_to_stedgeai, NULL, CZ_K_PATH),
    STR_("tools.path_to_cubeIDE", tools.path_to_cube_ide, NULL, CZ_K_PATH),
    CHOICE_("benchmarking.board", benchmarking_board, NULL, boards, 0),
    STR_("deployment.c_project_path", deployment.c_project_path, NULL, CZ_K_PATH),
    CHOICE_("deployment.IDE", deployment.ide, "GCC", ides, CZ_K_NOCASE),
    INT_("deployment.verbosity", deployment.verbosity, "1", 0, 3),
    STR_("deployment.board_deploy_path", deployment.board_deploy_path, NULL, 0),
    STR_("deployment.hardware_setup.serie", deployment.hardware_setup.serie, NULL, 0),
    CHOICE_("deployment.hardware_setup.board", deployment.hardware_setup.board, NULL, boards, 0),
    STR_("deployment.hardware_setup.stlink_serial_number",
         deployment.hardware_setup.stlink_serial_number, NULL, 0),
    STR_("deployment.hardware_setup.input", deployment.hardware_setup.input, NULL, 0),
    STR_("deployment.hardware_setup.output", deployment.hardware_setup.output, NULL, 0),
    STR_("deployment.hardware_setup.ip_address", deployment.hardware_setup.ip_address, NULL, 0),

    /* mlflow, hydra */
    STR_("mlflow.uri", mlflow_uri, "./experiments_outputs/mlruns", CZ_K_PATH),
    STR_("hydra.run.dir", hydra_run_dir, "experiments_outputs/${now:%Y_%m_%d_%H_%M_%S}", CZ_K_PATH),
};
const size_t cz_n_keys = sizeof cz_keys / sizeof cz_keys[0];

const cz_key *cz_schema_find(const char *path, int *via_alias) {
  for (size_t i = 0; i < cz_n_keys; i++) {
    if (strcmp(cz_keys[i].path, path) == 0) {
      if (via_alias) *via_alias = 0;
      return &cz_keys[i];
    }
    if (cz_keys[i].alias && strcmp(cz_keys[i].alias, path) == 0) {
      if (via_alias) *via_alias = 1;
      return &cz_keys[i];
    }
  }
  return NULL;
}

static int below(const char *key, const char *path, size_t n) {
  return key && strncmp(key, path, n) == 0 && key[n] == '.';
}

int cz_schema_is_section(const char *path) {
  size_t n = strlen(path);
  for (size_t i = 0; i < cz_n_keys; i++)
    if (below(cz_keys[i].path, path, n) || below(cz_keys[i].alias, path, n)) return 1;
  return 0;
}
