/* Binary elementwise kernels: out = a (op) b over broadcast views, with the
 * CPU backend's semantics (cpu/binary.c): floats follow C's libm (maximum and
 * minimum propagate NaN, remainder takes the divisor's sign as Python does),
 * float16/bfloat16 compute in float32 and round once (as the CPU's float32
 * fallback in core/backend.c does), integers wrap on overflow, and integer
 * division by zero or a negative
 * integer power is an error (reported through the context's error flag, read
 * back only for those ops). */
#include "elementwise.cuh"

namespace {

__device__ __forceinline__ float cu_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double cu_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float cu_fmod(float x, float y) { return fmodf(x, y); }
__device__ __forceinline__ double cu_fmod(double x, double y) { return fmod(x, y); }
__device__ __forceinline__ float cu_atan2(float x, float y) { return atan2f(x, y); }
__device__ __forceinline__ double cu_atan2(double x, double y) { return atan2(x, y); }

/* ---- float ops ---- */
template <typename T> struct f_add { __device__ T operator()(T x, T y) const { return x + y; } };
template <typename T> struct f_sub { __device__ T operator()(T x, T y) const { return x - y; } };
template <typename T> struct f_mul { __device__ T operator()(T x, T y) const { return x * y; } };
template <typename T> struct f_div { __device__ T operator()(T x, T y) const { return x / y; } };
template <typename T> struct f_pow { __device__ T operator()(T x, T y) const { return cu_pow(x, y); } };
template <typename T> struct f_max {
  __device__ T operator()(T x, T y) const { return x != x ? x : y != y ? y : x > y ? x : y; }
};
template <typename T> struct f_min {
  __device__ T operator()(T x, T y) const { return x != x ? x : y != y ? y : x < y ? x : y; }
};
template <typename T> struct f_fmod { __device__ T operator()(T x, T y) const { return cu_fmod(x, y); } };
template <typename T> struct f_rem {
  __device__ T operator()(T x, T y) const {
    T r = cu_fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
  }
};
template <typename T> struct f_atan2 { __device__ T operator()(T x, T y) const { return cu_atan2(x, y); } };

/* ---- integer ops: unsigned arithmetic wraps without undefined behaviour ---- */
template <typename T, typename UT> struct i_add {
  __device__ T operator()(T x, T y) const { return (T)((UT)x + (UT)y); }
};
template <typename T, typename UT> struct i_sub {
  __device__ T operator()(T x, T y) const { return (T)((UT)x - (UT)y); }
};
template <typename T, typename UT> struct i_mul {
  __device__ T operator()(T x, T y) const { return (T)((UT)x * (UT)y); }
};
template <typename T> struct i_max { __device__ T operator()(T x, T y) const { return x > y ? x : y; } };
template <typename T> struct i_min { __device__ T operator()(T x, T y) const { return x < y ? x : y; } };

__device__ __forceinline__ int64_t cu_ipow(int *err, int64_t x, int64_t y) {
  if (y < 0) {
    if (x == 1) return 1;
    if (x == -1) return (y & 1) ? -1 : 1;
    *err = 2;
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
__device__ __forceinline__ int64_t cu_ifmod(int *err, int64_t x, int64_t y) {
  if (y == 0) {
    *err = 1;
    return 0;
  }
  if (y == -1) return 0;
  return x % y;
}
template <typename T> struct i_pow {
  int *err;
  __device__ T operator()(T x, T y) const { return (T)cu_ipow(err, (int64_t)x, (int64_t)y); }
};
template <typename T> struct i_fmod {
  int *err;
  __device__ T operator()(T x, T y) const { return (T)cu_ifmod(err, (int64_t)x, (int64_t)y); }
};
template <typename T> struct i_rem {
  int *err;
  __device__ T operator()(T x, T y) const {
    int64_t r = cu_ifmod(err, (int64_t)x, (int64_t)y);
    if (r != 0 && ((r < 0) != ((int64_t)y < 0))) r += (int64_t)y;
    return (T)r;
  }
};

/* ---- comparisons (bool out) and logic on bools ---- */
template <typename T> struct c_eq { __device__ uint8_t operator()(T x, T y) const { return x == y; } };
template <typename T> struct c_ne { __device__ uint8_t operator()(T x, T y) const { return x != y; } };
template <typename T> struct c_lt { __device__ uint8_t operator()(T x, T y) const { return x < y; } };
template <typename T> struct c_le { __device__ uint8_t operator()(T x, T y) const { return x <= y; } };
template <typename T> struct c_gt { __device__ uint8_t operator()(T x, T y) const { return x > y; } };
template <typename T> struct c_ge { __device__ uint8_t operator()(T x, T y) const { return x >= y; } };
struct b_or { __device__ uint8_t operator()(uint8_t x, uint8_t y) const { return x | y; } };
struct b_and { __device__ uint8_t operator()(uint8_t x, uint8_t y) const { return x & y; } };
struct b_land { __device__ uint8_t operator()(uint8_t x, uint8_t y) const { return x && y; } };
struct b_lor { __device__ uint8_t operator()(uint8_t x, uint8_t y) const { return x || y; } };
struct b_lxor { __device__ uint8_t operator()(uint8_t x, uint8_t y) const { return (x != 0) != (y != 0); } };

dnn_status unsupported(dnn_op op, dnn_dtype dt) {
  return dnn_error(DNN_ERR_DTYPE, "%s: not supported for dtype %s", dnn_op_name(op), dnn_dtype_name(dt));
}

template <typename T>
dnn_status compare(const char *name, dnn_op op, cuda_ctx *c, const cu_iter &it) {
  switch (op) {
    case DNN_OP_EQ: return cu_run_map2<uint8_t, T>(name, c, it, c_eq<T>());
    case DNN_OP_NE: return cu_run_map2<uint8_t, T>(name, c, it, c_ne<T>());
    case DNN_OP_LT: return cu_run_map2<uint8_t, T>(name, c, it, c_lt<T>());
    case DNN_OP_LE: return cu_run_map2<uint8_t, T>(name, c, it, c_le<T>());
    case DNN_OP_GT: return cu_run_map2<uint8_t, T>(name, c, it, c_gt<T>());
    case DNN_OP_GE: return cu_run_map2<uint8_t, T>(name, c, it, c_ge<T>());
    default: return unsupported(op, DNN_BOOL);
  }
}

template <typename T>
dnn_status float_op(const char *name, dnn_op op, dnn_dtype dt, cuda_ctx *c, const cu_iter &it) {
  switch (op) {
    case DNN_OP_ADD: return cu_run_map2<T, T>(name, c, it, f_add<T>());
    case DNN_OP_SUB: return cu_run_map2<T, T>(name, c, it, f_sub<T>());
    case DNN_OP_MUL: return cu_run_map2<T, T>(name, c, it, f_mul<T>());
    case DNN_OP_DIV: return cu_run_map2<T, T>(name, c, it, f_div<T>());
    case DNN_OP_POW: return cu_run_map2<T, T>(name, c, it, f_pow<T>());
    case DNN_OP_MAXIMUM: return cu_run_map2<T, T>(name, c, it, f_max<T>());
    case DNN_OP_MINIMUM: return cu_run_map2<T, T>(name, c, it, f_min<T>());
    case DNN_OP_FMOD: return cu_run_map2<T, T>(name, c, it, f_fmod<T>());
    case DNN_OP_REMAINDER: return cu_run_map2<T, T>(name, c, it, f_rem<T>());
    case DNN_OP_ATAN2: return cu_run_map2<T, T>(name, c, it, f_atan2<T>());
    case DNN_OP_EQ: case DNN_OP_NE: case DNN_OP_LT: case DNN_OP_LE: case DNN_OP_GT: case DNN_OP_GE:
      return compare<T>(name, op, c, it);
    default: return unsupported(op, dt);
  }
}

/* float16/bfloat16: the float32 functors on widened operands, one rounding */
template <typename H>
dnn_status half_op(const char *name, dnn_op op, dnn_dtype dt, cuda_ctx *c, const cu_iter &it) {
#define HCASE(OPNAME, F) \
  case DNN_OP_##OPNAME: return cu_run_map2<H, H>(name, c, it, cu_half_map2<H, F<float>>{F<float>()});
#define HTEST(OPNAME, F) \
  case DNN_OP_##OPNAME: return cu_run_map2<uint8_t, H>(name, c, it, cu_half_test2<H, F<float>>{F<float>()});
  switch (op) {
    HCASE(ADD, f_add) HCASE(SUB, f_sub) HCASE(MUL, f_mul) HCASE(DIV, f_div) HCASE(POW, f_pow)
    HCASE(MAXIMUM, f_max) HCASE(MINIMUM, f_min) HCASE(FMOD, f_fmod) HCASE(REMAINDER, f_rem) HCASE(ATAN2, f_atan2)
    HTEST(EQ, c_eq) HTEST(NE, c_ne) HTEST(LT, c_lt) HTEST(LE, c_le) HTEST(GT, c_gt) HTEST(GE, c_ge)
    default: return unsupported(op, dt);
  }
#undef HCASE
#undef HTEST
}

template <typename T, typename UT>
dnn_status int_op(const char *name, dnn_op op, dnn_dtype dt, cuda_ctx *c, const cu_iter &it, bool *check_err) {
  *check_err = false;
  switch (op) {
    case DNN_OP_ADD: return cu_run_map2<T, T>(name, c, it, i_add<T, UT>());
    case DNN_OP_SUB: return cu_run_map2<T, T>(name, c, it, i_sub<T, UT>());
    case DNN_OP_MUL: return cu_run_map2<T, T>(name, c, it, i_mul<T, UT>());
    case DNN_OP_MAXIMUM: return cu_run_map2<T, T>(name, c, it, i_max<T>());
    case DNN_OP_MINIMUM: return cu_run_map2<T, T>(name, c, it, i_min<T>());
    case DNN_OP_POW: *check_err = true; return cu_run_map2<T, T>(name, c, it, i_pow<T>{c->err_flag});
    case DNN_OP_FMOD: *check_err = true; return cu_run_map2<T, T>(name, c, it, i_fmod<T>{c->err_flag});
    case DNN_OP_REMAINDER: *check_err = true; return cu_run_map2<T, T>(name, c, it, i_rem<T>{c->err_flag});
    case DNN_OP_EQ: case DNN_OP_NE: case DNN_OP_LT: case DNN_OP_LE: case DNN_OP_GT: case DNN_OP_GE:
      return compare<T>(name, op, c, it);
    default: return unsupported(op, dt);
  }
}

dnn_status bool_op(const char *name, dnn_op op, cuda_ctx *c, const cu_iter &it) {
  switch (op) {
    case DNN_OP_MAXIMUM: return cu_run_map2<uint8_t, uint8_t>(name, c, it, b_or());
    case DNN_OP_MINIMUM: return cu_run_map2<uint8_t, uint8_t>(name, c, it, b_and());
    case DNN_OP_LOGICAL_AND: return cu_run_map2<uint8_t, uint8_t>(name, c, it, b_land());
    case DNN_OP_LOGICAL_OR: return cu_run_map2<uint8_t, uint8_t>(name, c, it, b_lor());
    case DNN_OP_LOGICAL_XOR: return cu_run_map2<uint8_t, uint8_t>(name, c, it, b_lxor());
    case DNN_OP_EQ: case DNN_OP_NE: case DNN_OP_LT: case DNN_OP_LE: case DNN_OP_GT: case DNN_OP_GE:
      return compare<uint8_t>(name, op, c, it);
    default: return unsupported(op, DNN_BOOL);
  }
}

}  // namespace

/* out, in[0], in[1] share out's shape (inputs broadcast by strides); in[0] and
 * in[1] share the compute dtype (cpu/binary.c's contract). */
dnn_status cu_binary(const dnn_op_args *a) {
  const char *name = dnn_op_name(a->op);
  dnn_dtype dt = (dnn_dtype)a->in[0]->dtype;
  if (a->in[1]->dtype != a->in[0]->dtype)
    return dnn_error(DNN_ERR_INTERNAL, "%s: operand dtypes differ (%s, %s)", name, dnn_dtype_name(dt),
                     dnn_dtype_name((dnn_dtype)a->in[1]->dtype));
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 3, ts));
  bool check_err = false;
  dnn_status st;
  switch (dt) {
    case DNN_FLOAT32: st = float_op<float>(name, a->op, dt, c, it); break;
    case DNN_FLOAT64: st = float_op<double>(name, a->op, dt, c, it); break;
    case DNN_INT32: st = int_op<int32_t, uint32_t>(name, a->op, dt, c, it, &check_err); break;
    case DNN_INT64: st = int_op<int64_t, uint64_t>(name, a->op, dt, c, it, &check_err); break;
    case DNN_UINT8: st = int_op<uint8_t, uint32_t>(name, a->op, dt, c, it, &check_err); break;
    case DNN_BOOL: st = bool_op(name, a->op, c, it); break;
    case DNN_FLOAT16: st = half_op<__half>(name, a->op, dt, c, it); break;
    case DNN_BFLOAT16: st = half_op<__nv_bfloat16>(name, a->op, dt, c, it); break;
    default: st = unsupported(a->op, dt); break;
  }
  if (st != DNN_OK || !check_err || it.numel == 0) return st;
  int flag = 0;
  DNN_RETURN_IF_ERR(cuda_read_err_flag(name, c, &flag));
  if (flag == 1) return dnn_error(DNN_ERR_ARG, "%s: integer division by zero", name);
  if (flag == 2) return dnn_error(DNN_ERR_ARG, "%s: integers to negative integer powers are not allowed", name);
  return DNN_OK;
}
