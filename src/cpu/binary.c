/* Binary elementwise kernels: out = a (op) b over broadcast views.
 * One row function per (op, dtype); contiguous and scalar-broadcast rows take
 * vectorisable loops, everything else the strided loop. */
#include <math.h>
#include <string.h>

#include "backend_cpu.h"
#include "dtype_dispatch.h"
#include "iter.h"

typedef struct {
  int error; /* 1: integer division by zero, 2: negative integer power */
} bin_ctx;

typedef void (*bin_row)(bin_ctx *c, int64_t n, char *o, int64_t os, const char *a, int64_t as,
                        const char *b, int64_t bs);

#define BIN_ROW(NAME, TO, T, EXPR)                                                         \
  static void NAME(bin_ctx *c, int64_t n, char *o, int64_t os, const char *a, int64_t as, \
                   const char *b, int64_t bs) {                                           \
    (void)c;                                                                              \
    TO *O = (TO *)o;                                                                      \
    const T *A = (const T *)a, *B = (const T *)b;                                         \
    if (os == sizeof(TO) && as == sizeof(T) && bs == sizeof(T)) {                         \
      _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                               \
        T x = A[i], y = B[i];                                                             \
        O[i] = (TO)(EXPR);                                                                \
      }                                                                                   \
    } else if (os == sizeof(TO) && as == sizeof(T) && bs == 0) {                          \
      const T y = B[0];                                                                   \
      _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                               \
        T x = A[i];                                                                       \
        O[i] = (TO)(EXPR);                                                                \
      }                                                                                   \
    } else if (os == sizeof(TO) && as == 0 && bs == sizeof(T)) {                          \
      const T x = A[0];                                                                   \
      _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                               \
        T y = B[i];                                                                       \
        O[i] = (TO)(EXPR);                                                                \
      }                                                                                   \
    } else {                                                                              \
      for (int64_t i = 0; i < n; i++) {                                                   \
        T x = *(const T *)(a + i * as), y = *(const T *)(b + i * bs);                     \
        *(TO *)(o + i * os) = (TO)(EXPR);                                                 \
      }                                                                                   \
    }                                                                                     \
  }

/* ---- float ops ---- */
static inline double py_fmod_d(double x, double y) {
  double r = fmod(x, y);
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}
static inline float py_fmod_f(float x, float y) {
  float r = fmodf(x, y);
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}
#define NANMAX(x, y) ((x) != (x) ? (x) : (y) != (y) ? (y) : (x) > (y) ? (x) : (y))
#define NANMIN(x, y) ((x) != (x) ? (x) : (y) != (y) ? (y) : (x) < (y) ? (x) : (y))

