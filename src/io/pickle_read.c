/* Restricted unpickler (pickle_read.h). Opcode values and semantics follow
 * CPython's Lib/pickle.py; the storage persistent id and the tensor rebuild
 * arguments follow torch/serialization.py and torch/_utils.py. */
#include "io/pickle_read.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/half.h"
#include "util/mem.h"

/* The allow-list: everything a GLOBAL may name. */
enum {
  G_ORDERED_DICT,
  G_REBUILD_TENSOR_V2,
  G_REBUILD_PARAMETER,
  G_ARGPARSE_NAMESPACE,
  G_SIMPLE_NAMESPACE,
  G_STORAGE0, /* the storage types follow, in the order of kStorages */
};

typedef enum { S_F32, S_F64, S_F16, S_BF16, S_I64, S_I32, S_I8, S_U8, S_BOOL } sdtype;
static const struct {
  const char *name;
  int size;
  cz_dtype out;
} kStorages[] = {
    {"FloatStorage", 4, CZ_F32}, {"DoubleStorage", 8, CZ_F32}, {"HalfStorage", 2, CZ_F32},
    {"BFloat16Storage", 2, CZ_F32}, {"LongStorage", 8, CZ_I64}, {"IntStorage", 4, CZ_I32},
    {"CharStorage", 1, CZ_I8},    {"ByteStorage", 1, CZ_U8},   {"BoolStorage", 1, CZ_U8},
};
enum { N_STORAGES = sizeof kStorages / sizeof kStorages[0] };

static const struct {
  const char *module, *name;
} kGlobals[] = {
    {"collections", "OrderedDict"},
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch._utils", "_rebuild_parameter"},
    /* timm's train.py saves its argparse.Namespace as `args`; the tool we
     * replace saves a types.SimpleNamespace. Both become a dict. */
    {"argparse", "Namespace"},
    {"types", "SimpleNamespace"},
};
enum { N_GLOBALS = sizeof kGlobals / sizeof kGlobals[0] };

static const char *global_name(int g, char *buf, size_t n) {
  if (g < G_STORAGE0)
    snprintf(buf, n, "%s.%s", kGlobals[g].module, kGlobals[g].name);
  else
    snprintf(buf, n, "torch.%s", kStorages[g - G_STORAGE0].name);
  return buf;
}

typedef struct {
  char *key;
  cz_pyval *v;
} cached_storage;

typedef struct {
  const uint8_t *p, *end;
  const cz_unpickle_opts *o;
  cz_pyval **stack;
  int sp, scap;
  int *marks;
  int nmarks, mcap;
  cz_pyval **memo;
  int memo_cap;
  int memo_next; /* MEMOIZE's index: the memo's length */
  cached_storage *st;
  int nst, stcap;
  uint64_t used; /* tensor bytes materialized */
} up;

static cz_err *fail(const up *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cz_err *fail(const up *u, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "%s: %s", u->o->what, msg);
  free(msg);
  return e;
}
#define FAIL(...) fail(u, __VA_ARGS__)

