/* One entry point for weights files: the format is taken from the content
 * (a zip archive: torch.save; else a safetensors header), never the name. */
#ifndef CZ_IO_WEIGHTS_FILE_H
#define CZ_IO_WEIGHTS_FILE_H
#include "tensor/tensor_dict.h"
#include "util/err.h"

/* The file's state_dict (for a torch checkpoint: `state_dict`, else
 * `model`, else the dict itself, `module.` stripped). */
cz_err *cz_weights_read(const char *path, cz_tensor_dict **out);
#endif
