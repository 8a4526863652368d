/* torch.save-style pickler (pickle_write.h). Opcodes: CPython's
 * Lib/pickle.py; tensor reduction: torch/_tensor.py (_reduce_ex_internal)
 * and torch/serialization.py (persistent_id). */
#include "io/pickle_write.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct {
  const cz_pyval *v;
  uint32_t idx;
} memo_slot;

typedef struct {
  cz_strbuf *b;
  const char *what;
  const cz_pyval **t;
  int nt, tcap;
  /* Values referred to more than once are written once and then fetched
   * from the memo (BINPUT/BINGET), as CPython's pickler does: a shared
   * value costs one copy, in the file and when read back. */
  memo_slot *memo;
  size_t mcap, mn;
} pw;

static void op(pw *w, uint8_t c) { cz_sb_appendn(w->b, (const char *)&c, 1); }
static void raw(pw *w, const void *p, size_t n) { cz_sb_appendn(w->b, p, n); }
static void le(pw *w, uint64_t v, int n) {
  for (int i = 0; i < n; i++) op(w, (uint8_t)(v >> (8 * i)));
}

static void put_int(pw *w, int64_t v) {
  if (v >= 0 && v < 256) {
    op(w, 'K');
    op(w, (uint8_t)v);
  } else if (v >= 0 && v < 65536) {
    op(w, 'M');
    le(w, (uint64_t)v, 2);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    op(w, 'J');
    le(w, (uint64_t)(uint32_t)(int32_t)v, 4);
  } else {
    /* LONG1: little-endian two's complement, as few bytes as keep the sign */
    int n = 8;
    while (n > 1) {
      int64_t top = v >> (8 * (n - 1) - 1); /* the bits above a (n-1)-byte value's sign bit */
      if (top != 0 && top != -1) break;
      n--;
    }
    op(w, 0x8a);
    op(w, (uint8_t)n);
    le(w, (uint64_t)v, n);
  }
}

static void put_str(pw *w, const char *s, size_t n, uint8_t kind_op) {
  op(w, kind_op); /* 'X' BINUNICODE or 'B' BINBYTES: 4-byte length */
  le(w, n, 4);
  raw(w, s, n);
}

static void put_global(pw *w, const char *module, const char *name) {
  op(w, 'c');
  raw(w, module, strlen(module));
  op(w, '\n');
  raw(w, name, strlen(name));
  op(w, '\n');
}

static void put_empty_ordered_dict(pw *w) {
  put_global(w, "collections", "OrderedDict");
  op(w, ')');
  op(w, 'R');
}

static const char *storage_name(cz_dtype dt) {
  switch (dt) {
    case CZ_F32: return "FloatStorage";
    case CZ_I64: return "LongStorage";
    case CZ_I32: return "IntStorage";
    case CZ_I8: return "CharStorage";
    default: return "ByteStorage";
  }
}

static cz_err *put(pw *w, const cz_pyval *v);

