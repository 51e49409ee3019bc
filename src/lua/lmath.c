/* Elementwise math, comparisons, reductions and matrix products from Lua.
 * Each is a tensor method and a dnn.* function; + - * / % ^ // and unary
 * minus are metamethods.  Dims are 1-based; indices returned are 1-based. */
#include <math.h>
#include <string.h>

#include "lutil.h"

/* ---- binary ---- */

static dnn_tensor *binary_values(lua_State *L, dnn_op op, int ia, int ib) {
  dnn_tensor *a = dnnL_totensor(L, ia), *b = dnnL_totensor(L, ib);
  if (a && b) return dnn_ag_binary(op, a, b);
  int si = a ? ib : ia;
  dnn_tensor *t = a ? a : b;
  if (!t)
    luaL_error(L, "%s: expected a tensor operand, got %s and %s", dnn_op_name(op), luaL_typename(L, ia),
               luaL_typename(L, ib));
  double s;
  bool is_int;
  if (lua_type(L, si) == LUA_TNUMBER) {
    is_int = lua_isinteger(L, si);
    s = is_int ? (double)lua_tointeger(L, si) : lua_tonumber(L, si);
  } else if (lua_isboolean(L, si)) {
    is_int = true;
    s = lua_toboolean(L, si);
  } else {
    luaL_error(L, "%s: operand must be a tensor or a number, got %s", dnn_op_name(op), luaL_typename(L, si));
    return NULL;
  }
  return dnn_ag_binary_scalar(op, t, s, is_int, b != NULL && a == NULL);
}

static int binary(lua_State *L, dnn_op op) { return dnnL_push(L, binary_values(L, op, 1, 2)); }

/* add/sub accept {alpha=}: a + alpha * b, as in PyTorch. */
static int add_sub(lua_State *L, dnn_op op) {
  int opts = lua_gettop(L) >= 3 && lua_type(L, 3) == LUA_TTABLE ? 3 : 0;
  if (opts) {
    lua_getfield(L, opts, "alpha");
    if (!lua_isnil(L, -1)) {
      dnn_tensor *scaled = binary_values(L, DNN_OP_MUL, 2, lua_gettop(L));
      if (!scaled) return dnnL_error(L);
      dnnL_push(L, scaled);
      lua_replace(L, 2);
    }
    lua_settop(L, 2);
  }
  return binary(L, op);
}

#define BINARY_FN(name, OP) \
  static int m_##name(lua_State *L) { return binary(L, DNN_OP_##OP); }
BINARY_FN(mul, MUL)
BINARY_FN(div, DIV)
BINARY_FN(pow, POW)
BINARY_FN(maximum, MAXIMUM)
BINARY_FN(minimum, MINIMUM)
BINARY_FN(fmod, FMOD)
BINARY_FN(remainder, REMAINDER)
BINARY_FN(atan2, ATAN2)
BINARY_FN(eq, EQ)
BINARY_FN(ne, NE)
BINARY_FN(lt, LT)
BINARY_FN(le, LE)
BINARY_FN(gt, GT)
BINARY_FN(ge, GE)
BINARY_FN(logical_and, LOGICAL_AND)
BINARY_FN(logical_or, LOGICAL_OR)
BINARY_FN(logical_xor, LOGICAL_XOR)
static int m_add(lua_State *L) { return add_sub(L, DNN_OP_ADD); }
static int m_sub(lua_State *L) { return add_sub(L, DNN_OP_SUB); }

