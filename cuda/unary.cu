/* Unary elementwise kernels, clamp and where, with cpu/unary.c's semantics:
 * rounding is half-to-even (nearbyint), relu and sign keep NaN, rsqrt is
 * 1/sqrt (CUDA's rsqrtf is 2 ulp off, which the parity table would see),
 * integers negate and square by wrapping unsigned arithmetic; float16 and
 * bfloat16 run the float32 functions and round once. */
#include "elementwise.cuh"

namespace {

/* One functor for every float op: the op is a template constant, so each
 * instantiation's switch folds away. */
template <int OP, typename T> struct f_un;

#define F_UN(OPNAME, TO, EXPR_F, EXPR_D)                                                    \
  template <> struct f_un<DNN_OP_##OPNAME, float> {                                        \
    __device__ TO operator()(float x) const { return (TO)(EXPR_F); }                       \
  };                                                                                       \
  template <> struct f_un<DNN_OP_##OPNAME, double> {                                       \
    __device__ TO operator()(double x) const { return (TO)(EXPR_D); }                      \
  };

#define F_UN_SAME(OPNAME, EXPR_F, EXPR_D)                                                   \
  template <> struct f_un<DNN_OP_##OPNAME, float> {                                        \
    __device__ float operator()(float x) const { return (EXPR_F); }                        \
  };                                                                                       \
  template <> struct f_un<DNN_OP_##OPNAME, double> {                                       \
    __device__ double operator()(double x) const { return (EXPR_D); }                      \
  };

F_UN_SAME(NEG, -x, -x)
F_UN_SAME(ABS, fabsf(x), fabs(x))
F_UN_SAME(EXP, expf(x), exp(x))
F_UN_SAME(LOG, logf(x), log(x))
F_UN_SAME(LOG1P, log1pf(x), log1p(x))
F_UN_SAME(EXPM1, expm1f(x), expm1(x))
F_UN_SAME(SQRT, sqrtf(x), sqrt(x))
F_UN_SAME(RSQRT, 1.0f / sqrtf(x), 1.0 / sqrt(x))
F_UN_SAME(SIN, sinf(x), sin(x))
F_UN_SAME(COS, cosf(x), cos(x))
F_UN_SAME(TAN, tanf(x), tan(x))
F_UN_SAME(TANH, tanhf(x), tanh(x))
F_UN_SAME(SIGMOID, 1.0f / (1.0f + expf(-x)), 1.0 / (1.0 + exp(-x)))
F_UN_SAME(RELU, x > 0 ? x : (x != x ? x : 0.0f), x > 0 ? x : (x != x ? x : 0.0))
F_UN_SAME(SIGN, x != x ? x : (float)((x > 0) - (x < 0)), x != x ? x : (double)((x > 0) - (x < 0)))
F_UN_SAME(FLOOR, floorf(x), floor(x))
F_UN_SAME(CEIL, ceilf(x), ceil(x))
F_UN_SAME(ROUND, rintf(x), rint(x))
F_UN_SAME(TRUNC, truncf(x), trunc(x))
F_UN_SAME(RECIPROCAL, 1.0f / x, 1.0 / x)
F_UN_SAME(SQUARE, x * x, x * x)
F_UN(ISNAN, uint8_t, x != x, x != x)
F_UN(ISINF, uint8_t, isinf(x) != 0, isinf(x) != 0)
F_UN_SAME(ERF, erff(x), erf(x))
F_UN_SAME(LOG2, log2f(x), log2(x))
F_UN_SAME(LOG10, log10f(x), log10(x))
F_UN_SAME(ASIN, asinf(x), asin(x))
F_UN_SAME(ACOS, acosf(x), acos(x))
F_UN_SAME(ATAN, atanf(x), atan(x))
F_UN_SAME(SINH, sinhf(x), sinh(x))
F_UN_SAME(COSH, coshf(x), cosh(x))

template <typename T, typename UT> struct i_neg { __device__ T operator()(T x) const { return (T)(0 - (UT)x); } };
template <typename T, typename UT> struct i_abs {
  __device__ T operator()(T x) const { return x < 0 ? (T)(0 - (UT)x) : x; }
};
template <typename T> struct i_relu { __device__ T operator()(T x) const { return x > 0 ? x : (T)0; } };
template <typename T> struct i_sign { __device__ T operator()(T x) const { return (T)((x > 0) - (x < 0)); } };
template <typename T> struct i_ident { __device__ T operator()(T x) const { return x; } };
template <typename T, typename UT> struct i_square {
  __device__ T operator()(T x) const { return (T)((UT)x * (UT)x); }
};
struct u8_sign { __device__ uint8_t operator()(uint8_t x) const { return x > 0; } };
struct b_not { __device__ uint8_t operator()(uint8_t x) const { return !x; } };

dnn_status unsupported(dnn_op op, dnn_dtype dt) {
  return dnn_error(DNN_ERR_DTYPE, "%s: not supported for dtype %s", dnn_op_name(op), dnn_dtype_name(dt));
}

