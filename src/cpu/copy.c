/* COPY (with dtype conversion) and FILL kernels. */
#include <math.h>
#include <string.h>

#include "backend_cpu.h"
#include "dtype_dispatch.h"
#include "iter.h"

/* Conversion rules: to bool is "!= 0"; float to int truncates, with NaN and
 * out-of-range values clamped instead of undefined behaviour. */
static inline int64_t f2i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}
static inline int32_t f2i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}
static inline uint8_t f2u8(double v) { return (uint8_t)f2i64(v); }

#define CONV_f32(x) ((float)(x))
#define CONV_f64(x) ((double)(x))
#define CONV_i32(x) f2i32((double)(x))
#define CONV_i64(x) f2i64((double)(x))
#define CONV_u8(x) f2u8((double)(x))
#define CONV_b8(x) ((uint8_t)((x) != 0))
/* To the half types through float32, as PyTorch converts (float64 and int64
 * sources round twice, like c10::Half(float(x))). */
#define CONV_h16(x) dnn_f32_to_f16((float)(x))
#define CONV_bh16(x) dnn_f32_to_bf16((float)(x))

/* Integer sources convert exactly between integer types (wrapping like C). */
#define ICONV_i32(x) ((int32_t)(int64_t)(x))
#define ICONV_i64(x) ((int64_t)(x))
#define ICONV_u8(x) ((uint8_t)(int64_t)(x))

/* How a source element is read: half sources widen to float32 (exact). */
#define LOAD_PLAIN(x) (x)
#define LOAD_h16(x) dnn_f16_to_f32(x)
#define LOAD_bh16(x) dnn_bf16_to_f32(x)

typedef void (*conv_row)(int64_t n, char *dst, int64_t ds, const char *src, int64_t ss);

#define DEF_CONV(TO, SO, FROM, SF, LOAD, CONV)                                          \
  static void conv_##SF##_to_##SO(int64_t n, char *dst, int64_t ds, const char *src,   \
                                  int64_t ss) {                                        \
    if (ds == sizeof(TO) && ss == sizeof(FROM)) {                                      \
      TO *d = (TO *)dst;                                                               \
      const FROM *s = (const FROM *)src;                                               \
      for (int64_t i = 0; i < n; i++) d[i] = CONV(LOAD(s[i]));                        \
    } else {                                                                           \
      for (int64_t i = 0; i < n; i++)                                                  \
        *(TO *)(dst + i * ds) = CONV(LOAD(*(const FROM *)(src + i * ss)));             \
    }                                                                                  \
  }

/* For each destination, each source. */
#define SRC_FLOATS(TO, SO, CONVF)                              \
  DEF_CONV(TO, SO, float, f32, LOAD_PLAIN, CONVF)              \
  DEF_CONV(TO, SO, double, f64, LOAD_PLAIN, CONVF)             \
  DEF_CONV(TO, SO, uint16_t, h16, LOAD_h16, CONVF)             \
  DEF_CONV(TO, SO, uint16_t, bh16, LOAD_bh16, CONVF)
#define SRC_INTS(TO, SO, CONVI)                                \
  DEF_CONV(TO, SO, int32_t, i32, LOAD_PLAIN, CONVI)            \
  DEF_CONV(TO, SO, int64_t, i64, LOAD_PLAIN, CONVI)            \
  DEF_CONV(TO, SO, uint8_t, u8, LOAD_PLAIN, CONVI)             \
  DEF_CONV(TO, SO, uint8_t, b8, LOAD_PLAIN, CONVI)

SRC_FLOATS(float, f32, CONV_f32)
SRC_INTS(float, f32, CONV_f32)
SRC_FLOATS(double, f64, CONV_f64)
SRC_INTS(double, f64, CONV_f64)
SRC_FLOATS(int32_t, i32, CONV_i32)
SRC_INTS(int32_t, i32, ICONV_i32)
SRC_FLOATS(int64_t, i64, CONV_i64)
SRC_INTS(int64_t, i64, ICONV_i64)
SRC_FLOATS(uint8_t, u8, CONV_u8)
SRC_INTS(uint8_t, u8, ICONV_u8)
SRC_FLOATS(uint8_t, b8, CONV_b8)
SRC_INTS(uint8_t, b8, CONV_b8)
SRC_FLOATS(uint16_t, h16, CONV_h16)
SRC_INTS(uint16_t, h16, CONV_h16)
SRC_FLOATS(uint16_t, bh16, CONV_bh16)
SRC_INTS(uint16_t, bh16, CONV_bh16)

