/* Unary elementwise kernels, clamp and where. */
#include <math.h>

#include "backend_cpu.h"
#include "dtype_dispatch.h"
#include "iter.h"

typedef void (*un_row)(int64_t n, char *o, int64_t os, const char *a, int64_t as);

#define UN_ROW(NAME, TO, T, EXPR)                                                  \
  static void NAME(int64_t n, char *o, int64_t os, const char *a, int64_t as) {   \
    TO *O = (TO *)o;                                                              \
    const T *A = (const T *)a;                                                    \
    if (os == sizeof(TO) && as == sizeof(T)) {                                    \
      _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                       \
        T x = A[i];                                                               \
        O[i] = (TO)(EXPR);                                                        \
      }                                                                           \
    } else {                                                                      \
      for (int64_t i = 0; i < n; i++) {                                           \
        T x = *(const T *)(a + i * as);                                           \
        *(TO *)(o + i * os) = (TO)(EXPR);                                         \
      }                                                                           \
    }                                                                             \
  }

#define SIGNF(T, x) (T)(((x) > 0) - ((x) < 0))

#define FLOAT_UNARY(T, S, F)                                       \
  UN_ROW(neg_##S, T, T, -x)                                        \
  UN_ROW(abs_##S, T, T, fabs##F(x))                                \
  UN_ROW(exp_##S, T, T, exp##F(x))                                 \
  UN_ROW(log_##S, T, T, log##F(x))                                 \
  UN_ROW(log1p_##S, T, T, log1p##F(x))                             \
  UN_ROW(expm1_##S, T, T, expm1##F(x))                             \
  UN_ROW(sqrt_##S, T, T, sqrt##F(x))                               \
  UN_ROW(rsqrt_##S, T, T, (T)1 / sqrt##F(x))                       \
  UN_ROW(sin_##S, T, T, sin##F(x))                                 \
  UN_ROW(cos_##S, T, T, cos##F(x))                                 \
  UN_ROW(tan_##S, T, T, tan##F(x))                                 \
  UN_ROW(tanh_##S, T, T, tanh##F(x))                               \
  UN_ROW(sigmoid_##S, T, T, (T)1 / ((T)1 + exp##F(-x)))            \
  UN_ROW(relu_##S, T, T, x > 0 ? x : (x != x ? x : (T)0))          \
  UN_ROW(sign_##S, T, T, x != x ? x : SIGNF(T, x))                    \
  UN_ROW(floor_##S, T, T, floor##F(x))                             \
  UN_ROW(ceil_##S, T, T, ceil##F(x))                               \
  UN_ROW(round_##S, T, T, nearbyint##F(x))                         \
  UN_ROW(trunc_##S, T, T, trunc##F(x))                             \
  UN_ROW(reciprocal_##S, T, T, (T)1 / x)                           \
  UN_ROW(square_##S, T, T, x * x)                                  \
  UN_ROW(isnan_##S, uint8_t, T, x != x)                            \
  UN_ROW(isinf_##S, uint8_t, T, isinf(x) != 0)                     \
  UN_ROW(erf_##S, T, T, erf##F(x))                                 \
  UN_ROW(log2_##S, T, T, log2##F(x))                               \
  UN_ROW(log10_##S, T, T, log10##F(x))                             \
  UN_ROW(asin_##S, T, T, asin##F(x))                               \
  UN_ROW(acos_##S, T, T, acos##F(x))                               \
  UN_ROW(atan_##S, T, T, atan##F(x))                               \
  UN_ROW(sinh_##S, T, T, sinh##F(x))                               \
  UN_ROW(cosh_##S, T, T, cosh##F(x))
FLOAT_UNARY(float, f32, f)
FLOAT_UNARY(double, f64, )

#define INT_UNARY(T, UT, S)                               \
  UN_ROW(neg_##S, T, T, (T)(0 - (UT)x))                   \
  UN_ROW(abs_##S, T, T, x < 0 ? (T)(0 - (UT)x) : x)       \
  UN_ROW(relu_##S, T, T, x > 0 ? x : 0)                   \
  UN_ROW(sign_##S, T, T, SIGNF(T, x))                     \
  UN_ROW(ident_##S, T, T, x)                              \
  UN_ROW(square_##S, T, T, (T)((UT)x * (UT)x))
INT_UNARY(int32_t, uint32_t, i32)
INT_UNARY(int64_t, uint64_t, i64)
UN_ROW(neg_u8, uint8_t, uint8_t, (uint8_t)(0u - x))
UN_ROW(relu_u8, uint8_t, uint8_t, x)
UN_ROW(sign_u8, uint8_t, uint8_t, x > 0)
UN_ROW(ident_u8, uint8_t, uint8_t, x)
UN_ROW(square_u8, uint8_t, uint8_t, (uint8_t)((uint32_t)x * x))
UN_ROW(lnot_b8, uint8_t, uint8_t, !x)
UN_ROW(ident_b8, uint8_t, uint8_t, x)

#define FLT(name) {name##_f32, name##_f64, NULL, NULL, NULL, NULL}
#define ALLN(name) {name##_f32, name##_f64, name##_i32, name##_i64, name##_u8, NULL}
#define ROUNDING(name) {name##_f32, name##_f64, ident_i32, ident_i64, ident_u8, ident_b8}
#define U(op) [DNN_OP_##op - DNN_OP_NEG]

static const un_row un_table[DNN_OP_COSH - DNN_OP_NEG + 1][DNN_DTYPE_COUNT] = {
    U(NEG) = ALLN(neg),   U(ABS) = {abs_f32, abs_f64, abs_i32, abs_i64, ident_u8, ident_b8},
    U(EXP) = FLT(exp),    U(LOG) = FLT(log),     U(LOG1P) = FLT(log1p), U(EXPM1) = FLT(expm1),
    U(SQRT) = FLT(sqrt),  U(RSQRT) = FLT(rsqrt), U(SIN) = FLT(sin),     U(COS) = FLT(cos),
    U(TAN) = FLT(tan),    U(TANH) = FLT(tanh),   U(SIGMOID) = FLT(sigmoid),
    U(RELU) = {relu_f32, relu_f64, relu_i32, relu_i64, relu_u8, ident_b8},
    U(SIGN) = {sign_f32, sign_f64, sign_i32, sign_i64, sign_u8, ident_b8},
    U(FLOOR) = ROUNDING(floor), U(CEIL) = ROUNDING(ceil), U(ROUND) = ROUNDING(round),
    U(TRUNC) = ROUNDING(trunc), U(RECIPROCAL) = FLT(reciprocal), U(SQUARE) = ALLN(square),
    U(LOGICAL_NOT) = {NULL, NULL, NULL, NULL, NULL, lnot_b8},
    U(ISNAN) = FLT(isnan), U(ISINF) = FLT(isinf), U(ERF) = FLT(erf), U(LOG2) = FLT(log2),
    U(LOG10) = FLT(log10), U(ASIN) = FLT(asin), U(ACOS) = FLT(acos), U(ATAN) = FLT(atan),
    U(SINH) = FLT(sinh),   U(COSH) = FLT(cosh),
};

bool cpu_unary_supports(dnn_op op, dnn_dtype dt) {
  return op >= DNN_OP_NEG && op <= DNN_OP_COSH && un_table[op - DNN_OP_NEG][dt] != NULL;
}

static void un_rows(void *vctx, int64_t n, char **p, const int64_t *st) {
  un_row fn = *(un_row *)vctx;
  fn(n, p[0], st[0], p[1], st[1]);
}

/* out has in[0]'s shape; out dtype is in[0]'s (bool for isnan/isinf/not). */
dnn_status cpu_unary(const dnn_op_args *a) {
  dnn_dtype dt = (dnn_dtype)a->in[0]->dtype;
  un_row fn = un_table[a->op - DNN_OP_NEG][dt];
  if (!fn)
    return dnn_error(DNN_ERR_DTYPE, "%s: not supported for dtype %s", dnn_op_name(a->op), dnn_dtype_name(dt));
  const dnn_tensor *o = a->out, *x = a->in[0];
  int64_t n = dnn_numel(o);
  if (n < DNN_PARALLEL_GRAIN && dnn_is_contiguous(o) && dnn_is_contiguous(x)) {
    fn(n, dnn_data_ptr(o), (int64_t)dnn_dtype_size((dnn_dtype)o->dtype), dnn_data_ptr(x),
       (int64_t)dnn_dtype_size(dt));
    return DNN_OK;
  }
  const dnn_tensor *ts[2] = {o, x};
  cpu_iter it;
  cpu_iter_init(&it, 2, ts);
  cpu_iter_run(&it, un_rows, &fn, 1);
  return DNN_OK;
}

/* ---- clamp: out = min(max(x, lo), hi); NaN stays NaN ---- */
typedef struct {
  dnn_dtype dt;
  bool has_lo, has_hi;
  double lo, hi;
} clamp_ctx;

#define CLAMP_BODY(T, LO, HI)                                          \
  for (int64_t i = 0; i < n; i++) {                                    \
    T x = *(const T *)(p[1] + i * st[1]);                              \
    if (c->has_lo && x < LO) x = LO;                                   \
    if (c->has_hi && x > HI) x = HI;                                   \
    *(T *)(p[0] + i * st[0]) = x;                                      \
  }

static void clamp_rows(void *vctx, int64_t n, char **p, const int64_t *st) {
  clamp_ctx *c = vctx;
  switch (c->dt) {
    case DNN_FLOAT32: { float lo = (float)c->lo, hi = (float)c->hi; CLAMP_BODY(float, lo, hi) break; }
    case DNN_FLOAT64: { double lo = c->lo, hi = c->hi; CLAMP_BODY(double, lo, hi) break; }
    case DNN_INT32: { double lo = c->lo, hi = c->hi; CLAMP_BODY(int32_t, lo, hi) break; }
    case DNN_INT64: { double lo = c->lo, hi = c->hi; CLAMP_BODY(int64_t, lo, hi) break; }
    case DNN_UINT8: { double lo = c->lo, hi = c->hi; CLAMP_BODY(uint8_t, lo, hi) break; }
    default: break;
  }
}

/* Integer outputs of clamp assign a double bound: front end has rounded the
 * bounds into the dtype's range, so the conversions are exact. */
dnn_status cpu_clamp(const dnn_op_args *a) {
  clamp_ctx c = {(dnn_dtype)a->out->dtype, a->has_s0, a->has_s1, a->s0, a->s1};
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  cpu_iter it;
  cpu_iter_init(&it, 2, ts);
  cpu_iter_run(&it, clamp_rows, &c, 1);
  return DNN_OK;
}

/* ---- where: out = cond ? x : y (cond bool, x/y of out's dtype) ---- */
static void where_rows(void *vctx, int64_t n, char **p, const int64_t *st) {
  size_t es = *(size_t *)vctx;
  for (int64_t i = 0; i < n; i++) {
    const char *src = *(const uint8_t *)(p[1] + i * st[1]) ? p[2] + i * st[2] : p[3] + i * st[3];
    char *dst = p[0] + i * st[0];
    switch (es) {
      case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
      case 4: *(uint32_t *)dst = *(const uint32_t *)src; break;
      default: *(uint64_t *)dst = *(const uint64_t *)src; break;
    }
  }
}

dnn_status cpu_where(const dnn_op_args *a) {
  size_t es = dnn_dtype_size((dnn_dtype)a->out->dtype);
  const dnn_tensor *ts[4] = {a->out, a->in[0], a->in[1], a->in[2]};
  cpu_iter it;
  cpu_iter_init(&it, 4, ts);
  cpu_iter_run(&it, where_rows, &es, 1);
  return DNN_OK;
}