/* a // b: floor of the true quotient; integer operands give integers. */
static int m_floor_divide(lua_State *L) {
  dnn_tensor *q = binary_values(L, DNN_OP_DIV, 1, 2);
  if (!q) return dnnL_error(L);
  dnnL_push(L, q);
  dnnL_check(L, dnn_unary_(DNN_OP_FLOOR, q));
  dnn_tensor *a = dnnL_totensor(L, 1), *b = dnnL_totensor(L, 2);
  bool ints = (!a || !dnn_dtype_is_float((dnn_dtype)a->dtype)) && (!b || !dnn_dtype_is_float((dnn_dtype)b->dtype)) &&
              (a || lua_isinteger(L, 1)) && (b || lua_isinteger(L, 2));
  if (ints) {
    dnn_dtype dt = a && b ? dnn_dtype_promote((dnn_dtype)a->dtype, (dnn_dtype)b->dtype) : (dnn_dtype)(a ? a : b)->dtype;
    return dnnL_push(L, dnn_to_dtype(q, dt));
  }
  return 1;
}

/* In-place: a:add_(b) etc.; returns a. */
static int binary_inplace(lua_State *L, dnn_op op) {
  dnn_tensor *a = dnnL_checktensor(L, 1);
  dnn_tensor *b = dnnL_totensor(L, 2);
  if (lua_gettop(L) >= 3 && lua_type(L, 3) == LUA_TTABLE && (op == DNN_OP_ADD || op == DNN_OP_SUB)) {
    lua_getfield(L, 3, "alpha");
    if (!lua_isnil(L, -1)) {
      dnn_tensor *scaled = binary_values(L, DNN_OP_MUL, 2, lua_gettop(L));
      if (!scaled) return dnnL_error(L);
      dnnL_push(L, scaled);
      lua_replace(L, 2);
      b = scaled;
    }
  }
  if (b) {
    dnnL_check(L, dnn_binary_(op, a, b));
  } else if (lua_type(L, 2) == LUA_TNUMBER || lua_isboolean(L, 2)) {
    bool is_int = lua_isinteger(L, 2) || lua_isboolean(L, 2);
    double s = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : is_int ? (double)lua_tointeger(L, 2) : lua_tonumber(L, 2);
    dnnL_check(L, dnn_binary_scalar_(op, a, s, is_int));
  } else {
    return luaL_error(L, "%s_: operand must be a tensor or a number, got %s", dnn_op_name(op), luaL_typename(L, 2));
  }
  lua_settop(L, 1);
  return 1;
}
#define BINARY_INPLACE(name, OP) \
  static int m_##name##_(lua_State *L) { return binary_inplace(L, DNN_OP_##OP); }
BINARY_INPLACE(add, ADD)
BINARY_INPLACE(sub, SUB)
BINARY_INPLACE(mul, MUL)
BINARY_INPLACE(div, DIV)
BINARY_INPLACE(pow, POW)
BINARY_INPLACE(fmod, FMOD)
BINARY_INPLACE(remainder, REMAINDER)
BINARY_INPLACE(maximum, MAXIMUM)
BINARY_INPLACE(minimum, MINIMUM)

static int m_unm(lua_State *L) { return dnnL_push(L, dnn_ag_unary(DNN_OP_NEG, dnnL_checktensor(L, 1))); }

/* ---- unary ---- */

