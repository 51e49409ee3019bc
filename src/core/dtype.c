/* dtypes, promotion and device names. */
#include <stdio.h>
#include <string.h>

#include "dnn.h"

const dnn_device DNN_CPU = {DNN_DEVICE_CPU, 0};

static const size_t dtype_sizes[] = {4, 8, 4, 8, 1, 1, 2, 2};
static const char *const dtype_names[] = {"float32", "float64", "int32", "int64",
                                          "uint8",   "bool",    "float16", "bfloat16"};
_Static_assert(sizeof dtype_sizes / sizeof dtype_sizes[0] == DNN_DTYPE_COUNT, "dtype table");
_Static_assert(sizeof dtype_names / sizeof dtype_names[0] == DNN_DTYPE_COUNT, "dtype table");

size_t dnn_dtype_size(dnn_dtype dt) { return dt < DNN_DTYPE_COUNT ? dtype_sizes[dt] : 0; }
const char *dnn_dtype_name(dnn_dtype dt) { return dt < DNN_DTYPE_COUNT ? dtype_names[dt] : "?"; }
bool dnn_dtype_is_float(dnn_dtype dt) { return dt == DNN_FLOAT32 || dt == DNN_FLOAT64 || dnn_dtype_is_half(dt); }

int dnn_dtype_from_name(const char *name) {
  static const struct { const char *name; dnn_dtype dt; } aliases[] = {
      {"float32", DNN_FLOAT32}, {"float", DNN_FLOAT32},  {"f32", DNN_FLOAT32},
      {"float64", DNN_FLOAT64}, {"double", DNN_FLOAT64}, {"f64", DNN_FLOAT64},
      {"int32", DNN_INT32},     {"int", DNN_INT32},      {"i32", DNN_INT32},
      {"int64", DNN_INT64},     {"long", DNN_INT64},     {"i64", DNN_INT64},
      {"uint8", DNN_UINT8},     {"byte", DNN_UINT8},     {"u8", DNN_UINT8},
      {"bool", DNN_BOOL},       {"boolean", DNN_BOOL},
      {"float16", DNN_FLOAT16}, {"half", DNN_FLOAT16},   {"f16", DNN_FLOAT16},
      {"bfloat16", DNN_BFLOAT16}, {"bf16", DNN_BFLOAT16},
  };
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(name, aliases[i].name) == 0) return (int)aliases[i].dt;
  return -1;
}

/* Rank in the promotion lattice (PyTorch's category order). */
static int dtype_rank(dnn_dtype dt) {
  switch (dt) {
    case DNN_BOOL: return 0;
    case DNN_UINT8: return 1;
    case DNN_INT32: return 2;
    case DNN_INT64: return 3;
    case DNN_FLOAT16:
    case DNN_BFLOAT16: return 4;
    case DNN_FLOAT32: return 5;
    case DNN_FLOAT64: return 6;
    default: return -1;
  }
}

dnn_dtype dnn_dtype_promote(dnn_dtype a, dnn_dtype b) {
  /* neither half type holds the other (range vs precision): PyTorch meets them at float32 */
  if (dnn_dtype_is_half(a) && dnn_dtype_is_half(b) && a != b) return DNN_FLOAT32;
  return dtype_rank(a) >= dtype_rank(b) ? a : b;
}

/* ---- half conversions (bit-level, so they do not depend on compiler support) ---- */

static uint32_t f32_bits(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  return x;
}

static float f32_from_bits(uint32_t x) {
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

/* Shifts m right by n (1..31) rounding to nearest, ties to even. */
static uint32_t shift_rne(uint32_t m, int n) {
  uint32_t q = m >> n, rem = m & ((1u << n) - 1), half = 1u << (n - 1);
  return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t dnn_f32_to_f16(float f) {
  uint32_t x = f32_bits(f), ax = x & 0x7fffffffu;
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  if (ax > 0x7f800000u) return sign | 0x7e00u;         /* NaN: quiet, as c10::Half */
  if (ax >= 0x477ff000u) return sign | 0x7c00u;        /* >= 65520 (and Inf) rounds to Inf */
  if (ax >= 0x38800000u)                               /* normal: rebias 127 -> 15 */
    return sign | (uint16_t)shift_rne(ax - 0x38000000u, 13); /* a carry bumps the exponent: right */
  if (ax < 0x33000000u) return sign;                   /* < 2^-25 (a tie at 2^-25 goes to 0) */
  /* subnormal: value = m 2^(e-150), in units of 2^-24 that is m 2^(e-126) */
  uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
  return sign | (uint16_t)shift_rne(m, (int)(126 - e));
}

float dnn_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return f32_from_bits(sign | 0x7f800000u | (m << 13)); /* Inf, NaN */
  if (e != 0) return f32_from_bits(sign | ((e + 112) << 23) | (m << 13));
  if (m == 0) return f32_from_bits(sign);
  float v = (float)m * 5.9604644775390625e-8f; /* subnormal: m 2^-24, exact in float32 */
  return sign ? -v : v;
}

uint16_t dnn_f32_to_bf16(float f) {
  uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u; /* NaN: canonical, as c10::BFloat16 */
  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16); /* overflow carries into Inf */
}

float dnn_bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

const char *dnn_device_str(dnn_device d, char *buf) {
  if (d.type == DNN_DEVICE_CPU)
    strcpy(buf, "cpu");
  else
    snprintf(buf, 16, "cuda:%d", d.index);
  return buf;
}

const char *dnn_shape_str(int ndim, const int64_t *shape, char *buf) {
  size_t n = 0;
  buf[n++] = '[';
  for (int i = 0; i < ndim && n < 180; i++)
    n += (size_t)snprintf(buf + n, 200 - n, i ? ",%lld" : "%lld", (long long)shape[i]);
  buf[n++] = ']';
  buf[n] = 0;
  return buf;
}

int dnn_wrap_dim(const char *op, int64_t dim, int ndim) {
  int64_t n = ndim == 0 ? 1 : ndim; /* a 0-d tensor accepts dim 0 / -1 */
  if (dim < -n || dim >= n) {
    dnn_error(DNN_ERR_INDEX, "%s: dim %lld out of range for a %d-d tensor (dims are 1..%d or -%d..-1)",
              op, (long long)(dim >= 0 ? dim + 1 : dim), ndim, (int)n, (int)n);
    return -1;
  }
  return (int)(dim < 0 ? dim + n : dim);
}
