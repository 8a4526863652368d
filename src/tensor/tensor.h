/* Tensor shapes, element types and the two memory layouts of the engine:
 * shapes are always logical (ONNX order, e.g. [N,C,H,W]); a layout says how
 * the elements of that logical shape are placed in memory. */
#ifndef CZ_TENSOR_TENSOR_H
#define CZ_TENSOR_TENSOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { CZ_F32 = 0, CZ_I64, CZ_I32, CZ_I8, CZ_U8 } cz_dtype;

#define CZ_MAX_RANK 6
typedef struct {
  int rank;
  int64_t d[CZ_MAX_RANK];
} cz_shape;

/* ROWMAJOR: C order of the logical shape. NHWC: rank 4 only; logical
 * [N,C,H,W] stored as N,H,W,C (the engine's activation layout). */
typedef enum { CZ_ROWMAJOR = 0, CZ_NHWC } cz_layout;

/* A non-owning view: what kernels receive. */
typedef struct {
  void *data;
  cz_dtype dtype;
  cz_shape shape;
  cz_layout layout;
} cz_tensor;

size_t cz_dtype_size(cz_dtype t);
const char *cz_dtype_name(cz_dtype t);

cz_shape cz_shape_make(int rank, const int64_t *d);
cz_shape cz_shape1(int64_t a);
cz_shape cz_shape2(int64_t a, int64_t b);
cz_shape cz_shape4(int64_t n, int64_t c, int64_t h, int64_t w);
int64_t cz_shape_numel(const cz_shape *s);
bool cz_shape_eq(const cz_shape *a, const cz_shape *b);
/* "[1,3,224,224]" into buf (always terminated); returns buf. */
char *cz_shape_str(const cz_shape *s, char *buf, size_t size);
#define CZ_SHAPE_STR_MAX 160

/* Memory strides (in elements) of each logical axis. */
void cz_strides(const cz_shape *s, cz_layout l, int64_t st[CZ_MAX_RANK]);
/* Physical extents N,H,W,C of an NHWC tensor (or the shape itself for
 * ROWMAJOR), outermost first. */
void cz_physical_dims(const cz_shape *s, cz_layout l, int64_t pd[CZ_MAX_RANK]);

static inline int64_t cz_numel(const cz_tensor *t) { return cz_shape_numel(&t->shape); }
static inline float *cz_f32(const cz_tensor *t) { return (float *)t->data; }

/* Copies elements of logical shape s from one layout to another (dtype of
 * elem_size bytes). Same layout is a memcpy. */
void cz_relayout(const void *src, cz_layout ls, void *dst, cz_layout ld,
                 const cz_shape *s, size_t elem_size);
/* General strided copy over a logical shape: dst[i] = src[i] for every
 * logical index i, each side addressed with its own strides. */
void cz_strided_copy(const void *src, const int64_t *sst, void *dst,
                     const int64_t *dst_st, const cz_shape *s, size_t elem_size);

#endif