#define FLOAT_OPS(T, S, POWF, FMODF, REMF, ATAN2F)     \
  BIN_ROW(add_##S, T, T, x + y)                        \
  BIN_ROW(sub_##S, T, T, x - y)                        \
  BIN_ROW(mul_##S, T, T, x * y)                        \
  BIN_ROW(div_##S, T, T, x / y)                        \
  BIN_ROW(pow_##S, T, T, POWF(x, y))                   \
  BIN_ROW(maximum_##S, T, T, NANMAX(x, y))             \
  BIN_ROW(minimum_##S, T, T, NANMIN(x, y))             \
  BIN_ROW(fmod_##S, T, T, FMODF(x, y))                 \
  BIN_ROW(remainder_##S, T, T, REMF(x, y))             \
  BIN_ROW(atan2_##S, T, T, ATAN2F(x, y))
FLOAT_OPS(float, f32, powf, fmodf, py_fmod_f, atan2f)
FLOAT_OPS(double, f64, pow, fmod, py_fmod_d, atan2)

/* ---- integer ops: wrap on overflow (no UB), errors instead of SIGFPE ---- */
#define WRAP(T, UT, E) ((T)(E))
static inline int64_t ipow(bin_ctx *c, int64_t x, int64_t y) {
  if (y < 0) {
    if (x == 1) return 1;
    if (x == -1) return (y & 1) ? -1 : 1;
    c->error = 2;
    return 0;
  }
  uint64_t r = 1, b = (uint64_t)x;
  while (y) {
    if (y & 1) r *= b;
    b *= b;
    y >>= 1;
  }
  return (int64_t)r;
}
static inline int64_t ifmod(bin_ctx *c, int64_t x, int64_t y) {
  if (y == 0) {
    c->error = 1;
    return 0;
  }
  if (y == -1) return 0;
  return x % y;
}
static inline int64_t iremainder(bin_ctx *c, int64_t x, int64_t y) {
  int64_t r = ifmod(c, x, y);
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

#define INT_OPS(T, UT, S)                                            \
  BIN_ROW(add_##S, T, T, (T)((UT)x + (UT)y))                         \
  BIN_ROW(sub_##S, T, T, (T)((UT)x - (UT)y))                         \
  BIN_ROW(mul_##S, T, T, (T)((UT)x * (UT)y))                         \
  BIN_ROW(pow_##S, T, T, (T)ipow(c, (int64_t)x, (int64_t)y))         \
  BIN_ROW(maximum_##S, T, T, x > y ? x : y)                          \
  BIN_ROW(minimum_##S, T, T, x < y ? x : y)                          \
  BIN_ROW(fmod_##S, T, T, (T)ifmod(c, (int64_t)x, (int64_t)y))       \
  BIN_ROW(remainder_##S, T, T, (T)iremainder(c, (int64_t)x, (int64_t)y))
INT_OPS(int32_t, uint32_t, i32)
INT_OPS(int64_t, uint64_t, i64)
INT_OPS(uint8_t, uint32_t, u8)

/* ---- comparisons (any dtype in, bool out) and logic (bool in, bool out) ---- */
#define CMP_OPS(T, S)                     \
  BIN_ROW(eq_##S, uint8_t, T, x == y)     \
  BIN_ROW(ne_##S, uint8_t, T, x != y)     \
  BIN_ROW(lt_##S, uint8_t, T, x < y)      \
  BIN_ROW(le_##S, uint8_t, T, x <= y)     \
  BIN_ROW(gt_##S, uint8_t, T, x > y)      \
  BIN_ROW(ge_##S, uint8_t, T, x >= y)
CMP_OPS(float, f32)
CMP_OPS(double, f64)
CMP_OPS(int32_t, i32)
CMP_OPS(int64_t, i64)
CMP_OPS(uint8_t, u8)
BIN_ROW(maximum_b8, uint8_t, uint8_t, x | y)
BIN_ROW(minimum_b8, uint8_t, uint8_t, x & y)
BIN_ROW(land_b8, uint8_t, uint8_t, x && y)
BIN_ROW(lor_b8, uint8_t, uint8_t, x || y)
BIN_ROW(lxor_b8, uint8_t, uint8_t, (x != 0) != (y != 0))

#define NUM5(name) {name##_f32, name##_f64, name##_i32, name##_i64, name##_u8, NULL}
#define FLT(name) {name##_f32, name##_f64, NULL, NULL, NULL, NULL}
#define CMP6(name) {name##_f32, name##_f64, name##_i32, name##_i64, name##_u8, name##_u8}

/* Indexed by op - DNN_OP_ADD, then by dtype; NULL = not for this dtype. */
static const bin_row bin_table[DNN_OP_LOGICAL_XOR - DNN_OP_ADD + 1][DNN_DTYPE_COUNT] = {
    [DNN_OP_ADD - DNN_OP_ADD] = NUM5(add),
    [DNN_OP_SUB - DNN_OP_ADD] = NUM5(sub),
    [DNN_OP_MUL - DNN_OP_ADD] = NUM5(mul),
    [DNN_OP_DIV - DNN_OP_ADD] = FLT(div),
    [DNN_OP_POW - DNN_OP_ADD] = NUM5(pow),
    [DNN_OP_MAXIMUM - DNN_OP_ADD] = {maximum_f32, maximum_f64, maximum_i32, maximum_i64, maximum_u8, maximum_b8},
    [DNN_OP_MINIMUM - DNN_OP_ADD] = {minimum_f32, minimum_f64, minimum_i32, minimum_i64, minimum_u8, minimum_b8},
    [DNN_OP_FMOD - DNN_OP_ADD] = NUM5(fmod),
    [DNN_OP_REMAINDER - DNN_OP_ADD] = NUM5(remainder),
    [DNN_OP_ATAN2 - DNN_OP_ADD] = FLT(atan2),
    [DNN_OP_EQ - DNN_OP_ADD] = CMP6(eq),
    [DNN_OP_NE - DNN_OP_ADD] = CMP6(ne),
    [DNN_OP_LT - DNN_OP_ADD] = CMP6(lt),
    [DNN_OP_LE - DNN_OP_ADD] = CMP6(le),
    [DNN_OP_GT - DNN_OP_ADD] = CMP6(gt),
    [DNN_OP_GE - DNN_OP_ADD] = CMP6(ge),
    [DNN_OP_LOGICAL_AND - DNN_OP_ADD] = {NULL, NULL, NULL, NULL, NULL, land_b8},
    [DNN_OP_LOGICAL_OR - DNN_OP_ADD] = {NULL, NULL, NULL, NULL, NULL, lor_b8},
    [DNN_OP_LOGICAL_XOR - DNN_OP_ADD] = {NULL, NULL, NULL, NULL, NULL, lxor_b8},
};

bool cpu_binary_supports(dnn_op op, dnn_dtype dt) {
  return op >= DNN_OP_ADD && op <= DNN_OP_LOGICAL_XOR && bin_table[op - DNN_OP_ADD][dt] != NULL;
}

typedef struct {
  bin_row fn;
  bin_ctx c;
} bin_run_ctx;

static void bin_rows(void *vctx, int64_t n, char **p, const int64_t *st) {
  bin_run_ctx *r = vctx;
  r->fn(&r->c, n, p[0], st[0], p[1], st[1], p[2], st[2]);
}

/* out, in[0], in[1] share out's shape (inputs broadcast by strides) and
 * in[0]/in[1] share the compute dtype. */
dnn_status cpu_binary(const dnn_op_args *a) {
  dnn_dtype dt = (dnn_dtype)a->in[0]->dtype;
  bin_row fn = bin_table[a->op - DNN_OP_ADD][dt];
  if (!fn)
    return dnn_error(DNN_ERR_DTYPE, "%s: not supported for dtype %s", dnn_op_name(a->op), dnn_dtype_name(dt));
  bin_run_ctx r = {fn, {0}};
  const dnn_tensor *o = a->out, *x = a->in[0], *y = a->in[1];
  int64_t n = dnn_numel(o);
  /* small contiguous or scalar operands: skip the iterator set-up */
  if (n < DNN_PARALLEL_GRAIN && dnn_is_contiguous(o)) {
    bool xc = dnn_is_contiguous(x), yc = dnn_is_contiguous(y);
    bool xz = cpu_all_strides_zero(x), yz = cpu_all_strides_zero(y);
    if ((xc || xz) && (yc || yz)) {
      int64_t es = (int64_t)dnn_dtype_size(dt), eo = (int64_t)dnn_dtype_size((dnn_dtype)o->dtype);
      fn(&r.c, n, dnn_data_ptr(o), eo, dnn_data_ptr(x), xc ? es : 0, dnn_data_ptr(y), yc ? es : 0);
      goto done;
    }
  }
  {
    const dnn_tensor *ts[3] = {o, x, y};
    cpu_iter it;
    cpu_iter_init(&it, 3, ts);
    cpu_iter_run(&it, bin_rows, &r, 1);
  }
done:
  if (r.c.error == 1)
    return dnn_error(DNN_ERR_ARG, "%s: integer division by zero", dnn_op_name(a->op));
  if (r.c.error == 2)
    return dnn_error(DNN_ERR_ARG, "%s: integers to negative integer powers are not allowed",
                     dnn_op_name(a->op));
  return DNN_OK;
}
