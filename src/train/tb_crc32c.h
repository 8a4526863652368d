/* CRC-32C (Castagnoli), the checksum of TFRecord framing, and the "masked"
 * form TensorFlow/TensorBoard store (tensorflow/core/lib/hash/crc32c.h,
 * tensorboard/compat/tensorflow_stub/pywrap_tensorflow.py::masked_crc32c). */
#ifndef CZ_TRAIN_TB_CRC32C_H
#define CZ_TRAIN_TB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..n): reflected polynomial 0x82F63B78, initial value and
 * final xor 0xFFFFFFFF (RFC 3720 appendix B.4). */
uint32_t cz_crc32c(const void *data, size_t n);

/* ((crc >> 15) | (crc << 17)) + 0xA282EAD8, all mod 2^32. */
uint32_t cz_crc32c_mask(uint32_t crc);

#endif