#define UNARY_INPLACE_ONLY(name, OP)                                                       \
  static int m_##name##_(lua_State *L) {                                                  \
    dnnL_check(L, dnn_unary_(DNN_OP_##OP, dnnL_checktensor(L, 1)));                        \
    lua_settop(L, 1);                                                                      \
    return 1;                                                                              \
  }
#define UNARY(name, OP)                                                                                 \
  static int m_##name(lua_State *L) { return dnnL_push(L, dnn_ag_unary(DNN_OP_##OP, dnnL_checktensor(L, 1))); } \
  static int m_##name##_(lua_State *L) {                                                             \
    dnnL_check(L, dnn_unary_(DNN_OP_##OP, dnnL_checktensor(L, 1)));                                  \
    lua_settop(L, 1);                                                                                \
    return 1;                                                                                        \
  }
UNARY(neg, NEG)
UNARY(abs, ABS)
UNARY(exp, EXP)
UNARY(log, LOG)
UNARY(log1p, LOG1P)
UNARY(expm1, EXPM1)
UNARY(sqrt, SQRT)
UNARY(rsqrt, RSQRT)
UNARY(sin, SIN)
UNARY(cos, COS)
UNARY(tan, TAN)
UNARY_INPLACE_ONLY(tanh, TANH)
UNARY_INPLACE_ONLY(sigmoid, SIGMOID)
UNARY_INPLACE_ONLY(relu, RELU)
/* relu, sigmoid and tanh go through the fused activation kernels (one-pass
 * backward), float tensors only; other dtypes take the generic unary path. */
static int fused_activation(lua_State *L, dnn_op op, dnn_activation act) {
  dnn_tensor *x = dnnL_checktensor(L, 1);
  if (dnn_dtype_is_float((dnn_dtype)x->dtype)) return dnnL_push(L, dnn_ag_activate(x, act, 0));
  return dnnL_push(L, dnn_ag_unary(op, x));
}
static int m_tanh(lua_State *L) { return fused_activation(L, DNN_OP_TANH, DNN_ACT_TANH); }
static int m_sigmoid(lua_State *L) { return fused_activation(L, DNN_OP_SIGMOID, DNN_ACT_SIGMOID); }
static int m_relu(lua_State *L) { return fused_activation(L, DNN_OP_RELU, DNN_ACT_RELU); }
UNARY(sign, SIGN)
UNARY(floor, FLOOR)
UNARY(ceil, CEIL)
UNARY(round, ROUND)
UNARY(trunc, TRUNC)
UNARY(reciprocal, RECIPROCAL)
UNARY(square, SQUARE)
UNARY(erf, ERF)
UNARY(log2, LOG2)
UNARY(log10, LOG10)
UNARY(asin, ASIN)
UNARY(acos, ACOS)
UNARY(atan, ATAN)
UNARY(sinh, SINH)
UNARY(cosh, COSH)
static int m_logical_not(lua_State *L) { return dnnL_push(L, dnn_ag_unary(DNN_OP_LOGICAL_NOT, dnnL_checktensor(L, 1))); }
static int m_isnan(lua_State *L) { return dnnL_push(L, dnn_ag_unary(DNN_OP_ISNAN, dnnL_checktensor(L, 1))); }
static int m_isinf(lua_State *L) { return dnnL_push(L, dnn_ag_unary(DNN_OP_ISINF, dnnL_checktensor(L, 1))); }

/* clamp(min, max), clamp{min=, max=}, clamp(nil, max); clip is an alias. */
static void clamp_bounds(lua_State *L, bool *has_lo, double *lo, bool *has_hi, double *hi) {
  int ilo = 2, ihi = 3;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "min");
    lua_getfield(L, 2, "max");
    ilo = lua_gettop(L) - 1;
    ihi = ilo + 1;
  }
  *has_lo = !lua_isnoneornil(L, ilo);
  *has_hi = !lua_isnoneornil(L, ihi);
  *lo = *has_lo ? luaL_checknumber(L, ilo) : 0;
  *hi = *has_hi ? luaL_checknumber(L, ihi) : 0;
  if (!*has_lo && !*has_hi) luaL_error(L, "clamp: give at least one of min and max");
}

static int m_clamp(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  bool hl, hh;
  double lo, hi;
  clamp_bounds(L, &hl, &lo, &hh, &hi);
  return dnnL_push(L, dnn_ag_clamp(t, hl, lo, hh, hi));
}

static int m_clamp_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  bool hl, hh;
  double lo, hi;
  clamp_bounds(L, &hl, &lo, &hh, &hi);
  dnn_tensor *r = dnn_clamp(t, hl, lo, hh, hi);
  if (!r) return dnnL_error(L);
  dnn_status st = dnn_copy_(t, r);
  dnn_tensor_release(r);
  dnnL_check(L, st);
  lua_settop(L, 1);
  return 1;
}

