/* Placeholders: data-movement ops (being written). */
#include "ops/op_stub.h"
CZ_OP_STUB(Concat)
CZ_OP_STUB(Split)
CZ_OP_STUB(Slice)
CZ_OP_STUB(Reshape)
CZ_OP_STUB(Flatten)
CZ_OP_STUB(Transpose)
CZ_OP_STUB(Pad)
CZ_OP_STUB(Identity)
