/* Tensor creation from Lua: dnn.tensor(data), zeros/ones/full/empty and the
 * _like forms, arange/linspace/eye, random tensors and the generator state. */
#include <math.h>
#include <string.h>

#include "lutil.h"


/* ---- dnn.tensor(data, {dtype=}) ---- */

typedef struct {
  int ndim;
  int64_t shape[DNN_MAX_DIMS];
  bool has_float, has_bool, has_int;
} table_info;

/* Classifies one leaf value; returns false if it is not a scalar. */
static bool leaf_kind(lua_State *L, int idx, table_info *info) {
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) info->has_int = true;
      else info->has_float = true;
      return true;
    case LUA_TBOOLEAN:
      info->has_bool = true;
      return true;
    case LUA_TUSERDATA: {
      dnn_tensor *t = dnnL_totensor(L, idx);
      if (t && dnn_numel(t) == 1) {
        if (dnn_dtype_is_float((dnn_dtype)t->dtype)) info->has_float = true;
        else if (t->dtype == DNN_BOOL) info->has_bool = true;
        else info->has_int = true;
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

/* Shape from the first element at each level. */
static void probe_shape(lua_State *L, int idx, table_info *info) {
  lua_pushvalue(L, idx);
  while (lua_type(L, -1) == LUA_TTABLE && !dnnL_totensor(L, -1)) {
    if (info->ndim >= DNN_MAX_DIMS) luaL_error(L, "tensor: nested table is deeper than %d levels", DNN_MAX_DIMS);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    info->shape[info->ndim++] = n;
    if (n == 0) break;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

/* Walks the table checking it is rectangular, noting the kinds of values. */
static void check_table(lua_State *L, int idx, int depth, table_info *info, char *path, size_t pathlen) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  if (n != info->shape[depth])
    luaL_error(L, "tensor: ragged nested table: %s has %d elements where %d were expected", pathlen ? path : "the top level",
               (int)n, (int)info->shape[depth]);
  luaL_checkstack(L, 4, "tensor: nested table too deep");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    size_t len = pathlen + (size_t)snprintf(path + pathlen, 160 - pathlen > 0 ? 160 - pathlen : 0, "[%d]", (int)i);
    if (len > 150) len = 150;
    if (depth + 1 < info->ndim) {
      if (lua_type(L, -1) != LUA_TTABLE || dnnL_totensor(L, -1))
        luaL_error(L, "tensor: ragged nested table: %s is a %s where a table was expected", path, luaL_typename(L, -1));
      check_table(L, lua_gettop(L), depth + 1, info, path, len);
    } else if (!leaf_kind(L, -1, info)) {
      luaL_error(L, "tensor: %s is a %s; elements must be numbers, booleans or one-element tensors", path,
                 luaL_typename(L, -1));
    }
    path[pathlen] = 0;
    lua_pop(L, 1);
  }
}

static double leaf_value(lua_State *L, int idx, int64_t *iv, bool *is_int) {
  *is_int = false;
  if (lua_isinteger(L, idx)) {
    *is_int = true;
    *iv = lua_tointeger(L, idx);
    return (double)*iv;
  }
  if (lua_isboolean(L, idx)) return lua_toboolean(L, idx);
  dnn_tensor *t = dnnL_totensor(L, idx);
  if (t) {
    int64_t zero[DNN_MAX_DIMS] = {0};
    *is_int = !dnn_dtype_is_float((dnn_dtype)t->dtype);
    return dnnL_read_element(L, "tensor", t, zero, iv);
  }
  return lua_tonumber(L, idx);
}

static void store_leaf(dnn_tensor *t, int64_t k, double v, int64_t iv, bool is_int) {
  char *base = dnn_data_ptr(t);
  switch ((dnn_dtype)t->dtype) {
    case DNN_FLOAT32: ((float *)base)[k] = (float)v; break;
    case DNN_FLOAT64: ((double *)base)[k] = v; break;
    case DNN_INT32: ((int32_t *)base)[k] = (int32_t)(is_int ? iv : (int64_t)v); break;
    case DNN_INT64: ((int64_t *)base)[k] = is_int ? iv : (int64_t)v; break;
    case DNN_UINT8: ((uint8_t *)base)[k] = (uint8_t)(is_int ? iv : (int64_t)v); break;
    case DNN_FLOAT16: ((uint16_t *)base)[k] = dnn_f32_to_f16((float)(is_int ? (double)iv : v)); break;
    case DNN_BFLOAT16: ((uint16_t *)base)[k] = dnn_f32_to_bf16((float)(is_int ? (double)iv : v)); break;
    default: ((uint8_t *)base)[k] = v != 0; break;
  }
}

static void fill_from_table(lua_State *L, int idx, int depth, const table_info *info, dnn_tensor *t, int64_t *k) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (depth + 1 < info->ndim) {
      fill_from_table(L, lua_gettop(L), depth + 1, info, t, k);
    } else {
      int64_t iv = 0;
      bool is_int;
      double v = leaf_value(L, -1, &iv, &is_int);
      store_leaf(t, (*k)++, v, iv, is_int);
    }
    lua_pop(L, 1);
  }
}