/* A tensor operand from a tensor or a Lua number (a 0-d tensor, pushed). */
static dnn_tensor *operand(lua_State *L, int idx, const dnn_tensor *like, const char *fname) {
  dnn_tensor *t = dnnL_totensor(L, idx);
  if (t) return t;
  if (lua_type(L, idx) != LUA_TNUMBER && !lua_isboolean(L, idx))
    luaL_error(L, "%s: expected a tensor or a number, got %s", fname, luaL_typename(L, idx));
  dnn_dtype dt = like ? (dnn_dtype)like->dtype : DNN_FLOAT32;
  if (lua_isboolean(L, idx)) dt = like ? dt : DNN_BOOL;
  else if (!lua_isinteger(L, idx) && !dnn_dtype_is_float(dt)) dt = DNN_FLOAT32;
  double v = lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
  t = dnn_scalar(v, dt);
  dnnL_push(L, t);
  lua_replace(L, idx);
  return t;
}

/* dnn.where(cond, a, b); t:where(cond, other) keeps t where cond holds. */
static int m_where(lua_State *L) {
  dnn_tensor *first = dnnL_checktensor(L, 1);
  if (first->dtype != DNN_BOOL && dnnL_totensor(L, 2) && dnnL_totensor(L, 2)->dtype == DNN_BOOL) {
    /* method form t:where(cond, other) */
    dnn_tensor *cond = dnnL_checktensor(L, 2), *b = operand(L, 3, first, "where");
    return dnnL_push(L, dnn_ag_where(cond, first, b));
  }
  dnn_tensor *a = dnnL_totensor(L, 2), *b = dnnL_totensor(L, 3);
  const dnn_tensor *like = a ? a : b;
  a = operand(L, 2, like, "where");
  b = operand(L, 3, like ? like : a, "where");
  return dnnL_push(L, dnn_ag_where(first, a, b));
}

/* ---- reductions ---- */

typedef struct {
  int ndims;
  int dims[DNN_MAX_DIMS];
  bool keepdim;
  int opts; /* options table index or 0 */
} reduce_args;

/* Reads dims from an integer or a list at idx into r. */
static void read_dims(lua_State *L, int idx, const char *fname, reduce_args *r) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, idx);
    if (n > DNN_MAX_DIMS) luaL_error(L, "%s: too many dims", fname);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      r->dims[r->ndims++] = dnnL_checkdim(L, -1, fname);
      lua_pop(L, 1);
    }
  } else if (!lua_isnoneornil(L, idx)) {
    r->dims[r->ndims++] = dnnL_checkdim(L, idx, fname);
  }
}

/* t:sum(), t:sum(2), t:sum(2, true), t:sum{2, keepdim=true}, t:sum({1, 2}),
 * t:sum(2, {keepdim=true}), t:sum{dim=2, keepdim=true} (axis= also works). */
static void parse_reduce(lua_State *L, const char *fname, reduce_args *r) {
  r->ndims = 0;
  r->keepdim = false;
  r->opts = 0;
  if (lua_type(L, 3) == LUA_TTABLE) r->opts = 3;
  else if (lua_type(L, 2) == LUA_TTABLE) r->opts = 2;
  if (lua_type(L, 2) == LUA_TTABLE && lua_rawlen(L, 2) == 0) {
    if (lua_getfield(L, 2, "dim") == LUA_TNIL) {
      lua_pop(L, 1);
      lua_getfield(L, 2, "axis");
    }
    read_dims(L, lua_gettop(L), fname, r);
    lua_pop(L, 1);
  } else {
    read_dims(L, 2, fname, r);
  }
  if (lua_isboolean(L, 3)) r->keepdim = lua_toboolean(L, 3);
  if (r->opts) {
    if (lua_getfield(L, r->opts, "keepdim") == LUA_TNIL) {
      lua_pop(L, 1);
      lua_getfield(L, r->opts, "keepdims");
    }
    if (!lua_isnil(L, -1)) r->keepdim = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
}

static int reduce(lua_State *L, dnn_op op, const char *fname) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  reduce_args r;
  parse_reduce(L, fname, &r);
  dnn_tensor *out = dnn_ag_reduce(op, t, r.ndims, r.dims, r.keepdim);
  if (!out) {
    dnn_error_prefix(fname);
    return dnnL_error(L);
  }
  return dnnL_push(L, out);
}

