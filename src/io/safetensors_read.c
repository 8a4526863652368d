/* safetensors reader (safetensors.h). The JSON header is parsed with
 * cJSON (Debian's libcjson): a small, strict parser with a nesting limit,
 * which reads the header in place given its length; libyaml, which czoo
 * also links, accepts YAML beyond JSON and limits key lengths. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "io/file_bytes.h"
#include "io/half.h"
#include "io/safetensors.h"
#include "util/mem.h"

typedef enum { D_F32, D_F64, D_F16, D_BF16, D_I64, D_I32, D_I8, D_U8, D_BOOL } sdtype;
static const struct {
  const char *name;
  int size;
  cz_dtype out;
} kTypes[] = {
    {"F32", 4, CZ_F32}, {"F64", 8, CZ_F32}, {"F16", 2, CZ_F32}, {"BF16", 2, CZ_F32}, {"I64", 8, CZ_I64},
    {"I32", 4, CZ_I32}, {"I8", 1, CZ_I8},   {"U8", 1, CZ_U8},   {"BOOL", 1, CZ_U8},
};
enum { N_TYPES = sizeof kTypes / sizeof kTypes[0] };

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

bool cz_safetensors_sniff(const uint8_t *buf, size_t size) {
  if (size < 10) return false;
  uint64_t n = rd64(buf);
  return n >= 2 && n <= CZ_SAFETENSORS_MAX_HEADER && n <= size - 8 && buf[8] == '{';
}

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_uint(const cJSON *j, uint64_t *v) {
  if (!cJSON_IsNumber(j)) return false;
  double d = j->valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
  *v = (uint64_t)d;
  return true;
}

typedef struct {
  uint64_t begin, end;
  const char *name;
} range;

static int range_cmp(const void *a, const void *b) {
  const range *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static void convert(uint8_t *dst, const uint8_t *src, int64_t n, sdtype t) {
  switch (t) {
    case D_F64:
      for (int64_t i = 0; i < n; i++) {
        double d;
        memcpy(&d, src + 8 * i, 8);
        float f = (float)d;
        memcpy(dst + 4 * i, &f, 4);
      }
      break;
    case D_F16:
    case D_BF16:
      for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
        float f = t == D_F16 ? cz_half_to_f32(h) : cz_bf16_to_f32(h);
        memcpy(dst + 4 * i, &f, 4);
      }
      break;
    case D_BOOL:
      for (int64_t i = 0; i < n; i++) dst[i] = src[i] != 0;
      break;
    default:
      memcpy(dst, src, (size_t)n * (size_t)kTypes[t].size);
      break;
  }
}

static cz_err *parse(const cJSON *root, const uint8_t *data, uint64_t dsize, const char *what,
                     cz_tensor_dict *td) {
  int count = cJSON_GetArraySize(root);
  range *r = cz_xmalloc((size_t)(count ? count : 1) * sizeof *r);
  int nr = 0;
  cz_err *e = NULL;
  const cJSON *it;
  cJSON_ArrayForEach(it, root) {
    const char *name = it->string;
    if (strcmp(name, "__metadata__") == 0) {
      const cJSON *m;
      if (!cJSON_IsObject(it)) {
        e = cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors __metadata__ is not an object", what);
        break;
      }
      cJSON_ArrayForEach(m, it) if (!cJSON_IsString(m)) {
        e = cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors __metadata__ value '%.100s' is not a string", what, m->string);
        break;
      }
      if (e) break;
      continue;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    uint64_t b = 0, en = 0;
    if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
        cJSON_GetArraySize(offs) != 2 || !json_uint(cJSON_GetArrayItem(offs, 0), &b) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), &en)) {
      e = cz_err_new(CZ_EXIT_RUNTIME,
                     "%s: safetensors entry '%.200s' lacks a dtype, a shape or two data_offsets", what, name);
      break;
    }
    int t = 0;
    while (t < N_TYPES && strcmp(dt->valuestring, kTypes[t].name) != 0) t++;
    if (t == N_TYPES) {
      e = cz_err_new(CZ_EXIT_RUNTIME,
                     "%s: safetensors entry '%.200s' has dtype '%.20s' (expected F32, F16, BF16, F64, I64, "
                     "I32, I8, U8 or BOOL)", what, name, dt->valuestring);
      break;
    }
    cz_shape s = {.rank = cJSON_GetArraySize(shape)};
    if (s.rank > CZ_MAX_RANK) {
      e = cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors entry '%.200s' has more than 6 dimensions", what, name);
      break;
    }
    uint64_t numel = 1;
    bool ok = true;
    for (int i = 0; i < s.rank && ok; i++) {
      uint64_t d;
      ok = json_uint(cJSON_GetArrayItem(shape, i), &d) && !__builtin_mul_overflow(numel, d, &numel) &&
           numel <= dsize; /* never more elements than bytes (or 0) */
      s.d[i] = (int64_t)d;
    }
    if (!ok) {
      e = cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors entry '%.200s' has a bad shape or one larger than the file",
                     what, name);
      break;
    }
    if (b > en || en > dsize || en - b != numel * (uint64_t)kTypes[t].size) {
      e = cz_err_new(CZ_EXIT_RUNTIME,
                     "%s: safetensors entry '%.200s' data_offsets [%llu, %llu] do not match its shape and "
                     "dtype or lie outside the %llu data bytes", what, name, (unsigned long long)b,
                     (unsigned long long)en, (unsigned long long)dsize);
      break;
    }
    size_t out_bytes = (size_t)numel * cz_dtype_size(kTypes[t].out);
    uint8_t *buf = cz_xmalloc(out_bytes ? out_bytes : 1);
    convert(buf, data + b, (int64_t)numel, (sdtype)t);
    if ((e = cz_tdict_add_owned(td, name, kTypes[t].out, s, buf))) {
      e = cz_err_prefix(e, "%s: safetensors header", what);
      break;
    }
    r[nr++] = (range){b, en, name};
  }
  if (!e) {
    /* The tensors must tile the data: no gap, no overlap, nothing after. */
    qsort(r, (size_t)nr, sizeof *r, range_cmp);
    uint64_t at = 0;
    for (int i = 0; i < nr && !e; i++) {
      if (r[i].begin != at)
        e = cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors entry '%.200s' starts at byte %llu, expected %llu (%s)",
                       what, r[i].name, (unsigned long long)r[i].begin, (unsigned long long)at,
                       r[i].begin < at ? "it overlaps another" : "a gap before it");
      at = r[i].end;
    }
    if (!e && at != dsize)
      e = cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors data has %llu bytes, the tensors cover %llu", what,
                     (unsigned long long)dsize, (unsigned long long)at);
  }
  free(r);
  return e;
}

