/* The typed, validated configuration: every section and key of the
 * model-zoo YAML, read once into these structs. Nothing after config/
 * reads raw YAML. All strings and lists are owned by the cz_config and
 * freed by cz_config_free. A value's `set` is false when the user gave
 * none and the key has no default. */
#ifndef CZ_CONFIG_CFG_H
#define CZ_CONFIG_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { bool set; bool v; } cz_cbool;
typedef struct { bool set; int64_t v; } cz_cint;
typedef struct { bool set; double v; } cz_cfloat;
typedef struct { bool set; char *v; } cz_cstr;
typedef struct { bool set; int v; } cz_cenum; /* index into the key's choices */
typedef struct { bool set; size_t n; int64_t *v; } cz_cints;
typedef struct { bool set; size_t n; double *v; } cz_cfloats;
typedef struct { bool set; size_t n; char **v; } cz_cstrs;

/* operation_mode; order matches cz_mode_names. */
typedef enum {
  CZ_MODE_TRAINING,
  CZ_MODE_EVALUATION,
  CZ_MODE_QUANTIZATION,
  CZ_MODE_PREDICTION,
  CZ_MODE_BENCHMARKING,
  CZ_MODE_DEPLOYMENT,
  CZ_MODE_CHAIN_TQEB,
  CZ_MODE_CHAIN_TQE,
  CZ_MODE_CHAIN_EQE,
  CZ_MODE_CHAIN_QB,
  CZ_MODE_CHAIN_EQEB,
  CZ_MODE_CHAIN_QD,
  CZ_MODE_COUNT
} cz_mode;
extern const char *const cz_mode_names[];

typedef enum { CZ_METRIC_TOP1, CZ_METRIC_TOP5, CZ_METRIC_LOSS } cz_metric;
typedef enum {
  CZ_DS_IMAGENET, CZ_DS_CUSTOM, CZ_DS_FLOWERS102, CZ_DS_FOOD101,
  CZ_DS_FASHION_MNIST, CZ_DS_MNIST
} cz_dataset_kind;
typedef enum { CZ_INTERP_NEAREST, CZ_INTERP_BILINEAR, CZ_INTERP_BICUBIC, CZ_INTERP_AREA } cz_interp;
typedef enum { CZ_ASPECT_FIT, CZ_ASPECT_CROP, CZ_ASPECT_PADDING } cz_aspect;
/* preprocessing.resizing.mode: timm's eval resize, or the two keys above */
typedef enum { CZ_RESIZE_TIMM, CZ_RESIZE_CONFIG } cz_resize_mode;
typedef enum { CZ_COLOR_GRAYSCALE, CZ_COLOR_RGB, CZ_COLOR_RGBA } cz_color_mode;
typedef enum { CZ_GRAN_PER_CHANNEL, CZ_GRAN_PER_TENSOR } cz_granularity;
typedef enum { CZ_QTYPE_INT8, CZ_QTYPE_UINT8 } cz_qtype;
typedef enum { CZ_CALIB_MINMAX, CZ_CALIB_ENTROPY, CZ_CALIB_PERCENTILE } cz_calib;

typedef struct {
  cz_cstr project_name, output, saved_models_dir, device;
  cz_cbool display_figures;
  cz_cint seed, workers, log_interval, recovery_interval, checkpoint_hist;
  cz_cfloat gpu_memory_limit;
  cz_cbool save_images, amp;
  cz_cstr amp_dtype, amp_impl;
  cz_cbool no_ddp_bb, synchronize_step, pin_mem, no_prefetcher;
  cz_cenum eval_metric; /* cz_metric */
  cz_cint tta, local_rank;
  cz_cbool use_multi_epochs_loader, log_wandb, log_tb;
} cz_cfg_general;

typedef struct {
  cz_cstr framework, model_path, model_name, model_type, pretrained_dataset,
      pretrained_path;
  cz_cints input_shape; /* [C, H, W] */
  cz_cbool pretrained;
} cz_cfg_model;

typedef struct {
  cz_cenum dataset_name; /* cz_dataset_kind */
  cz_cstrs class_names;
  cz_cstr classes_file_path, training_path, validation_path, test_path,
      quantization_path, prediction_path, data_dir, train_split, val_split, test_split;
  cz_cfloat validation_split, quantization_split;
  cz_cbool check_image_files, data_download;
  cz_cint seed, num_classes;
} cz_cfg_dataset;

