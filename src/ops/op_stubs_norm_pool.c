/* Placeholders: BatchNormalization and pooling (being written). */
#include "ops/op_stub.h"
CZ_OP_STUB(BatchNormalization)
CZ_OP_STUB(MaxPool)
CZ_OP_STUB(AveragePool)
CZ_OP_STUB(GlobalAveragePool)
