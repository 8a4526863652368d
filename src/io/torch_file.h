/* PyTorch checkpoint files in the zip format of torch.save (torch >= 1.6):
 * reading into a cz_pyval tree (through the restricted unpickler, never
 * running anything), picking the state_dict out of a checkpoint, and writing
 * a tree that torch.load(path, weights_only=True) reads. */
#ifndef CZ_IO_TORCH_FILE_H
#define CZ_IO_TORCH_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/pyval.h"
#include "tensor/tensor_dict.h"
#include "util/err.h"

/* The pickle of a torch.save file before torch 1.6 starts with this magic
 * number (a LONG1 of 0x1950a86a20f9469cfc6c). */
bool cz_torch_is_legacy(const uint8_t *buf, size_t size);

cz_err *cz_torch_load(const char *path, cz_pyval **out);
/* The same from memory; `what` names the source in messages. */
cz_err *cz_torch_load_mem(const uint8_t *buf, size_t size, const char *what, cz_pyval **out);

typedef enum {
  CZ_SD_DEFAULT, /* `state_dict`, else `model`, else the dict itself */
  CZ_SD_EMA,     /* `state_dict_ema` (timm's EMA weights) */
} cz_sd_pick;

/* The tensors of a checkpoint as the tool we replace picks them (its
 * torch_utils: `state_dict`, else `model`, else the dict itself), with a
 * DataParallel `module.` prefix stripped from every name that has it.
 * Every value must be a tensor. */
cz_err *cz_torch_state_dict(const cz_pyval *root, const char *path, cz_tensor_dict **out);
/* Like cz_torch_state_dict, but consumes root (one reference), moving the
 * tensors' data instead of copying it. */
cz_err *cz_torch_state_dict_take(cz_pyval *root, const char *path, cz_tensor_dict **out);
cz_err *cz_torch_state_dict_pick(const cz_pyval *root, const char *path, cz_sd_pick pick,
                                 cz_tensor_dict **out);

/* Writes root (any tree of the public kinds; a tensor dict should be an
 * ordered dict) atomically. floats are written as BINFLOAT, which torch's
 * weights_only unpickler reads from torch 2.0 on (1.13's does not know it;
 * a tree without floats reads there too). */
cz_err *cz_torch_save(const char *path, const cz_pyval *root);
#endif