static cz_err *need(up *u, size_t n) {
  if ((size_t)(u->end - u->p) < n) return FAIL("pickle data ends inside an opcode's argument");
  return NULL;
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static cz_err *push(up *u, cz_pyval *v) {
  if (u->sp == CZ_PICKLE_MAX_STACK) {
    cz_py_free(v);
    return FAIL("pickle stack exceeds %s values", "4194304");
  }
  if (u->sp == u->scap) {
    u->scap = u->scap ? 2 * u->scap : 64;
    u->stack = cz_xrealloc(u->stack, (size_t)u->scap * sizeof *u->stack);
  }
  u->stack[u->sp++] = v;
  return NULL;
}

static int base(const up *u) { return u->nmarks ? u->marks[u->nmarks - 1] : 0; }

/* Pops into *v (the caller's reference). Values below the last MARK are
 * not reachable, as in CPython. */
static cz_err *pop(up *u, cz_pyval **v) {
  if (u->sp <= base(u)) return FAIL("pickle stack underflow");
  *v = u->stack[--u->sp];
  return NULL;
}

static cz_err *top(up *u, cz_pyval **v) {
  if (u->sp <= base(u)) return FAIL("pickle stack underflow");
  *v = u->stack[u->sp - 1];
  return NULL;
}

/* The values since the last MARK: [*first, sp). The caller frees them and
 * sets sp back via drop_mark. */
static cz_err *take_mark(up *u, int *first) {
  if (!u->nmarks) return FAIL("pickle opcode needs a MARK and there is none");
  *first = u->marks[--u->nmarks];
  return NULL;
}

static void drop_to(up *u, int first) {
  while (u->sp > first) cz_py_free(u->stack[--u->sp]);
}

static cz_err *add_check(up *u, const cz_pyval *c, const cz_pyval *item) {
  /* Globals and storages only travel in tuples (a persistent id, the
   * arguments of a call); check_result catches any left in the result. */
  if ((item->kind == CZ_PY_GLOBAL_ || item->kind == CZ_PY_STORAGE_) && c->kind != CZ_PY_TUPLE) {
    char buf[96];
    return FAIL("pickle places %s '%s' in a %s (not allowed in a checkpoint)",
                item->kind == CZ_PY_GLOBAL_ ? "global" : "storage",
                item->kind == CZ_PY_GLOBAL_ ? global_name(item->global, buf, sizeof buf) : "",
                cz_py_kind_name(c->kind));
  }
  const char *why = cz_py_add_check(c, item, CZ_PICKLE_MAX_DEPTH);
  if (why) return FAIL("pickle: %s (not allowed in a checkpoint)", why);
  return NULL;
}

/* Appends stack[first..sp) to container c (list or tuple), moving the
 * references. */
static cz_err *append_range(up *u, cz_pyval *c, int first) {
  for (int i = first; i < u->sp; i++) {
    cz_err *e = add_check(u, c, u->stack[i]);
    if (e) return e;
  }
  for (int i = first; i < u->sp; i++) cz_py_append(c, u->stack[i]);
  u->sp = first;
  return NULL;
}

static cz_err *setitems_range(up *u, cz_pyval *d, int first) {
  if ((u->sp - first) % 2) return FAIL("pickle SETITEMS/DICT with an odd number of values");
  for (int i = first; i < u->sp; i++) {
    cz_err *e = add_check(u, d, u->stack[i]);
    if (e) return e;
    cz_pykind k = u->stack[i]->kind;
    if ((i - first) % 2 == 0 && k != CZ_PY_STR && k != CZ_PY_INT && k != CZ_PY_BYTES &&
        k != CZ_PY_NONE && k != CZ_PY_BOOL && k != CZ_PY_FLOAT && k != CZ_PY_TUPLE)
      return FAIL("pickle uses a %s as a dict key (not allowed in a checkpoint)", cz_py_kind_name(k));
  }
  for (int i = first; i < u->sp; i += 2) cz_py_set(d, u->stack[i], u->stack[i + 1]);
  u->sp = first;
  return NULL;
}

static cz_err *memo_put(up *u, uint64_t idx) {
  if (idx >= CZ_PICKLE_MAX_MEMO) return FAIL("pickle memo index beyond %s", "1048576");
  cz_pyval *v = NULL;
  cz_err *e = top(u, &v);
  if (e) return e;
  if ((int)idx >= u->memo_cap) {
    int cap = u->memo_cap ? u->memo_cap : 64;
    while (cap <= (int)idx) cap *= 2;
    u->memo = cz_xrealloc(u->memo, (size_t)cap * sizeof *u->memo);
    memset(u->memo + u->memo_cap, 0, (size_t)(cap - u->memo_cap) * sizeof *u->memo);
    u->memo_cap = cap;
  }
  if (u->memo[idx])
    cz_py_free(u->memo[idx]);
  else
    u->memo_next++; /* MEMOIZE uses the memo's length, as CPython */
  u->memo[idx] = cz_py_ref(v);
  return NULL;
}

static cz_err *memo_get(up *u, uint64_t idx) {
  if (idx >= (uint64_t)u->memo_cap || !u->memo[idx]) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)idx);
    return FAIL("pickle memo entry %s is read before it is written", buf);
  }
  return push(u, cz_py_ref(u->memo[idx]));
}

static cz_err *read_string(up *u, uint64_t len, cz_pykind kind) {
  if (len > CZ_PICKLE_MAX_STR) return FAIL("pickle string longer than %s bytes", "67108864");
  cz_err *e = need(u, len);
  if (e) return e;
  cz_pyval *v = cz_py_strn((const char *)u->p, len, kind);
  u->p += len;
  return push(u, v);
}