cz_err *cz_safetensors_read_mem(const uint8_t *buf, size_t size, const char *what, cz_tensor_dict **out) {
  *out = NULL;
  if (size < 8) return cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors file shorter than its 8-byte header length", what);
  uint64_t n = rd64(buf);
  if (n > CZ_SAFETENSORS_MAX_HEADER || n > size - 8)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors header length %llu exceeds the file (%zu bytes) or 100000000",
                      what, (unsigned long long)n, size);
  const char *hdr = (const char *)buf + 8;
  if (n < 2 || hdr[0] != '{') return cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors header is not a JSON object", what);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors header is not valid JSON", what);
  }
  /* Only the padding spaces may follow the object. */
  for (const char *p = end; p < hdr + n; p++)
    if (*p != ' ') {
      cJSON_Delete(root);
      return cz_err_new(CZ_EXIT_RUNTIME, "%s: safetensors header has bytes after its JSON object", what);
    }
  cz_tensor_dict *td = cz_tdict_new();
  cz_err *e = parse(root, buf + 8 + n, size - 8 - n, what, td);
  cJSON_Delete(root);
  if (e) {
    cz_tdict_free(td);
    return e;
  }
  *out = td;
  return NULL;
}

cz_err *cz_safetensors_read(const char *path, cz_tensor_dict **out) {
  *out = NULL;
  uint8_t *buf;
  size_t n;
  cz_err *e = cz_read_file_bytes(path, &buf, &n);
  if (!e) e = cz_safetensors_read_mem(buf, n, path, out);
  free(buf);
  return e;
}