static int l_tensor(lua_State *L) {
  int opts = lua_gettop(L) >= 2 && lua_type(L, 2) == LUA_TTABLE ? 2 : 0;
  dnn_tensor *src = dnnL_totensor(L, 1);
  if (src) {
    dnn_dtype dt = dnnL_optdtype_field(L, opts, (dnn_dtype)src->dtype);
    dnn_tensor *c = dnn_to_dtype(src, dt);
    if (c == src) {
      dnn_tensor_release(c);
      c = dnn_clone(src);
    }
    return dnnL_push(L, c);
  }
  table_info info = {0};
  int ty = lua_type(L, 1);
  if (ty == LUA_TNUMBER || ty == LUA_TBOOLEAN) {
    leaf_kind(L, 1, &info);
  } else if (ty == LUA_TTABLE) {
    probe_shape(L, 1, &info);
    char path[200] = "";
    check_table(L, 1, 0, &info, path, 0);
  } else {
    return luaL_error(L, "tensor: expected a number, boolean, nested table or tensor, got %s", luaL_typename(L, 1));
  }
  dnn_dtype def = info.has_float ? DNN_FLOAT32 : info.has_int ? DNN_INT64 : info.has_bool ? DNN_BOOL : DNN_FLOAT32;
  dnn_dtype dt = dnnL_optdtype_field(L, opts, def);
  dnn_tensor *t = dnn_empty(info.ndim, info.shape, dt, DNN_CPU);
  if (!t) return dnnL_error(L);
  dnnL_push(L, t);
  if (ty == LUA_TTABLE) {
    int64_t k = 0;
    fill_from_table(L, 1, 0, &info, t, &k);
  } else {
    int64_t iv = 0;
    bool is_int;
    double v = leaf_value(L, 1, &iv, &is_int);
    store_leaf(t, 0, v, iv, is_int);
  }
  return 1;
}

/* ---- shaped creation: f(2, 3), f{2, 3}, f({2, 3}, {dtype=}), f{2, 3, dtype=} ---- */

static int shaped_args(lua_State *L, const char *fname, int64_t *shape, int *ndim, int *next) {
  *ndim = dnnL_checkshape(L, 1, shape, next, fname);
  int top = lua_gettop(L);
  if (*next <= top && !(*next == top && lua_type(L, top) == LUA_TTABLE))
    luaL_error(L, "%s: expected sizes (integers or a table) then an options table, got %s", fname,
               luaL_typename(L, *next));
  return dnnL_optstable(L, 1);
}

static int make_filled(lua_State *L, const char *fname, int kind) {
  int64_t shape[DNN_MAX_DIMS];
  int nd, next;
  int opts = shaped_args(L, fname, shape, &nd, &next);
  dnn_dtype dt = dnnL_optdtype_field(L, opts, DNN_FLOAT32);
  dnn_tensor *t;
  if (kind == 0) t = dnn_zeros(nd, shape, dt, DNN_CPU);
  else if (kind == 1) t = dnn_full(nd, shape, 1, dt, DNN_CPU);
  else t = dnn_empty(nd, shape, dt, DNN_CPU);
  if (!t) {
    dnn_error_prefix(fname);
    return dnnL_error(L);
  }
  return dnnL_push(L, t);
}