/* A GLOBAL's "module\n" or "name\n". */
static cz_err *read_line(up *u, char *buf, size_t cap) {
  const uint8_t *nl = memchr(u->p, '\n', (size_t)(u->end - u->p));
  if (!nl) return FAIL("pickle GLOBAL argument has no end of line");
  size_t n = (size_t)(nl - u->p);
  if (n >= cap) return FAIL("pickle GLOBAL name longer than 200 bytes");
  memcpy(buf, u->p, n);
  buf[n] = 0;
  u->p = nl + 1;
  return NULL;
}

static cz_err *push_global(up *u, const char *module, const char *name) {
  for (int g = 0; g < N_GLOBALS; g++)
    if (strcmp(module, kGlobals[g].module) == 0 && strcmp(name, kGlobals[g].name) == 0) {
      cz_pyval *v = cz_py_none();
      v->kind = CZ_PY_GLOBAL_;
      v->global = g;
      return push(u, v);
    }
  /* Storage types: torch.FloatStorage (torch >= 1.6) or torch.storage...? No:
   * torch writes them as module "torch". */
  if (strcmp(module, "torch") == 0)
    for (int s = 0; s < N_STORAGES; s++)
      if (strcmp(name, kStorages[s].name) == 0) {
        cz_pyval *v = cz_py_none();
        v->kind = CZ_PY_GLOBAL_;
        v->global = G_STORAGE0 + s;
        return push(u, v);
      }
  /* Names are printed through a cut-down copy: they may be long or odd. */
  char full[420];
  snprintf(full, sizeof full, "%.200s.%.200s", module, name);
  for (char *c = full; *c; c++)
    if ((unsigned char)*c < 32 || (unsigned char)*c > 126) *c = '?';
  return FAIL("pickle global '%s' is not allowed in a checkpoint", full);
}

static bool is_int(const cz_pyval *v) { return v->kind == CZ_PY_INT || v->kind == CZ_PY_BOOL; }
static int64_t int_of(const cz_pyval *v) { return v->kind == CZ_PY_BOOL ? v->b : v->i; }

/* ('storage', storage type, key, location, numel): the storage's bytes. */
static cz_err *persistent_load(up *u, cz_pyval *pid, cz_pyval **out) {
  if (pid->kind != CZ_PY_TUPLE || pid->seq.n != 5 || pid->seq.items[0]->kind != CZ_PY_STR ||
      strcmp(pid->seq.items[0]->str.s, "storage") != 0)
    return FAIL("pickle persistent id is not ('storage', type, key, location, numel)");
  cz_pyval *type = pid->seq.items[1], *key = pid->seq.items[2], *numel = pid->seq.items[4];
  if (type->kind != CZ_PY_GLOBAL_ || type->global < G_STORAGE0 || key->kind != CZ_PY_STR ||
      pid->seq.items[3]->kind != CZ_PY_STR || !is_int(numel) || int_of(numel) < 0)
    return FAIL("pickle persistent id is not ('storage', type, key, location, numel)");
  int s = type->global - G_STORAGE0;
  for (int i = 0; i < u->nst; i++)
    if (strcmp(u->st[i].key, key->str.s) == 0) {
      if (u->st[i].v->storage.dtype != s)
        return FAIL("storage '%s' is used with two element types", key->str.s);
      *out = cz_py_ref(u->st[i].v);
      return NULL;
    }
  if (u->nst == CZ_PICKLE_MAX_STORAGES) return FAIL("more than %s storages", "1048576");
  if (strlen(key->str.s) != key->str.len || key->str.len > 64 || strchr(key->str.s, '/'))
    return FAIL("storage key '%s' is not a plain name", key->str.s);
  const uint8_t *bytes;
  size_t size;
  uint64_t n = (uint64_t)int_of(numel), want;
  if (__builtin_mul_overflow(n, (uint64_t)kStorages[s].size, &want)) want = UINT64_MAX;
  cz_err *e = u->o->storage(u->o->ctx, key->str.s, want, &bytes, &size);
  if (e) return e;
  if (n > size / (uint64_t)kStorages[s].size || n * (uint64_t)kStorages[s].size != size) {
    char b1[64];
    snprintf(b1, sizeof b1, "%zu bytes, not %lld elements of %d", size, (long long)n, kStorages[s].size);
    return FAIL("storage '%s' holds %s", key->str.s, b1);
  }
  cz_pyval *v = cz_py_none();
  v->kind = CZ_PY_STORAGE_;
  v->storage.dtype = s;
  v->storage.numel = (int64_t)n;
  v->storage.bytes = bytes;
  if (u->nst == u->stcap) {
    u->stcap = u->stcap ? 2 * u->stcap : 16;
    u->st = cz_xrealloc(u->st, (size_t)u->stcap * sizeof *u->st);
  }
  u->st[u->nst++] = (cached_storage){cz_xstrdup(key->str.s), cz_py_ref(v)};
  *out = v;
  return NULL;
}