/* Sources in dnn_dtype order. */
#define ROW(SO)                                                                                  \
  {conv_f32_to_##SO, conv_f64_to_##SO, conv_i32_to_##SO, conv_i64_to_##SO, conv_u8_to_##SO,      \
   conv_b8_to_##SO,  conv_h16_to_##SO, conv_bh16_to_##SO}
/* conv_table[dst][src], destinations in dnn_dtype order */
static const conv_row conv_table[DNN_DTYPE_COUNT][DNN_DTYPE_COUNT] = {
    ROW(f32), ROW(f64), ROW(i32), ROW(i64), ROW(u8), ROW(b8), ROW(h16), ROW(bh16)};
_Static_assert(DNN_FLOAT16 == 6 && DNN_BFLOAT16 == 7 && DNN_DTYPE_COUNT == 8, "conv_table order");

typedef struct {
  conv_row fn;
  size_t dsize;
  bool same;
} copy_ctx;

static void copy_rows(void *vctx, int64_t n, char **p, const int64_t *st) {
  copy_ctx *c = vctx;
  if (c->same && st[0] == (int64_t)c->dsize && st[1] == (int64_t)c->dsize)
    memcpy(p[0], p[1], (size_t)n * c->dsize);
  else
    c->fn(n, p[0], st[0], p[1], st[1]);
}

/* in[0] has out's shape (front end expanded it); any strides. */
dnn_status cpu_copy(const dnn_op_args *a) {
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  cpu_iter it;
  cpu_iter_init(&it, 2, ts);
  copy_ctx c = {conv_table[a->out->dtype][a->in[0]->dtype], dnn_dtype_size((dnn_dtype)a->out->dtype),
                a->out->dtype == a->in[0]->dtype};
  cpu_iter_run(&it, copy_rows, &c, 2);
  return DNN_OK;
}

typedef struct {
  dnn_dtype dt;
  double v;
  int64_t iv;
} fill_ctx;

static void fill_rows(void *vctx, int64_t n, char **p, const int64_t *st) {
  fill_ctx *c = vctx;
  switch (c->dt) {
#define FILL_CASE(DT, T, SFX, VAL)                                     \
  case DT: {                                                          \
    T v = (T)(VAL);                                                   \
    if (st[0] == sizeof(T)) {                                         \
      T *d = (T *)p[0];                                               \
      for (int64_t i = 0; i < n; i++) d[i] = v;                       \
    } else {                                                          \
      for (int64_t i = 0; i < n; i++) *(T *)(p[0] + i * st[0]) = v;   \
    }                                                                 \
    break;                                                            \
  }
    FILL_CASE(DNN_FLOAT32, float, f32, c->v)
    FILL_CASE(DNN_FLOAT64, double, f64, c->v)
    FILL_CASE(DNN_INT32, int32_t, i32, c->iv)
    FILL_CASE(DNN_INT64, int64_t, i64, c->iv)
    FILL_CASE(DNN_UINT8, uint8_t, u8, c->iv)
    FILL_CASE(DNN_BOOL, uint8_t, b8, c->v != 0)
    FILL_CASE(DNN_FLOAT16, uint16_t, h16, dnn_f32_to_f16((float)c->v))
    FILL_CASE(DNN_BFLOAT16, uint16_t, bh16, dnn_f32_to_bf16((float)c->v))
#undef FILL_CASE
    default: break;
  }
}

dnn_status cpu_fill(const dnn_op_args *a) {
  const dnn_tensor *ts[1] = {a->out};
  cpu_iter it;
  cpu_iter_init(&it, 1, ts);
  double v = a->s0;
  int64_t iv;
  if (a->has_s1) { /* exact integer passed in k */
    iv = a->k;
  } else if (a->out->dtype == DNN_INT32) {
    iv = f2i32(v);
  } else {
    iv = f2i64(v);
  }
  fill_ctx c = {(dnn_dtype)a->out->dtype, v, iv};
  cpu_iter_run(&it, fill_rows, &c, 2);
  return DNN_OK;
}