typedef struct {
  cz_cfloat scale, offset;          /* rescaling: out = scale * in + offset */
  cz_cenum interpolation;           /* resizing.interpolation, cz_interp */
  cz_cenum aspect_ratio;            /* resizing.aspect_ratio, cz_aspect */
  cz_cenum resize_mode;             /* resizing.mode, cz_resize_mode */
  cz_cenum color_mode;              /* cz_color_mode */
  cz_cfloats mean, std;
} cz_cfg_preprocessing;

typedef struct {
  cz_cbool no_aug;
  cz_cfloats scale, ratio, color_jitter, cutmix_minmax;
  cz_cfloat hflip, vflip, reprob, mixup, cutmix, mixup_prob, mixup_switch_prob,
      smoothing, bce_target_thresh, drop, drop_path, drop_block;
  cz_cstr aa, remode, mixup_mode, train_interpolation;
  cz_cint aug_repeats, aug_splits, recount;
  cz_cbool jsd_loss, bce_loss, resplit;
} cz_cfg_augmentation;

typedef struct {
  cz_cstr opt;
  cz_cfloat opt_eps, momentum, weight_decay, clip_grad, layer_decay;
  cz_cfloats opt_betas;
  cz_cstr clip_mode;
} cz_cfg_optimizer;

typedef struct {
  cz_cstr sched, lr_base_scale;
  cz_cbool sched_on_updates, warmup_prefix;
  cz_cfloat lr, lr_base, lr_noise_pct, lr_noise_std, lr_cycle_mul, lr_cycle_decay,
      lr_k_decay, warmup_lr, min_lr, epoch_repeats, decay_epochs, decay_rate;
  cz_cint lr_base_size, lr_cycle_limit, start_epoch, warmup_epochs, cooldown_epochs,
      patience_epochs;
  cz_cfloats lr_noise;
  cz_cints decay_milestones;
} cz_cfg_scheduler;

typedef struct {
  cz_cint epochs, batch_size, validation_batch_size;
  cz_cfg_optimizer optimizer;
  cz_cfg_scheduler lr_scheduler;
  cz_cfloat bn_momentum, bn_eps, model_ema_decay;
  cz_cbool sync_bn, split_bn, model_ema, model_ema_force_cpu;
  cz_cstr dist_bn, worker_seeding, trainer_name;
  cz_cstr resume; /* czoo extension: a checkpoint to continue from exactly */
} cz_cfg_training;

typedef struct {
  cz_cstr quantizer, quantization_type, quantization_input_type,
      quantization_output_type, export_dir, operating_mode;
  cz_cenum granularity; /* cz_granularity */
  cz_cint target_opset;
  cz_cbool optimize;
  struct {
    cz_cenum weight_type, activ_type; /* cz_qtype */
    cz_cenum calibrate_method;        /* cz_calib */
    cz_cstrs op_types_to_quantize, nodes_to_quantize, nodes_to_exclude;
  } onnx_quant_parameters;
  struct {
    cz_cbool weight_symmetric, activation_symmetric, calib_moving_average,
        quantize_bias, smooth_quant, smooth_quant_folding;
    cz_cfloat calib_moving_average_constant, smooth_quant_alpha;
  } onnx_extra_options;
} cz_cfg_quantization;

typedef struct {
  cz_cstr target, profile, input_type, output_type, input_chpos, output_chpos,
      npy_in_name, npy_out_name;
  cz_cbool gen_npy_input, gen_npy_output;
  cz_cint seed; /* prediction only */
} cz_cfg_target_run;

typedef struct {
  cz_cstr optimization, path_to_stedgeai, path_to_cube_ide;
  cz_cbool on_cloud;
} cz_cfg_tools;

typedef struct {
  cz_cstr c_project_path, ide, board_deploy_path;
  cz_cint verbosity;
  struct {
    cz_cstr serie, board, stlink_serial_number, input, output, ip_address;
  } hardware_setup;
} cz_cfg_deployment;

typedef struct {
  cz_cenum operation_mode; /* cz_mode */
  cz_cstr use_case;
  cz_cfg_general general;
  cz_cfg_model model;
  cz_cfg_dataset dataset;
  cz_cfg_preprocessing preprocessing;
  cz_cfg_augmentation data_augmentation;
  cz_cfg_training training;
  cz_cfg_quantization quantization;
  cz_cfg_target_run evaluation, prediction;
  cz_cfg_tools tools;
  cz_cstr benchmarking_board;
  cz_cfg_deployment deployment;
  cz_cstr mlflow_uri;
  cz_cstr hydra_run_dir;
} cz_config;

void cz_config_free(cz_config *cfg);

#endif