static float load_f32(const uint8_t *p, int s) {
  switch (s) {
    case S_F32: {
      float f;
      memcpy(&f, p, 4);
      return f;
    }
    case S_F64: {
      double d;
      memcpy(&d, p, 8);
      return (float)d;
    }
    case S_F16:
      return cz_half_to_f32((uint16_t)(p[0] | p[1] << 8));
    default:
      return cz_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
  }
}

/* Copies one element of storage type s into the tensor's dtype. */
static void convert(uint8_t *dst, const uint8_t *src, int s) {
  switch (s) {
    case S_F32:
    case S_F64:
    case S_F16:
    case S_BF16: {
      float f = load_f32(src, s);
      memcpy(dst, &f, 4);
      break;
    }
    case S_I64:
      memcpy(dst, src, 8);
      break;
    case S_I32:
      memcpy(dst, src, 4);
      break;
    case S_BOOL:
      dst[0] = src[0] != 0;
      break;
    default:
      dst[0] = src[0];
      break;
  }
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks[, metadata]): the view, materialized contiguous. */
static cz_err *rebuild_tensor(up *u, const cz_pyval *args, cz_pyval **out) {
  if (args->kind != CZ_PY_TUPLE || args->seq.n < 4 || args->seq.n > 7)
    return FAIL("_rebuild_tensor_v2 called with the wrong arguments");
  cz_pyval *const *a = args->seq.items;
  if (a[0]->kind != CZ_PY_STORAGE_ || !is_int(a[1]) || a[2]->kind != CZ_PY_TUPLE ||
      a[3]->kind != CZ_PY_TUPLE || a[2]->seq.n != a[3]->seq.n)
    return FAIL("_rebuild_tensor_v2 called with the wrong arguments");
  const cz_pyval *st = a[0];
  int rank = a[2]->seq.n;
  if (rank > CZ_MAX_RANK) return FAIL("a tensor has more than 6 dimensions");
  int64_t off = int_of(a[1]);
  cz_shape shape = {.rank = rank};
  int64_t stride[CZ_MAX_RANK];
  int64_t numel = 1, last = off;
  bool empty = false;
  for (int i = 0; i < rank; i++) {
    if (!is_int(a[2]->seq.items[i]) || !is_int(a[3]->seq.items[i]))
      return FAIL("a tensor's size or stride is not an integer");
    shape.d[i] = int_of(a[2]->seq.items[i]);
    stride[i] = int_of(a[3]->seq.items[i]);
    if (shape.d[i] < 0 || stride[i] < 0) return FAIL("a tensor has a negative size or stride");
    if (shape.d[i] == 0) empty = true;
  }
  if (off < 0) return FAIL("a tensor has a negative storage offset");
  for (int i = 0; i < rank && !empty; i++) {
    int64_t reach;
    if (__builtin_mul_overflow(shape.d[i], numel, &numel) ||
        __builtin_mul_overflow(shape.d[i] - 1, stride[i], &reach) ||
        __builtin_add_overflow(last, reach, &last))
      return FAIL("a tensor's size overflows");
  }
  if (empty) numel = 0;
  if (numel > 0 && last >= st->storage.numel) {
    char b[96];
    snprintf(b, sizeof b, "reaches element %lld of a storage of %lld", (long long)last,
             (long long)st->storage.numel);
    return FAIL("a tensor view does not fit in its storage: it %s", b);
  }
  int s = st->storage.dtype;
  cz_dtype dt = kStorages[s].out;
  size_t esz = cz_dtype_size(dt);
  uint64_t bytes = (uint64_t)numel * esz;
  if (bytes > u->o->budget - u->used)
    return FAIL("tensors take more memory than the file's size allows (views of one storage "
                "are copied)");
  u->used += bytes;
  uint8_t *data = cz_xmalloc(bytes ? bytes : 1);
  int ss = kStorages[s].size;
  int64_t idx[CZ_MAX_RANK] = {0};
  const uint8_t *src = st->storage.bytes;
  /* The common case: a contiguous view, copied or converted in one pass. */
  bool contiguous = true;
  if (numel > 0) { /* every suffix product is at most numel: no overflow */
    int64_t want = 1;
    for (int i = rank - 1; i >= 0; i--) {
      if (shape.d[i] != 1 && stride[i] != want) contiguous = false;
      want *= shape.d[i];
    }
  }
  if (contiguous) {
    const uint8_t *from = src + (size_t)off * ss;
    if (ss == (int)esz && s != S_BOOL) {
      if (bytes) memcpy(data, from, (size_t)bytes);
    } else {
      for (int64_t k = 0; k < numel; k++) convert(data + (size_t)k * esz, from + (size_t)k * ss, s);
    }
    *out = cz_py_tensor_owned(dt, shape, data);
    return NULL;
  }
  for (int64_t k = 0; k < numel; k++) {
    int64_t e = off;
    for (int i = 0; i < rank; i++) e += idx[i] * stride[i];
    convert(data + (size_t)k * esz, src + (size_t)e * ss, s);
    for (int i = rank - 1; i >= 0; i--) {
      if (++idx[i] < shape.d[i]) break;
      idx[i] = 0;
    }
  }
  *out = cz_py_tensor_owned(dt, shape, data);
  return NULL;
}