static int l_zeros(lua_State *L) { return make_filled(L, "zeros", 0); }
static int l_ones(lua_State *L) { return make_filled(L, "ones", 1); }
static int l_empty(lua_State *L) { return make_filled(L, "empty", 2); }

/* Fills t with the Lua value at idx (integer exact, float, boolean). */
static void fill_value(lua_State *L, dnn_tensor *t, int idx, const char *fname) {
  dnn_status st;
  if (lua_isinteger(L, idx)) st = dnn_fill_int_(t, lua_tointeger(L, idx));
  else if (lua_isboolean(L, idx)) st = dnn_fill_(t, lua_toboolean(L, idx));
  else if (lua_type(L, idx) == LUA_TNUMBER) st = dnn_fill_(t, lua_tonumber(L, idx));
  else {
    luaL_error(L, "%s: fill value must be a number or boolean, got %s", fname, luaL_typename(L, idx));
    return;
  }
  dnnL_check(L, st);
}

/* full(shape, value, {dtype=}) or full{{2, 3}, value, dtype=} */
static int l_full(lua_State *L) {
  int64_t shape[DNN_MAX_DIMS];
  int nd, next, opts, vidx;
  bool braced = lua_type(L, 1) == LUA_TTABLE && lua_rawgeti(L, 1, 1) == LUA_TTABLE;
  if (lua_type(L, 1) == LUA_TTABLE && !braced) lua_pop(L, 1); /* drop the probe */
  if (braced) {
    nd = dnnL_checkshape(L, lua_gettop(L), shape, &next, "full");
    lua_rawgeti(L, 1, 2);
    vidx = lua_gettop(L);
    opts = 1;
  } else {
    lua_settop(L, lua_gettop(L) > 0 ? lua_gettop(L) : 1);
    if (lua_type(L, 1) != LUA_TTABLE)
      return luaL_error(L, "full: the shape must be a table, as in dnn.full({2, 3}, 7)");
    nd = dnnL_checkshape(L, 1, shape, &next, "full");
    vidx = 2;
    opts = lua_gettop(L) >= 3 && lua_type(L, 3) == LUA_TTABLE ? 3 : 0;
  }
  if (lua_isnoneornil(L, vidx)) return luaL_error(L, "full: missing the fill value");
  dnn_dtype def = lua_isboolean(L, vidx) ? DNN_BOOL : lua_isinteger(L, vidx) ? DNN_INT64 : DNN_FLOAT32;
  dnn_dtype dt = dnnL_optdtype_field(L, opts, def);
  dnn_tensor *t = dnn_empty(nd, shape, dt, DNN_CPU);
  if (!t) return dnnL_error(L);
  dnnL_push(L, t);
  fill_value(L, t, vidx, "full");
  return 1;
}

/* zeros_like(t, {dtype=}), ones_like, empty_like, full_like(t, v), rand_like, randn_like */
static int like(lua_State *L, int kind) {
  dnn_tensor *src = dnnL_checktensor(L, 1);
  int opts = dnnL_optstable(L, 2);
  dnn_dtype dt = dnnL_optdtype_field(L, opts, (dnn_dtype)src->dtype);
  dnn_tensor *t = dnn_empty(src->ndim, src->shape, dt, dnn_tensor_device(src));
  if (!t) return dnnL_error(L);
  dnnL_push(L, t);
  switch (kind) {
    case 0: dnnL_check(L, dnn_fill_(t, 0)); break;
    case 1: dnnL_check(L, dnn_fill_(t, 1)); break;
    case 3: fill_value(L, t, 2, "full_like"); break;
    case 4: dnnL_check(L, dnn_uniform_(t, 0, 1)); break;
    case 5: dnnL_check(L, dnn_normal_(t, 0, 1)); break;
    default: break;
  }
  return 1;
}
static int l_zeros_like(lua_State *L) { return like(L, 0); }
static int l_ones_like(lua_State *L) { return like(L, 1); }
static int l_empty_like(lua_State *L) { return like(L, 2); }
static int l_full_like(lua_State *L) { return like(L, 3); }
static int l_rand_like(lua_State *L) { return like(L, 4); }
static int l_randn_like(lua_State *L) { return like(L, 5); }