static int m_sum(lua_State *L) { return reduce(L, DNN_OP_SUM, "sum"); }
static int m_mean(lua_State *L) { return reduce(L, DNN_OP_MEAN, "mean"); }
static int m_prod(lua_State *L) { return reduce(L, DNN_OP_PROD, "prod"); }
static int m_all(lua_State *L) { return reduce(L, DNN_OP_ALL, "all"); }
static int m_any(lua_State *L) { return reduce(L, DNN_OP_ANY, "any"); }
static int m_logsumexp(lua_State *L) { return reduce(L, DNN_OP_LOGSUMEXP, "logsumexp"); }

/* Turns 0-based int64 indices into 1-based, in place. */
static void one_based(dnn_tensor *idx) {
  int64_t n = dnn_numel(idx), *p = dnn_data_ptr(idx);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
}

static int arg_reduce(lua_State *L, dnn_op op, const char *fname) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  reduce_args r;
  parse_reduce(L, fname, &r);
  if (r.ndims > 1) return luaL_error(L, "%s: takes one dim or none", fname);
  dnn_tensor *out = dnn_ag_reduce(op, t, r.ndims, r.dims, r.keepdim);
  if (!out) return dnnL_error(L);
  one_based(out);
  return dnnL_push(L, out);
}
static int m_argmax(lua_State *L) { return arg_reduce(L, DNN_OP_ARGMAX, "argmax"); }
static int m_argmin(lua_State *L) { return arg_reduce(L, DNN_OP_ARGMIN, "argmin"); }

/* t:max() -> 0-d; t:max(dim[, keepdim]) -> values, indices (1-based);
 * t:max(other) -> elementwise maximum. */
static int max_min(lua_State *L, dnn_op op, dnn_op elementwise, const char *fname) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (dnnL_totensor(L, 2) || (lua_type(L, 2) == LUA_TNUMBER && !lua_isinteger(L, 2)))
    return dnnL_push(L, binary_values(L, elementwise, 1, 2));
  reduce_args r;
  parse_reduce(L, fname, &r);
  /* no dim: the overall extreme; a list of dims: values only (like amax) */
  if (r.ndims == 0 || lua_type(L, 2) == LUA_TTABLE) return dnnL_push(L, dnn_ag_reduce(op, t, r.ndims, r.dims, r.keepdim));
  dnn_tensor *values = NULL, *indices = NULL;
  if (dnn_ag_reduce_with_indices(op, t, r.dims[0], r.keepdim, &values, &indices) != DNN_OK) return dnnL_error(L);
  dnnL_push(L, values);
  dnnL_push(L, indices); /* 0-based, and saved by the graph: return a 1-based copy */
  dnnL_push(L, dnn_binary_scalar(DNN_OP_ADD, indices, 1, true, false));
  lua_remove(L, -2);
  return 2;
}
static int m_max(lua_State *L) { return max_min(L, DNN_OP_MAX, DNN_OP_MAXIMUM, "max"); }
static int m_min(lua_State *L) { return max_min(L, DNN_OP_MIN, DNN_OP_MINIMUM, "min"); }
static int m_amax(lua_State *L) { return reduce(L, DNN_OP_MAX, "amax"); }
static int m_amin(lua_State *L) { return reduce(L, DNN_OP_MIN, "amin"); }