static cz_err *do_reduce(up *u) {
  cz_pyval *args = NULL, *fn = NULL;
  cz_err *e = pop(u, &args);
  if (e) return e;
  if ((e = top(u, &fn))) {
    cz_py_free(args);
    return e;
  }
  cz_pyval *res = NULL;
  char buf[96];
  if (fn->kind != CZ_PY_GLOBAL_) {
    e = FAIL("pickle REDUCE calls a %s (not allowed in a checkpoint)", cz_py_kind_name(fn->kind));
  } else if (args->kind != CZ_PY_TUPLE) {
    e = FAIL("pickle REDUCE of '%s' without an argument tuple", global_name(fn->global, buf, sizeof buf));
  } else if (fn->global == G_ORDERED_DICT || fn->global == G_SIMPLE_NAMESPACE) {
    if (args->seq.n != 0)
      e = FAIL("pickle REDUCE of '%s' with arguments (not how torch.save writes it)",
               global_name(fn->global, buf, sizeof buf));
    else {
      res = cz_py_dict(fn->global == G_ORDERED_DICT);
      res->namespace_ = fn->global == G_SIMPLE_NAMESPACE;
    }
  } else if (fn->global == G_REBUILD_TENSOR_V2) {
    e = rebuild_tensor(u, args, &res);
  } else if (fn->global == G_REBUILD_PARAMETER) {
    if (args->seq.n != 3 || args->seq.items[0]->kind != CZ_PY_TENSOR)
      e = FAIL("_rebuild_parameter called with the wrong arguments");
    else
      res = cz_py_ref(args->seq.items[0]);
  } else {
    e = FAIL("pickle REDUCE of '%s' is not allowed in a checkpoint", global_name(fn->global, buf, sizeof buf));
  }
  cz_py_free(args);
  if (e) return e;
  cz_py_free(fn);
  u->stack[u->sp - 1] = res;
  return NULL;
}

static cz_err *do_newobj(up *u) {
  cz_pyval *args = NULL, *cls = NULL;
  cz_err *e = pop(u, &args);
  if (e) return e;
  if ((e = top(u, &cls))) {
    cz_py_free(args);
    return e;
  }
  bool ok = cls->kind == CZ_PY_GLOBAL_ && cls->global == G_ARGPARSE_NAMESPACE &&
            args->kind == CZ_PY_TUPLE && args->seq.n == 0;
  char buf[96];
  if (!ok) {
    e = cls->kind == CZ_PY_GLOBAL_
            ? FAIL("pickle NEWOBJ of '%s' is not allowed in a checkpoint", global_name(cls->global, buf, sizeof buf))
            : FAIL("pickle NEWOBJ of a %s is not allowed in a checkpoint", cz_py_kind_name(cls->kind));
    cz_py_free(args);
    return e;
  }
  cz_py_free(args);
  cz_py_free(cls);
  cz_pyval *d = cz_py_dict(false);
  d->namespace_ = true;
  u->stack[u->sp - 1] = d;
  return NULL;
}