/* Positional numbers of a call f(a, b, ..., {opts}) or f{a, b, ..., opts}:
 * pushes nothing, returns the first stack index and count, and the options. */
static int numeric_args(lua_State *L, int *first, int *count) {
  if (lua_type(L, 1) == LUA_TTABLE && !dnnL_totensor(L, 1)) {
    int n = (int)lua_rawlen(L, 1), top = lua_gettop(L);
    luaL_checkstack(L, n, "too many arguments");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, 1, i);
    *first = top + 1;
    *count = n;
    return 1;
  }
  int top = lua_gettop(L);
  int opts = (top >= 1 && lua_type(L, top) == LUA_TTABLE) ? top : 0;
  *first = 1;
  *count = opts ? top - 1 : top;
  return opts;
}

/* arange(end) / arange(start, end[, step]) / arange{start, end, step, dtype=} */
static int l_arange(lua_State *L) {
  int base, nargs;
  int opts = numeric_args(L, &base, &nargs);
  if (nargs < 1 || nargs > 3) return luaL_error(L, "arange: expected (end), (start, end) or (start, end, step)");
  bool all_int = true;
  double v[3] = {0, 0, 1};
  for (int i = 0; i < nargs; i++) {
    if (lua_type(L, base + i) != LUA_TNUMBER)
      return luaL_error(L, "arange: argument %d must be a number, got %s", i + 1, luaL_typename(L, base + i));
    if (!lua_isinteger(L, base + i)) all_int = false;
  }
  if (nargs == 1) {
    v[1] = lua_tonumber(L, base);
  } else {
    v[0] = lua_tonumber(L, base);
    v[1] = lua_tonumber(L, base + 1);
    if (nargs == 3) v[2] = lua_tonumber(L, base + 2);
  }
  dnn_dtype dt = dnnL_optdtype_field(L, opts, all_int ? DNN_INT64 : DNN_FLOAT32);
  return dnnL_push(L, dnn_arange(v[0], v[1], v[2], dt));
}

static int l_linspace(lua_State *L) {
  int base, nargs;
  int opts = numeric_args(L, &base, &nargs);
  if (nargs != 3) return luaL_error(L, "linspace: expected (start, end, steps)");
  double a = luaL_checknumber(L, base), b = luaL_checknumber(L, base + 1);
  if (!lua_isinteger(L, base + 2)) return luaL_error(L, "linspace: steps must be an integer");
  return dnnL_push(L, dnn_linspace(a, b, lua_tointeger(L, base + 2), dnnL_optdtype_field(L, opts, DNN_FLOAT32)));
}

static int l_eye(lua_State *L) {
  int base, nargs;
  int opts = numeric_args(L, &base, &nargs);
  if (nargs < 1 || nargs > 2 || !lua_isinteger(L, base) || (nargs == 2 && !lua_isinteger(L, base + 1)))
    return luaL_error(L, "eye: expected (n) or (n, m) with integer sizes");
  lua_Integer n = lua_tointeger(L, base), m = nargs == 2 ? lua_tointeger(L, base + 1) : n;
  if (n < 0 || m < 0) return luaL_error(L, "eye: sizes must be >= 0, got %d and %d", (int)n, (int)m);
  return dnnL_push(L, dnn_eye(n, m, dnnL_optdtype_field(L, opts, DNN_FLOAT32)));
}

/* ---- random ---- */