/* var/std: correction=1 (unbiased) by default; {unbiased=false} or {correction=0}. */
static int var_std(lua_State *L, bool take_sqrt) {
  const char *fname = take_sqrt ? "std" : "var";
  dnn_tensor *t = dnnL_checktensor(L, 1);
  reduce_args r;
  parse_reduce(L, fname, &r);
  lua_Integer correction = 1;
  if (r.opts) {
    lua_getfield(L, r.opts, "unbiased");
    if (!lua_isnil(L, -1)) correction = lua_toboolean(L, -1) ? 1 : 0;
    lua_pop(L, 1);
    correction = dnnL_optinteger_field(L, r.opts, "correction", correction);
  }
  dnn_tensor *v = dnn_ag_var(t, r.ndims, r.dims, correction, r.keepdim);
  if (!v) {
    dnn_error_prefix(fname);
    return dnnL_error(L);
  }
  if (take_sqrt) {
    dnnL_push(L, v);
    return dnnL_push(L, dnn_ag_unary(DNN_OP_SQRT, v));
  }
  return dnnL_push(L, v);
}
static int m_var(lua_State *L) { return var_std(L, false); }
static int m_std(lua_State *L) { return var_std(L, true); }

static int cumulative(lua_State *L, dnn_op op, const char *fname) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int d;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "dim");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_rawgeti(L, 2, 1);
    }
    d = dnnL_checkdim(L, -1, fname);
  } else {
    if (lua_isnoneornil(L, 2)) return luaL_error(L, "%s: give the dim to accumulate along, e.g. t:%s(1)", fname, fname);
    d = dnnL_checkdim(L, 2, fname);
  }
  return dnnL_push(L, dnn_ag_cumulative(op, t, d));
}
static int m_cumsum(lua_State *L) { return cumulative(L, DNN_OP_CUMSUM, "cumsum"); }
static int m_cumprod(lua_State *L) { return cumulative(L, DNN_OP_CUMPROD, "cumprod"); }

/* ---- matrix products ---- */

static int m_matmul(lua_State *L) { return dnnL_push(L, dnn_ag_matmul(dnnL_checktensor(L, 1), dnnL_checktensor(L, 2))); }
/* mm/bmm accept only their stricter shapes; a call that does not fit goes to
 * the engine form, which raises the error naming the problem. */
static int m_mm(lua_State *L) {
  dnn_tensor *a = dnnL_checktensor(L, 1), *b = dnnL_checktensor(L, 2);
  if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0] || a->dtype != b->dtype)
    return dnnL_push(L, dnn_mm(a, b));
  return dnnL_push(L, dnn_ag_matmul(a, b));
}
static int m_bmm(lua_State *L) {
  dnn_tensor *a = dnnL_checktensor(L, 1), *b = dnnL_checktensor(L, 2);
  if (a->ndim != 3 || b->ndim != 3 || a->shape[0] != b->shape[0] || a->shape[2] != b->shape[1] ||
      a->dtype != b->dtype)
    return dnnL_push(L, dnn_bmm(a, b));
  return dnnL_push(L, dnn_ag_matmul(a, b));
}