/* BUILD: an OrderedDict's state (its `_metadata`) is dropped; a
 * namespace's attributes become its dict entries. */
static cz_err *do_build(up *u) {
  cz_pyval *state = NULL, *inst = NULL;
  cz_err *e = pop(u, &state);
  if (e) return e;
  if ((e = top(u, &inst))) {
    cz_py_free(state);
    return e;
  }
  if (inst->kind == CZ_PY_DICT && inst->ordered && !inst->namespace_) {
    /* accepted and ignored */
  } else if (inst->kind == CZ_PY_DICT && inst->namespace_ && state->kind == CZ_PY_DICT) {
    for (int i = 0; i < state->dict.n && !e; i++) {
      e = add_check(u, inst, state->dict.keys[i]);
      if (!e) e = add_check(u, inst, state->dict.vals[i]);
      if (!e) cz_py_set(inst, cz_py_ref(state->dict.keys[i]), cz_py_ref(state->dict.vals[i]));
    }
  } else {
    e = FAIL("pickle BUILD on a %s is not allowed in a checkpoint", cz_py_kind_name(inst->kind));
  }
  cz_py_free(state);
  return e;
}

static const char *opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'P': return "PERSID";
    case 'g': return "GET";
    case 'p': return "PUT";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return NULL;
  }
}

/* Takes the (tuple) items since the last MARK into a new container. */
static cz_err *collect(up *u, cz_pyval *c) {
  int first = 0;
  cz_err *e = take_mark(u, &first);
  if (!e) e = c->kind == CZ_PY_DICT ? setitems_range(u, c, first) : append_range(u, c, first);
  if (e) {
    cz_py_free(c);
    return e;
  }
  return push(u, c);
}

