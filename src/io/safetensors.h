/* safetensors files (https://github.com/huggingface/safetensors, format
 * section of its README): an 8-byte little-endian header length N, N bytes
 * of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {str: str}}, then the data, every tensor row-major and
 * little-endian, the byte ranges relative to the data's start. */
#ifndef CZ_IO_SAFETENSORS_H
#define CZ_IO_SAFETENSORS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/tensor_dict.h"
#include "util/err.h"

/* The reference implementation's bound on the header (MAX_HEADER_SIZE). */
enum { CZ_SAFETENSORS_MAX_HEADER = 100000000 };

/* True when buf starts like a safetensors file (a plausible length, then
 * a JSON object). */
bool cz_safetensors_sniff(const uint8_t *buf, size_t size);
/* F32/F16/BF16/F64 become float32; I64, I32, I8, U8 keep their type; BOOL
 * becomes uint8 0/1. The tensors' ranges must tile the data exactly. */
cz_err *cz_safetensors_read_mem(const uint8_t *buf, size_t size, const char *what, cz_tensor_dict **out);
cz_err *cz_safetensors_read(const char *path, cz_tensor_dict **out);
/* Writes d atomically, with __metadata__ {"format": "pt"} as
 * safetensors.torch.save_file does. */
cz_err *cz_safetensors_write(const char *path, const cz_tensor_dict *d);
#endif