static size_t slot_of(const pw *w, const cz_pyval *v) {
  size_t h = ((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15u;
  size_t i = h & (w->mcap - 1);
  while (w->memo[i].v && w->memo[i].v != v) i = (i + 1) & (w->mcap - 1);
  return i;
}

static void memo_add(pw *w, const cz_pyval *v) {
  if (2 * (w->mn + 1) > w->mcap) {
    memo_slot *old = w->memo;
    size_t oldcap = w->mcap;
    w->mcap = w->mcap ? 2 * w->mcap : 64;
    w->memo = cz_xcalloc(w->mcap, sizeof *w->memo);
    for (size_t i = 0; i < oldcap; i++)
      if (old[i].v) w->memo[slot_of(w, old[i].v)] = old[i];
    free(old);
  }
  uint32_t idx = (uint32_t)w->mn++;
  w->memo[slot_of(w, v)] = (memo_slot){v, idx};
  if (idx < 256) {
    op(w, 'q');
    op(w, (uint8_t)idx);
  } else {
    op(w, 'r');
    le(w, idx, 4);
  }
}

/* True (and the BINGET written) when v was written before. */
static bool memo_get(pw *w, const cz_pyval *v) {
  if (!w->mcap) return false;
  const memo_slot *m = &w->memo[slot_of(w, v)];
  if (!m->v) return false;
  if (m->idx < 256) {
    op(w, 'h');
    op(w, (uint8_t)m->idx);
  } else {
    op(w, 'j');
    le(w, m->idx, 4);
  }
  return true;
}

static void put_tensor(pw *w, const cz_pyval *v) {
  if (w->nt == w->tcap) {
    w->tcap = w->tcap ? 2 * w->tcap : 16;
    w->t = cz_xrealloc(w->t, (size_t)w->tcap * sizeof *w->t);
  }
  int key = w->nt;
  w->t[w->nt++] = v;
  const cz_named_tensor *t = &v->tensor;
  put_global(w, "torch._utils", "_rebuild_tensor_v2");
  op(w, '(');
  /* the storage */
  op(w, '(');
  put_str(w, "storage", 7, 'X');
  put_global(w, "torch", storage_name(t->dtype));
  char k[24];
  int kn = snprintf(k, sizeof k, "%d", key);
  put_str(w, k, (size_t)kn, 'X');
  put_str(w, "cpu", 3, 'X');
  put_int(w, cz_shape_numel(&t->shape));
  op(w, 't');
  op(w, 'Q');
  put_int(w, 0); /* storage offset */
  int64_t stride[CZ_MAX_RANK];
  int64_t s = 1;
  for (int i = t->shape.rank - 1; i >= 0; i--) {
    stride[i] = s;
    s *= t->shape.d[i];
  }
  op(w, '(');
  for (int i = 0; i < t->shape.rank; i++) put_int(w, t->shape.d[i]);
  op(w, 't');
  op(w, '(');
  for (int i = 0; i < t->shape.rank; i++) put_int(w, stride[i]);
  op(w, 't');
  op(w, 0x89); /* requires_grad False */
  put_empty_ordered_dict(w); /* backward hooks */
  op(w, 't');
  op(w, 'R');
}

static cz_err *put(pw *w, const cz_pyval *v) {
  cz_err *e = NULL;
  bool shared = v->refs > 1 && v->kind >= CZ_PY_STR;
  if (shared && memo_get(w, v)) return NULL;
  switch (v->kind) {
    case CZ_PY_NONE: op(w, 'N'); break;
    case CZ_PY_BOOL: op(w, v->b ? 0x88 : 0x89); break;
    case CZ_PY_INT: put_int(w, v->i); break;
    case CZ_PY_FLOAT: {
      uint64_t bits;
      memcpy(&bits, &v->f, 8);
      op(w, 'G');
      for (int i = 7; i >= 0; i--) op(w, (uint8_t)(bits >> (8 * i)));
      break;
    }
    case CZ_PY_STR:
    case CZ_PY_BYTES:
      if (v->str.len > UINT32_MAX) return cz_err_new(CZ_EXIT_RUNTIME, "%s: a string is too long to save", w->what);
      put_str(w, v->str.s, v->str.len, v->kind == CZ_PY_STR ? 'X' : 'B');
      break;
    case CZ_PY_LIST:
      op(w, ']');
      if (v->seq.n) {
        op(w, '(');
        for (int i = 0; i < v->seq.n && !e; i++) e = put(w, v->seq.items[i]);
        op(w, 'e');
      }
      break;
    case CZ_PY_TUPLE:
      op(w, '(');
      for (int i = 0; i < v->seq.n && !e; i++) e = put(w, v->seq.items[i]);
      op(w, 't');
      break;
    case CZ_PY_DICT:
      if (v->ordered)
        put_empty_ordered_dict(w);
      else
        op(w, '}');
      if (v->dict.n) {
        op(w, '(');
        for (int i = 0; i < v->dict.n && !e; i++) {
          e = put(w, v->dict.keys[i]);
          if (!e) e = put(w, v->dict.vals[i]);
        }
        op(w, 'u');
      }
      if (v->attrs && !e) { /* OrderedDict.__reduce__'s state: BUILD after the items */
        e = put(w, v->attrs);
        op(w, 'b');
      }
      break;
    case CZ_PY_TENSOR: put_tensor(w, v); break;
    default:
      return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot save a %s", w->what, cz_py_kind_name(v->kind));
  }
  if (shared && !e) memo_add(w, v);
  return e;
}

cz_err *cz_pickle_write(const cz_pyval *root, const char *what, cz_strbuf *out,
                        const cz_pyval ***tensors, int *ntensors) {
  pw w = {out, what, NULL, 0, 0, NULL, 0, 0};
  op(&w, 0x80);
  op(&w, 2);
  cz_err *e = put(&w, root);
  op(&w, '.');
  free(w.memo);
  *tensors = w.t;
  *ntensors = w.nt;
  return e;
}