static cz_err *run(up *u, cz_pyval **out) {
  cz_err *e = NULL;
  while (!e) {
    if (u->p == u->end) return FAIL("pickle data ends without STOP");
    uint8_t op = *u->p++;
    cz_pyval *v = NULL, *w = NULL;
    int first = 0;
    switch (op) {
      case 0x80: /* PROTO */
        if ((e = need(u, 1))) break;
        if (*u->p < 2 || *u->p > 5) {
          char b[8];
          snprintf(b, sizeof b, "%d", *u->p);
          return FAIL("pickle protocol %s is not supported (expected 2 to 5)", b);
        }
        u->p++;
        break;
      case 0x95: /* FRAME: a length we do not need */
        if ((e = need(u, 8))) break;
        u->p += 8;
        break;
      case '.': /* STOP */
        if ((e = pop(u, &v))) break;
        *out = v;
        return NULL;
      case '(': /* MARK */
        if (u->nmarks == CZ_PICKLE_MAX_MARKS) return FAIL("more than %s open MARKs", "65536");
        if (u->nmarks == u->mcap) {
          u->mcap = u->mcap ? 2 * u->mcap : 16;
          u->marks = cz_xrealloc(u->marks, (size_t)u->mcap * sizeof *u->marks);
        }
        u->marks[u->nmarks++] = u->sp;
        break;
      case '0': /* POP */
        if ((e = pop(u, &v))) break;
        cz_py_free(v);
        break;
      case '1': /* POP_MARK */
        if ((e = take_mark(u, &first))) break;
        drop_to(u, first);
        break;
      case '2': /* DUP */
        if ((e = top(u, &v))) break;
        e = push(u, cz_py_ref(v));
        break;
      case 'N': e = push(u, cz_py_none()); break;
      case 0x88: e = push(u, cz_py_bool(true)); break;
      case 0x89: e = push(u, cz_py_bool(false)); break;
      case 'J': /* BININT */
        if ((e = need(u, 4))) break;
        e = push(u, cz_py_int((int32_t)(uint32_t)le(u->p, 4)));
        u->p += 4;
        break;
      case 'K': /* BININT1 */
        if ((e = need(u, 1))) break;
        e = push(u, cz_py_int(*u->p++));
        break;
      case 'M': /* BININT2 */
        if ((e = need(u, 2))) break;
        e = push(u, cz_py_int((int64_t)le(u->p, 2)));
        u->p += 2;
        break;
      case 0x8a:   /* LONG1 */
      case 0x8b: { /* LONG4 */
        int w1 = op == 0x8a ? 1 : 4;
        if ((e = need(u, (size_t)w1))) break;
        uint64_t n = le(u->p, w1);
        u->p += w1;
        if (n > 8) return FAIL("pickle integer wider than 64 bits");
        if ((e = need(u, n))) break;
        uint64_t x = le(u->p, (int)n);
        if (n && n < 8 && (u->p[n - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * n); /* sign */
        u->p += n;
        e = push(u, cz_py_int((int64_t)x));
        break;
      }
      case 'G': { /* BINFLOAT: big-endian IEEE double */
        if ((e = need(u, 8))) break;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | u->p[i];
        u->p += 8;
        double d;
        memcpy(&d, &bits, 8);
        e = push(u, cz_py_float(d));
        break;
      }
      case 'X': /* BINUNICODE */
      case 'B': /* BINBYTES */
        if ((e = need(u, 4))) break;
        u->p += 4;
        e = read_string(u, le(u->p - 4, 4), op == 'X' ? CZ_PY_STR : CZ_PY_BYTES);
        break;
      case 'T': /* BINSTRING: signed length */
        if ((e = need(u, 4))) break;
        u->p += 4;
        if (le(u->p - 4, 4) & 0x80000000u) return FAIL("pickle BINSTRING with a negative length");
        e = read_string(u, le(u->p - 4, 4), CZ_PY_STR);
        break;
      case 0x8c: /* SHORT_BINUNICODE */
      case 'U':  /* SHORT_BINSTRING */
      case 'C':  /* SHORT_BINBYTES */
        if ((e = need(u, 1))) break;
        u->p++;
        e = read_string(u, u->p[-1], op == 'C' ? CZ_PY_BYTES : CZ_PY_STR);
        break;
      case 0x8d: /* BINUNICODE8 */
      case 0x8e: /* BINBYTES8 */
      case 0x96: /* BYTEARRAY8 */
        if ((e = need(u, 8))) break;
        u->p += 8;
        e = read_string(u, le(u->p - 8, 8), op == 0x8d ? CZ_PY_STR : CZ_PY_BYTES);
        break;
      case ']': e = push(u, cz_py_list()); break;
      case ')': e = push(u, cz_py_tuple()); break;
      case '}': e = push(u, cz_py_dict(false)); break;
      case 'l': e = collect(u, cz_py_list()); break;
      case 't': e = collect(u, cz_py_tuple()); break;
      case 'd': e = collect(u, cz_py_dict(false)); break;
      case 0x85: /* TUPLE1..3 */
      case 0x86:
      case 0x87: {
        int n = op - 0x84;
        if (u->sp - base(u) < n) return FAIL("pickle stack underflow");
        cz_pyval *t = cz_py_tuple();
        if ((e = append_range(u, t, u->sp - n))) {
          cz_py_free(t);
          break;
        }
        e = push(u, t);
        break;
      }
      case 'a': /* APPEND */
        if ((e = pop(u, &v))) break;
        e = top(u, &w);
        if (!e && w->kind != CZ_PY_LIST) e = FAIL("pickle APPEND to a %s", cz_py_kind_name(w->kind));
        if (!e) e = add_check(u, w, v);
        if (e) {
          cz_py_free(v);
          break;
        }
        cz_py_append(w, v);
        break;
      case 'e': /* APPENDS */
        if ((e = take_mark(u, &first))) break;
        if (first <= base(u) || (w = u->stack[first - 1])->kind != CZ_PY_LIST) {
          e = FAIL("pickle APPENDS without a list");
          drop_to(u, first);
          break;
        }
        if ((e = append_range(u, w, first))) drop_to(u, first);
        break;
      case 's': /* SETITEM */
        if (u->sp - base(u) < 3) return FAIL("pickle stack underflow");
        w = u->stack[u->sp - 3];
        if (w->kind != CZ_PY_DICT) return FAIL("pickle SETITEM on a %s", cz_py_kind_name(w->kind));
        e = setitems_range(u, w, u->sp - 2);
        break;
      case 'u': /* SETITEMS */
        if ((e = take_mark(u, &first))) break;
        if (first <= base(u) || (w = u->stack[first - 1])->kind != CZ_PY_DICT) {
          e = FAIL("pickle SETITEMS without a dict");
          drop_to(u, first);
          break;
        }
        if ((e = setitems_range(u, w, first))) drop_to(u, first);
        break;
      case 'q': /* BINPUT */
        if ((e = need(u, 1))) break;
        e = memo_put(u, *u->p++);
        break;
      case 'r': /* LONG_BINPUT */
        if ((e = need(u, 4))) break;
        u->p += 4;
        e = memo_put(u, le(u->p - 4, 4));
        break;
      case 0x94: /* MEMOIZE */
        e = memo_put(u, (uint64_t)u->memo_next);
        break;
      case 'h': /* BINGET */
        if ((e = need(u, 1))) break;
        e = memo_get(u, *u->p++);
        break;
      case 'j': /* LONG_BINGET */
        if ((e = need(u, 4))) break;
        u->p += 4;
        e = memo_get(u, le(u->p - 4, 4));
        break;
      case 'c': { /* GLOBAL */
        char module[201], name[201];
        if ((e = read_line(u, module, sizeof module)) || (e = read_line(u, name, sizeof name))) break;
        e = push_global(u, module, name);
        break;
      }
      case 0x93: { /* STACK_GLOBAL */
        if ((e = pop(u, &w))) break;
        if ((e = pop(u, &v))) {
          cz_py_free(w);
          break;
        }
        if (v->kind != CZ_PY_STR || w->kind != CZ_PY_STR || strlen(v->str.s) != v->str.len ||
            strlen(w->str.s) != w->str.len || v->str.len > 200 || w->str.len > 200)
          e = FAIL("pickle STACK_GLOBAL without two plain names");
        else
          e = push_global(u, v->str.s, w->str.s);
        cz_py_free(v);
        cz_py_free(w);
        break;
      }
      case 'R': e = do_reduce(u); break;
      case 0x81: e = do_newobj(u); break;
      case 'b': e = do_build(u); break;
      case 'Q': { /* BINPERSID */
        if ((e = pop(u, &v))) break;
        cz_pyval *s = NULL;
        e = persistent_load(u, v, &s);
        cz_py_free(v);
        if (!e) e = push(u, s);
        break;
      }
      default: {
        const char *name = opcode_name(op);
        char b[48];
        if (name)
          snprintf(b, sizeof b, "%s", name);
        else if (op >= 32 && op < 127)
          snprintf(b, sizeof b, "'%c'", op);
        else
          snprintf(b, sizeof b, "0x%02x", op);
        return FAIL("pickle opcode %s is not allowed in a checkpoint", b);
      }
    }
  }
  return e;
}

/* The finished tree may hold no global or storage (e.g. a bare storage
 * object, or a tuple of them); containers know whether they hold one. */
static cz_err *check_result(up *u, const cz_pyval *v) {
  char buf[96];
  if (v->kind == CZ_PY_GLOBAL_)
    return FAIL("pickle result is global '%s' (not allowed in a checkpoint)", global_name(v->global, buf, sizeof buf));
  if (v->kind == CZ_PY_STORAGE_ || v->internal_inside)
    return FAIL("pickle result holds a bare storage or class (not allowed in a checkpoint)");
  return NULL;
}

cz_err *cz_unpickle(const uint8_t *buf, size_t size, const cz_unpickle_opts *o, cz_pyval **out) {
  *out = NULL;
  up u = {.p = buf, .end = buf + size, .o = o};
  cz_pyval *res = NULL;
  cz_err *e = run(&u, &res);
  if (!e) e = check_result(&u, res);
  if (!e) *out = cz_py_ref(res);
  cz_py_free(res);
  drop_to(&u, 0);
  free(u.stack);
  free(u.marks);
  for (int i = 0; i < u.memo_cap; i++) cz_py_free(u.memo[i]);
  free(u.memo);
  for (int i = 0; i < u.nst; i++) {
    free(u.st[i].key);
    cz_py_free(u.st[i].v);
  }
  free(u.st);
  return e;
}