static int random_shaped(lua_State *L, const char *fname, int kind) {
  int64_t shape[DNN_MAX_DIMS];
  int nd, next;
  int opts = shaped_args(L, fname, shape, &nd, &next);
  dnn_dtype dt = dnnL_optdtype_field(L, opts, DNN_FLOAT32);
  dnn_tensor *t = dnn_empty(nd, shape, dt, DNN_CPU);
  if (!t) return dnnL_error(L);
  dnnL_push(L, t);
  if (kind == 0) dnnL_check(L, dnn_uniform_(t, 0, 1));
  else dnnL_check(L, dnn_normal_(t, 0, 1));
  return 1;
}
static int l_rand(lua_State *L) { return random_shaped(L, "rand", 0); }
static int l_randn(lua_State *L) { return random_shaped(L, "randn", 1); }

/* randint(high, shape) / randint(low, high, shape) [, {dtype=}]: values in [low, high) */
static int l_randint(lua_State *L) {
  int base = 1, opts = 0;
  if (lua_type(L, 1) == LUA_TTABLE) { /* randint{low, high, shape, dtype=} */
    int n = (int)lua_rawlen(L, 1);
    for (int i = 1; i <= n; i++) lua_rawgeti(L, 1, i);
    opts = 1;
    base = 2;
  }
  int top = lua_gettop(L);
  if (!opts && top >= 1 && lua_type(L, top) == LUA_TTABLE && top >= 3) opts = top;
  lua_Integer low = 0, high;
  int shape_idx;
  if (lua_isinteger(L, base) && lua_isinteger(L, base + 1)) {
    low = lua_tointeger(L, base);
    high = lua_tointeger(L, base + 1);
    shape_idx = base + 2;
  } else if (lua_isinteger(L, base)) {
    high = lua_tointeger(L, base);
    shape_idx = base + 1;
  } else {
    return luaL_error(L, "randint: expected (high, shape) or (low, high, shape) with integer bounds");
  }
  if (lua_type(L, shape_idx) != LUA_TTABLE) return luaL_error(L, "randint: the shape must be a table, e.g. {3, 4}");
  int64_t shape[DNN_MAX_DIMS];
  int next;
  int nd = dnnL_checkshape(L, shape_idx, shape, &next, "randint");
  dnn_dtype dt = dnnL_optdtype_field(L, opts, DNN_INT64);
  dnn_tensor *t = dnn_empty(nd, shape, dt, DNN_CPU);
  if (!t) return dnnL_error(L);
  dnnL_push(L, t);
  dnnL_check(L, dnn_randint_(t, low, high));
  return 1;
}

/* randperm(n): a random permutation of the positions 1..n (int64). */
static int l_randperm(lua_State *L) {
  int base, nargs;
  numeric_args(L, &base, &nargs);
  if (nargs != 1 || !lua_isinteger(L, base)) return luaL_error(L, "randperm: expected an integer n");
  lua_Integer n = lua_tointeger(L, base);
  dnn_tensor *t = dnn_randperm(n);
  if (!t) return dnnL_error(L);
  int64_t *p = dnn_data_ptr(t);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
  return dnnL_push(L, t);
}

/* bernoulli(probs): 1 with probability probs[i] (same dtype as probs). */
static int l_bernoulli(lua_State *L) {
  dnn_tensor *p = dnnL_totensor(L, 1);
  if (!p) {
    double prob = luaL_checknumber(L, 1);
    int64_t shape[DNN_MAX_DIMS];
    int next;
    int nd = dnnL_checkshape(L, 2, shape, &next, "bernoulli");
    int opts = dnnL_optstable(L, 2);
    dnn_tensor *t = dnn_empty(nd, shape, dnnL_optdtype_field(L, opts, DNN_FLOAT32), DNN_CPU);
    if (!t) return dnnL_error(L);
    dnnL_push(L, t);
    dnnL_check(L, dnn_bernoulli_(t, prob));
    return 1;
  }
  dnn_tensor *u = dnn_empty(p->ndim, p->shape, DNN_FLOAT64, dnn_tensor_device(p));
  if (!u) return dnnL_error(L);
  dnnL_push(L, u);
  dnnL_check(L, dnn_uniform_(u, 0, 1));
  dnn_tensor *mask = dnn_binary(DNN_OP_LT, u, p);
  if (!mask) return dnnL_error(L);
  dnnL_push(L, mask);
  return dnnL_push(L, dnn_to_dtype(mask, dnn_dtype_is_float((dnn_dtype)p->dtype) ? (dnn_dtype)p->dtype : DNN_FLOAT32));
}

