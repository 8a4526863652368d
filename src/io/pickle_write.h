/* Pickling a cz_pyval tree the way torch.save does (protocol 2, CPython's
 * opcodes): tensors become _rebuild_tensor_v2 calls on storages named by
 * persistent ids ('storage', torch.<T>Storage, key, 'cpu', numel), whose
 * bytes the caller writes as the archive's data/<key> records. Only opcodes
 * that torch's weights_only unpickler accepts are used (plus BINFLOAT and
 * BINBYTES, for floats and bytes). */
#ifndef CZ_IO_PICKLE_WRITE_H
#define CZ_IO_PICKLE_WRITE_H
#include "io/pyval.h"
#include "util/err.h"
#include "util/strbuf.h"

/* out receives the pickle; tensors[i] (not owned, in the tree) is the
 * storage with key "<i>". `what` names the file in messages. */
cz_err *cz_pickle_write(const cz_pyval *root, const char *what, cz_strbuf *out,
                        const cz_pyval ***tensors, int *ntensors);
#endif