template <typename T>
dnn_status float_unary(const char *name, dnn_op op, cuda_ctx *c, const cu_iter &it) {
#define CASE(OPNAME) \
  case DNN_OP_##OPNAME: return cu_run_map1<T, T>(name, c, it, f_un<DNN_OP_##OPNAME, T>());
#define CASE_BOOL(OPNAME) \
  case DNN_OP_##OPNAME: return cu_run_map1<uint8_t, T>(name, c, it, f_un<DNN_OP_##OPNAME, T>());
  switch (op) {
    CASE(NEG) CASE(ABS) CASE(EXP) CASE(LOG) CASE(LOG1P) CASE(EXPM1) CASE(SQRT) CASE(RSQRT) CASE(SIN)
    CASE(COS) CASE(TAN) CASE(TANH) CASE(SIGMOID) CASE(RELU) CASE(SIGN) CASE(FLOOR) CASE(CEIL) CASE(ROUND)
    CASE(TRUNC) CASE(RECIPROCAL) CASE(SQUARE) CASE_BOOL(ISNAN) CASE_BOOL(ISINF) CASE(ERF) CASE(LOG2)
    CASE(LOG10) CASE(ASIN) CASE(ACOS) CASE(ATAN) CASE(SINH) CASE(COSH)
    default: return unsupported(op, sizeof(T) == 4 ? DNN_FLOAT32 : DNN_FLOAT64);
  }
#undef CASE
#undef CASE_BOOL
}

/* float16/bfloat16: the float32 functors on the widened value, one rounding */
template <typename H>
dnn_status half_unary(const char *name, dnn_op op, dnn_dtype dt, cuda_ctx *c, const cu_iter &it) {
#define CASE(OPNAME)                                                  \
  case DNN_OP_##OPNAME:                                               \
    return cu_run_map1<H, H>(name, c, it, cu_half_map1<H, f_un<DNN_OP_##OPNAME, float>>{});
#define CASE_BOOL(OPNAME)                                             \
  case DNN_OP_##OPNAME:                                               \
    return cu_run_map1<uint8_t, H>(name, c, it, cu_half_test1<H, f_un<DNN_OP_##OPNAME, float>>{});
  switch (op) {
    CASE(NEG) CASE(ABS) CASE(EXP) CASE(LOG) CASE(LOG1P) CASE(EXPM1) CASE(SQRT) CASE(RSQRT) CASE(SIN)
    CASE(COS) CASE(TAN) CASE(TANH) CASE(SIGMOID) CASE(RELU) CASE(SIGN) CASE(FLOOR) CASE(CEIL) CASE(ROUND)
    CASE(TRUNC) CASE(RECIPROCAL) CASE(SQUARE) CASE_BOOL(ISNAN) CASE_BOOL(ISINF) CASE(ERF) CASE(LOG2)
    CASE(LOG10) CASE(ASIN) CASE(ACOS) CASE(ATAN) CASE(SINH) CASE(COSH)
    default: return unsupported(op, dt);
  }
#undef CASE
#undef CASE_BOOL
}

template <typename T, typename UT>
dnn_status int_unary(const char *name, dnn_op op, dnn_dtype dt, cuda_ctx *c, const cu_iter &it) {
  switch (op) {
    case DNN_OP_NEG: return cu_run_map1<T, T>(name, c, it, i_neg<T, UT>());
    case DNN_OP_ABS: return cu_run_map1<T, T>(name, c, it, i_abs<T, UT>());
    case DNN_OP_RELU: return cu_run_map1<T, T>(name, c, it, i_relu<T>());
    case DNN_OP_SIGN: return cu_run_map1<T, T>(name, c, it, i_sign<T>());
    case DNN_OP_SQUARE: return cu_run_map1<T, T>(name, c, it, i_square<T, UT>());
    case DNN_OP_FLOOR: case DNN_OP_CEIL: case DNN_OP_ROUND: case DNN_OP_TRUNC:
      return cu_run_map1<T, T>(name, c, it, i_ident<T>());
    default: return unsupported(op, dt);
  }
}

dnn_status u8_unary(const char *name, dnn_op op, cuda_ctx *c, const cu_iter &it) {
  switch (op) {
    case DNN_OP_NEG: return cu_run_map1<uint8_t, uint8_t>(name, c, it, i_neg<uint8_t, uint32_t>());
    case DNN_OP_SIGN: return cu_run_map1<uint8_t, uint8_t>(name, c, it, u8_sign());
    case DNN_OP_SQUARE: return cu_run_map1<uint8_t, uint8_t>(name, c, it, i_square<uint8_t, uint32_t>());
    case DNN_OP_ABS: case DNN_OP_RELU: case DNN_OP_FLOOR: case DNN_OP_CEIL: case DNN_OP_ROUND: case DNN_OP_TRUNC:
      return cu_run_map1<uint8_t, uint8_t>(name, c, it, i_ident<uint8_t>());
    default: return unsupported(op, DNN_UINT8);
  }
}

dnn_status bool_unary(const char *name, dnn_op op, cuda_ctx *c, const cu_iter &it) {
  switch (op) {
    case DNN_OP_LOGICAL_NOT: return cu_run_map1<uint8_t, uint8_t>(name, c, it, b_not());
    case DNN_OP_ABS: case DNN_OP_RELU: case DNN_OP_SIGN: case DNN_OP_FLOOR: case DNN_OP_CEIL: case DNN_OP_ROUND:
    case DNN_OP_TRUNC:
      return cu_run_map1<uint8_t, uint8_t>(name, c, it, i_ident<uint8_t>());
    default: return unsupported(op, DNN_BOOL);
  }
}

/* clamp: NaN stays NaN (comparisons with NaN are false); integer bounds
 * arrive rounded into the dtype's range (the front end did it). */
template <typename T> struct clamp_fn {
  bool has_lo, has_hi;
  T lo, hi;
  __device__ T operator()(T x) const {
    if (has_lo && x < lo) x = lo;
    if (has_hi && x > hi) x = hi;
    return x;
  }
};

template <typename T>
__global__ void where_flat(int64_t n, T *o, const uint8_t *cnd, int64_t sc, const T *x, int64_t sx, const T *y,
                           int64_t sy) {
  CU_GRID_STRIDE(i, n) o[i] = cnd[i * sc] ? x[i * sx] : y[i * sy];
}
template <typename T>
__global__ void where_strided(int64_t n, cu_offsets off, T *o, const uint8_t *cnd, const T *x, const T *y) {
  CU_GRID_STRIDE(i, n) {
    int64_t k[4];
    cu_offsets_at<4>(off, i, k);
    o[k[0]] = cnd[k[1]] ? x[k[2]] : y[k[3]];
  }
}

template <typename T>
dnn_status run_where(const char *name, cuda_ctx *c, const cu_iter &it) {
  if (it.numel == 0) return DNN_OK;
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  if (it.flat && it.step[0] == 1)
    where_flat<T><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, (T *)it.base[0], (const uint8_t *)it.base[1],
                                                      it.step[1], (const T *)it.base[2], it.step[2],
                                                      (const T *)it.base[3], it.step[3]);
  else
    where_strided<T><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, cu_offsets_of(it), (T *)it.base[0],
                                                         (const uint8_t *)it.base[1], (const T *)it.base[2],
                                                         (const T *)it.base[3]);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

}  // namespace

