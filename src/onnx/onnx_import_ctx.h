/* The ONNX importer's per-node context and helpers (onnx_import_ctx.c),
 * shared by the folding of shape arithmetic (onnx_import_fold.c) and the
 * mapping to czoo ops (onnx_import_node.c). Not a public interface. */
#ifndef CZ_ONNX_ONNX_IMPORT_CTX_H
#define CZ_ONNX_ONNX_IMPORT_CTX_H
#include <stdbool.h>
#include <stdint.h>

#include "onnx/onnx_import_priv.h"

typedef struct {
  imp *m;
  const Onnx__NodeProto *np;
  const char *name; /* node name (made up when the file has none) */
  const char *op;
  imp_name *in[IMP_MAX_NODE_IO]; /* NULL: absent optional input */
  int n_in;
} ix_ctx;

cz_err *ix_nerr(const ix_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *ix_aname(const Onnx__AttributeProto *a);
char *ix_astr(const Onnx__AttributeProto *a);
const Onnx__AttributeProto *ix_attr(const ix_ctx *c, const char *name);
int64_t ix_attr_int(const ix_ctx *c, const char *name, int64_t dflt);
/* Integers from attribute `name` (before opset `since`) or constant input
 * `slot` (from `since`); *count -1: absent. */
cz_err *ix_int_list(const ix_ctx *c, const char *name, int slot, int since, int64_t *out,
                    int max, int *count);
imp_name *ix_out_entry(ix_ctx *c, int i);
void ix_set_const(ix_ctx *c, int i, imp_const *k);
bool ix_all_const(const ix_ctx *c);
bool ix_has_batch(const imp_const *k);
cz_err *ix_fold_size_ok(const ix_ctx *c, const cz_shape *s);
imp_const *ix_const_copy(const imp_const *k, cz_shape s);
char *ix_fresh_name(imp *m, const char *base, const char *suffix);
cz_err *ix_value_as(ix_ctx *c, imp_name *e, bool buffer, bool fixed, int *out);
cz_err *ix_value_of(ix_ctx *c, imp_name *e, bool buffer, int *out);
void ix_register_outputs(ix_ctx *c, int node);
int ix_emit(ix_ctx *c, const char *op, int n_in, const int *in);
cz_err *ix_shape_of(ix_ctx *c, const imp_name *e, cz_shape *s);
cz_err *ix_emit_reshape(ix_ctx *c, imp_name *x, const cz_shape *to, int batch_at);

/* Folding (onnx_import_fold.c): each imports node c->np. */
cz_err *ix_norm_axis(const ix_ctx *c, int64_t axis, int rank, bool end_ok, int *out);
cz_err *ix_do_constant(ix_ctx *c);
cz_err *ix_do_alias(ix_ctx *c);
cz_err *ix_do_shape(ix_ctx *c);
cz_err *ix_do_gather(ix_ctx *c);
cz_err *ix_do_squeeze(ix_ctx *c, bool unsq);
cz_err *ix_do_concat_const(ix_ctx *c);
cz_err *ix_do_arith_const(ix_ctx *c);
cz_err *ix_do_cast(ix_ctx *c);
cz_err *ix_do_reshape(ix_ctx *c);
cz_err *ix_do_reducemean(ix_ctx *c);
#endif