/* In-place random fills: t:uniform_(a, b), t:normal_(mean, std), t:bernoulli_(p), t:random_(low, high) */
static int m_uniform_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_check(L, dnn_uniform_(t, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1)));
  lua_settop(L, 1);
  return 1;
}
static int m_normal_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_check(L, dnn_normal_(t, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1)));
  lua_settop(L, 1);
  return 1;
}
static int m_bernoulli_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_check(L, dnn_bernoulli_(t, luaL_optnumber(L, 2, 0.5)));
  lua_settop(L, 1);
  return 1;
}
static int m_random_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  lua_Integer a = luaL_checkinteger(L, 2);
  lua_Integer lo = 0, hi = a;
  if (!lua_isnoneornil(L, 3)) {
    lo = a;
    hi = luaL_checkinteger(L, 3);
  }
  dnnL_check(L, dnn_randint_(t, lo, hi));
  lua_settop(L, 1);
  return 1;
}

static int l_manual_seed(lua_State *L) {
  if (!lua_isinteger(L, 1)) return luaL_error(L, "manual_seed: seed must be an integer, got %s", luaL_typename(L, 1));
  dnn_manual_seed((uint64_t)lua_tointeger(L, 1));
  return 0;
}

/* The state is a uint8 tensor of 16 bytes (seed, counter; little endian), as
 * torch.get_rng_state returns a ByteTensor; it saves with dnn.save. */
static int l_get_rng_state(lua_State *L) {
  dnn_rng_state s = dnn_get_rng_state();
  int64_t n = 16;
  dnn_tensor *t = dnn_empty(1, &n, DNN_UINT8, DNN_CPU);
  if (!t) return dnnL_error(L);
  uint8_t *p = dnn_data_ptr(t);
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)(s.seed >> (8 * i));
    p[8 + i] = (uint8_t)(s.offset >> (8 * i));
  }
  return dnnL_push(L, t);
}

static int l_set_rng_state(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (t->dtype != DNN_UINT8 || t->ndim != 1 || t->shape[0] != 16)
    return luaL_error(L, "set_rng_state: expected the uint8 tensor of 16 bytes that get_rng_state returns");
  dnn_tensor *c = dnn_contiguous(t);
  if (!c) return dnnL_error(L);
  const uint8_t *p = dnn_data_ptr(c);
  dnn_rng_state s = {0, 0};
  for (int i = 0; i < 8; i++) {
    s.seed |= (uint64_t)p[i] << (8 * i);
    s.offset |= (uint64_t)p[8 + i] << (8 * i);
  }
  dnn_tensor_release(c);
  dnn_set_rng_state(s);
  return 0;
}

void dnnL_open_create(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"tensor", l_tensor},         {"zeros", l_zeros},           {"ones", l_ones},
      {"empty", l_empty},           {"full", l_full},             {"zeros_like", l_zeros_like},
      {"ones_like", l_ones_like},   {"empty_like", l_empty_like}, {"full_like", l_full_like},
      {"rand_like", l_rand_like},   {"randn_like", l_randn_like}, {"arange", l_arange},
      {"linspace", l_linspace},     {"eye", l_eye},               {"rand", l_rand},
      {"randn", l_randn},           {"randint", l_randint},       {"randperm", l_randperm},
      {"bernoulli", l_bernoulli},   {"manual_seed", l_manual_seed},
      {"get_rng_state", l_get_rng_state}, {"set_rng_state", l_set_rng_state},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
  static const luaL_Reg methods[] = {
      {"uniform_", m_uniform_}, {"normal_", m_normal_}, {"bernoulli_", m_bernoulli_},
      {"random_", m_random_},   {"bernoulli", l_bernoulli},
      {NULL, NULL},
  };
  dnnL_add_methods(L, methods);
}