/* out has in[0]'s shape; out's dtype is in[0]'s (bool for isnan/isinf/not). */
dnn_status cu_unary(const dnn_op_args *a) {
  const char *name = dnn_op_name(a->op);
  dnn_dtype dt = (dnn_dtype)a->in[0]->dtype;
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 2, ts));
  switch (dt) {
    case DNN_FLOAT32: return float_unary<float>(name, a->op, c, it);
    case DNN_FLOAT64: return float_unary<double>(name, a->op, c, it);
    case DNN_INT32: return int_unary<int32_t, uint32_t>(name, a->op, dt, c, it);
    case DNN_INT64: return int_unary<int64_t, uint64_t>(name, a->op, dt, c, it);
    case DNN_UINT8: return u8_unary(name, a->op, c, it);
    case DNN_BOOL: return bool_unary(name, a->op, c, it);
    case DNN_FLOAT16: return half_unary<__half>(name, a->op, dt, c, it);
    case DNN_BFLOAT16: return half_unary<__nv_bfloat16>(name, a->op, dt, c, it);
    default: return unsupported(a->op, dt);
  }
}

dnn_status cu_clamp(const dnn_op_args *a) {
  const char *name = "clamp";
  dnn_dtype dt = (dnn_dtype)a->out->dtype;
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 2, ts));
  switch (dt) {
    case DNN_FLOAT32:
      return cu_run_map1<float, float>(name, c, it, clamp_fn<float>{a->has_s0, a->has_s1, (float)a->s0, (float)a->s1});
    case DNN_FLOAT64:
      return cu_run_map1<double, double>(name, c, it, clamp_fn<double>{a->has_s0, a->has_s1, a->s0, a->s1});
    case DNN_INT32:
      return cu_run_map1<int32_t, int32_t>(name, c, it,
                                           clamp_fn<int32_t>{a->has_s0, a->has_s1, (int32_t)a->s0, (int32_t)a->s1});
    case DNN_INT64:
      return cu_run_map1<int64_t, int64_t>(name, c, it,
                                           clamp_fn<int64_t>{a->has_s0, a->has_s1, (int64_t)a->s0, (int64_t)a->s1});
    case DNN_UINT8:
      return cu_run_map1<uint8_t, uint8_t>(name, c, it,
                                           clamp_fn<uint8_t>{a->has_s0, a->has_s1, (uint8_t)a->s0, (uint8_t)a->s1});
    default: return unsupported(DNN_OP_CLAMP, dt);
  }
}

/* out = cond ? x : y: cond bool, x and y of out's dtype, all of out's shape. */
dnn_status cu_where(const dnn_op_args *a) {
  const char *name = "where";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[4] = {a->out, a->in[0], a->in[1], a->in[2]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 4, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 4, ts));
  switch (dnn_dtype_size((dnn_dtype)a->out->dtype)) {
    case 1: return run_where<uint8_t>(name, c, it);
    case 4: return run_where<uint32_t>(name, c, it);
    default: return run_where<uint64_t>(name, c, it);
  }
}