static int m_dot(lua_State *L) {
  dnn_tensor *a = dnnL_checktensor(L, 1), *b = dnnL_checktensor(L, 2);
  if (a->ndim != 1 || b->ndim != 1) {
    char b0[200], b1[200];
    return luaL_error(L, "dot: needs two 1-d tensors, got %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
  }
  return dnnL_push(L, dnn_ag_matmul(a, b));
}

static int m_mv(lua_State *L) {
  dnn_tensor *a = dnnL_checktensor(L, 1), *b = dnnL_checktensor(L, 2);
  if (a->ndim != 2 || b->ndim != 1) {
    char b0[200], b1[200];
    return luaL_error(L, "mv: needs a matrix and a vector, got %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
  }
  return dnnL_push(L, dnn_ag_matmul(a, b));
}

static int m_outer(lua_State *L) {
  dnn_tensor *a = dnnL_checktensor(L, 1), *b = dnnL_checktensor(L, 2);
  if (a->ndim != 1 || b->ndim != 1) {
    char b0[200], b1[200];
    return luaL_error(L, "outer: needs two 1-d tensors, got %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
  }
  dnn_tensor *col = dnn_ag_unsqueeze(a, 1);
  if (!col) return dnnL_error(L);
  dnnL_push(L, col);
  return dnnL_push(L, dnn_ag_binary(DNN_OP_MUL, col, b));
}

/* addmm(c, a, b, {beta=1, alpha=1}) = beta * c + alpha * (a @ b) */
static int m_addmm(lua_State *L) {
  dnn_tensor *c = dnnL_checktensor(L, 1), *a = dnnL_checktensor(L, 2), *b = dnnL_checktensor(L, 3);
  int opts = lua_type(L, 4) == LUA_TTABLE ? 4 : 0;
  double beta = dnnL_optnumber_field(L, opts, "beta", 1), alpha = dnnL_optnumber_field(L, opts, "alpha", 1);
  return dnnL_push(L, dnn_ag_addmm(c, a, b, beta, alpha));
}

void dnnL_open_math(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div}, {"pow", m_pow},
      {"maximum", m_maximum}, {"minimum", m_minimum}, {"fmod", m_fmod}, {"remainder", m_remainder},
      {"atan2", m_atan2}, {"floor_divide", m_floor_divide},
      {"eq", m_eq}, {"ne", m_ne}, {"lt", m_lt}, {"le", m_le}, {"gt", m_gt}, {"ge", m_ge},
      {"logical_and", m_logical_and}, {"logical_or", m_logical_or}, {"logical_xor", m_logical_xor},
      {"logical_not", m_logical_not},
      {"add_", m_add_}, {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_}, {"pow_", m_pow_},
      {"fmod_", m_fmod_}, {"remainder_", m_remainder_}, {"maximum_", m_maximum_}, {"minimum_", m_minimum_},
#define U(name) {#name, m_##name}, {#name "_", m_##name##_},
      U(neg) U(abs) U(exp) U(log) U(log1p) U(expm1) U(sqrt) U(rsqrt) U(sin) U(cos) U(tan) U(tanh)
      U(sigmoid) U(relu) U(sign) U(floor) U(ceil) U(round) U(trunc) U(reciprocal) U(square) U(erf)
      U(log2) U(log10) U(asin) U(acos) U(atan) U(sinh) U(cosh)
#undef U
      {"negative", m_neg}, {"isnan", m_isnan}, {"isinf", m_isinf},
      {"clamp", m_clamp}, {"clip", m_clamp}, {"clamp_", m_clamp_}, {"clip_", m_clamp_},
      {"where", m_where},
      {"sum", m_sum}, {"mean", m_mean}, {"prod", m_prod}, {"all", m_all}, {"any", m_any},
      {"logsumexp", m_logsumexp}, {"argmax", m_argmax}, {"argmin", m_argmin},
      {"max", m_max}, {"min", m_min}, {"amax", m_amax}, {"amin", m_amin}, {"var", m_var}, {"std", m_std},
      {"cumsum", m_cumsum}, {"cumprod", m_cumprod},
      {"matmul", m_matmul}, {"mm", m_mm}, {"bmm", m_bmm}, {"dot", m_dot}, {"mv", m_mv},
      {"outer", m_outer}, {"addmm", m_addmm},
      {NULL, NULL},
  };
  dnnL_add_methods(L, methods);

  luaL_getmetatable(L, DNN_TENSOR_MT);
  static const luaL_Reg meta[] = {
      {"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul}, {"__div", m_div},
      {"__pow", m_pow}, {"__unm", m_unm}, {"__mod", m_remainder}, {"__idiv", m_floor_divide},
      {NULL, NULL},
  };
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
}
