/* Indexing ops from Lua: gather, scatter(_add), index_select, index_add,
 * masks, one_hot, nonzero; registration of the join and sort bindings.
 * Index tensors hold 1-based positions (as Torch7) and are converted to the
 * engine's 0-based int64 here; one_hot takes 0-based class ids (the labels
 * data files carry). */
#include <string.h>

#include "lops_index.h"

/* ---- shared helpers (declared in lops_index.h) ---- */

static bool is_plain_table(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TTABLE && !dnnL_totensor(L, idx);
}

void dnnL_call_parse(lua_State *L, int first, dnnL_call *c) {
  int top = lua_gettop(L);
  c->first = first;
  c->opts = 0;
  c->n = top >= first ? top - first + 1 : 0;
  if (top < first || !is_plain_table(L, top)) return;
  if (top == first) { /* f{a, b, k=v}: unpack the array part */
    int n = (int)lua_rawlen(L, top);
    luaL_checkstack(L, n + 4, "too many arguments");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, top, i);
    lua_rotate(L, first, -1); /* the table goes after its elements */
    c->n = n;
    c->opts = first + n;
  } else {
    c->n = top - first;
    c->opts = top;
  }
}

int dnnL_call_arg(lua_State *L, const dnnL_call *c, int i) {
  if (i >= c->n || lua_isnil(L, c->first + i)) return 0;
  return c->first + i;
}

int dnnL_call_get(lua_State *L, const dnnL_call *c, int i, const char *key, const char *alias) {
  int a = dnnL_call_arg(L, c, i);
  if (a) {
    lua_pushvalue(L, a);
  } else {
    dnnL_getopt(L, c->opts, key);
    if (lua_isnil(L, -1) && alias) {
      lua_pop(L, 1);
      dnnL_getopt(L, c->opts, alias);
    }
  }
  return lua_gettop(L);
}

int dnnL_idx_dim(lua_State *L, int idx, int def, const char *fname) {
  if (!idx || lua_isnoneornil(L, idx)) return def;
  if (!lua_isinteger(L, idx))
    return luaL_error(L, "%s: dim must be an integer, got %s", fname,
                      lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
  return dnnL_dim_from_lua(L, lua_tointeger(L, idx), fname);
}

bool dnnL_idx_bool(lua_State *L, int idx, bool def, const char *fname, const char *what) {
  if (!idx || lua_isnoneornil(L, idx)) return def;
  if (!lua_isboolean(L, idx))
    return luaL_error(L, "%s: %s must be a boolean, got %s", fname, what, luaL_typename(L, idx));
  return lua_toboolean(L, idx);
}

lua_Integer dnnL_idx_int(lua_State *L, int idx, lua_Integer def, const char *fname, const char *what) {
  if (!idx || lua_isnoneornil(L, idx)) return def;
  if (!lua_isinteger(L, idx))
    return luaL_error(L, "%s: %s must be an integer, got %s", fname, what,
                      lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
  return lua_tointeger(L, idx);
}

dnn_tensor *dnnL_positions(lua_State *L, int idx, const char *fname, int dim, int64_t size, dnn_device dev) {
  dnn_tensor *p = dnnL_totensor(L, idx);
  if (!p)
    luaL_error(L, "%s: index must be a tensor of 1-based positions, got %s", fname, luaL_typename(L, idx));
  dnn_dtype dt = (dnn_dtype)p->dtype;
  if (dt != DNN_INT64 && dt != DNN_INT32 && dt != DNN_UINT8)
    luaL_error(L, "%s: index must be an integer tensor of 1-based positions (int64, int32 or uint8), got %s%s",
               fname, dnn_dtype_name(dt), dt == DNN_BOOL ? " (for a bool mask use masked_select)" : "");
  dnn_tensor *host = NULL; /* positions are checked and converted on the host */
  if (dnn_tensor_device(p).type != DNN_DEVICE_CPU) {
    host = dnnL_copy_to_device(p, DNN_CPU);
    if (!host) dnnL_error(L);
    p = host;
  }
  dnn_tensor *i64 = dnn_to_dtype(p, DNN_INT64);
  if (host) dnn_tensor_release(host);
  if (!i64) dnnL_error(L);
  dnn_tensor *c = dnn_clone(i64);
  dnn_tensor_release(i64);
  dnnL_push(L, c); /* owned by Lua from here: the errors below cannot leak it */
  int64_t n = dnn_numel(c), *v = dnn_data_ptr(c);
  for (int64_t k = 0; k < n; k++) {
    int64_t x = v[k];
    if (x == 0)
      luaL_error(L, "%s: position 0 is not valid for dim %d of size %I: positions are 1-based (1 is the first, -1 the last)",
                 fname, dim + 1, (lua_Integer)size);
    if (x > size || x < -size)
      luaL_error(L, "%s: position %I is out of range for dim %d of size %I (positions are 1-based; -1 is the last)",
                 fname, (lua_Integer)x, dim + 1, (lua_Integer)size);
    v[k] = x > 0 ? x - 1 : size + x;
  }
  if (dev.type != DNN_DEVICE_CPU) { /* the op runs where its tensor lives */
    dnn_tensor *moved = dnnL_copy_to_device(c, dev);
    if (!moved) dnnL_error(L);
    dnnL_push(L, moved);
    return moved;
  }
  return c;
}

void dnnL_one_based(dnn_tensor *t) {
  int64_t n = dnn_numel(t), *p = dnn_data_ptr(t);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
}

/* ---- gather / scatter / index_select / index_add ---- */

/* Wraps the dim at idx against t (0-based, non-negative); raises on error. */
static int wrapped_dim(lua_State *L, dnn_tensor *t, int idx, const char *fname) {
  if (lua_isnoneornil(L, idx)) luaL_error(L, "%s: give the dim, e.g. t:%s(1, index, ...)", fname, fname);
  int d = dnn_wrap_dim(fname, dnnL_idx_dim(L, idx, 0, fname), t->ndim);
  if (d < 0) dnnL_error(L);
  return d;
}

static int64_t dim_size(const dnn_tensor *t, int d) { return t->ndim ? t->shape[d] : 1; }

/* Replaces t (stack index 1) by r in place when `inplace`, else pushes r. */
static int result(lua_State *L, dnn_tensor *r, bool inplace) {
  if (!inplace) return dnnL_push(L, r);
  if (!r) return dnnL_error(L);
  dnn_status st = dnn_copy_(dnnL_checktensor(L, 1), r);
  dnn_tensor_release(r);
  dnnL_check(L, st);
  lua_pushvalue(L, 1);
  return 1;
}

/* Fixed-arity bindings set the top first: positions are pushed on the stack,
 * and a missing argument must not read them as itself. */
static int m_gather(lua_State *L) {
  lua_settop(L, 3);
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int d = wrapped_dim(L, t, 2, "gather");
  dnn_tensor *idx = dnnL_positions(L, 3, "gather", d, dim_size(t, d), dnn_tensor_device(t));
  return dnnL_push(L, dnn_ag_gather(t, d, idx));
}

/* A tensor operand at idx, or a number/boolean made into a 0-d tensor of
 * t's dtype (pushed, so Lua owns it). */
static dnn_tensor *value_operand(lua_State *L, int idx, const dnn_tensor *t, const char *fname, const char *what) {
  dnn_tensor *s = dnnL_totensor(L, idx);
  if (s) return s;
  if (lua_type(L, idx) != LUA_TNUMBER && !lua_isboolean(L, idx))
    luaL_error(L, "%s: %s must be a tensor or a number, got %s", fname, what, luaL_typename(L, idx));
  double v = lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
  s = dnn_scalar(v, (dnn_dtype)t->dtype);
  dnnL_push(L, s);
  return s;
}

static int scatter(lua_State *L, bool add, bool inplace) {
  const char *fname = add ? (inplace ? "scatter_add_" : "scatter_add") : (inplace ? "scatter_" : "scatter");
  lua_settop(L, 5);
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (!add && lua_type(L, 5) == LUA_TTABLE) { /* {reduce="add"} as PyTorch */
    lua_getfield(L, 5, "reduce");
    if (!lua_isnil(L, -1)) {
      const char *r = lua_tostring(L, -1);
      if (!r || strcmp(r, "add") != 0)
        return luaL_error(L, "%s: reduce must be \"add\", got %s", fname, r ? r : luaL_typename(L, -1));
      add = true;
    }
    lua_pop(L, 1);
  }
  int d = wrapped_dim(L, t, 2, fname);
  if (lua_isnoneornil(L, 4)) return luaL_error(L, "%s: give the values to write (a tensor or a number)", fname);
  dnn_tensor *idx = dnnL_positions(L, 3, fname, d, dim_size(t, d), dnn_tensor_device(t));
  dnn_tensor *src = value_operand(L, 4, t, fname, "src");
  return result(L, inplace ? dnn_scatter(t, d, idx, src, add) : dnn_ag_scatter(t, d, idx, src, add), inplace);
}
static int m_scatter(lua_State *L) { return scatter(L, false, false); }
static int m_scatter_(lua_State *L) { return scatter(L, false, true); }
static int m_scatter_add(lua_State *L) { return scatter(L, true, false); }
static int m_scatter_add_(lua_State *L) { return scatter(L, true, true); }

static int m_index_select(lua_State *L) {
  lua_settop(L, 3);
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (t->ndim == 0) return luaL_error(L, "index_select: the input must have at least 1 dim, got a 0-d tensor");
  int d = wrapped_dim(L, t, 2, "index_select");
  dnn_tensor *idx = dnnL_positions(L, 3, "index_select", d, t->shape[d], dnn_tensor_device(t));
  return dnnL_push(L, dnn_ag_index_select(t, d, idx));
}

static int index_add(lua_State *L, bool inplace) {
  const char *fname = inplace ? "index_add_" : "index_add";
  lua_settop(L, 4);
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (t->ndim == 0) return luaL_error(L, "%s: the input must have at least 1 dim, got a 0-d tensor", fname);
  int d = wrapped_dim(L, t, 2, fname);
  dnn_tensor *idx = dnnL_positions(L, 3, fname, d, t->shape[d], dnn_tensor_device(t));
  dnn_tensor *src = dnnL_totensor(L, 4);
  if (!src) return luaL_error(L, "%s: src must be a tensor, got %s", fname, luaL_typename(L, 4));
  return result(L, dnn_index_add(t, d, idx, src), inplace);
}
static int m_index_add(lua_State *L) { return index_add(L, false); }
static int m_index_add_(lua_State *L) { return index_add(L, true); }

/* ---- masks ---- */

static dnn_tensor *check_mask(lua_State *L, int idx, const char *fname) {
  dnn_tensor *m = dnnL_totensor(L, idx);
  if (!m) luaL_error(L, "%s: mask must be a bool tensor, got %s", fname, luaL_typename(L, idx));
  return m;
}

/* A fill value: number, boolean or one-element tensor. */
static double fill_value(lua_State *L, int idx, const char *fname) {
  dnn_tensor *v = dnnL_totensor(L, idx);
  if (v) {
    char buf[200];
    if (dnn_numel(v) != 1 || dnn_tensor_device(v).type != DNN_DEVICE_CPU)
      luaL_error(L, "%s: value must be a number or a one-element CPU tensor, got a tensor of shape %s", fname,
                 DNN_SHAPE_STR(v, buf));
    return dnn_get_flat(v, 0);
  }
  if (lua_isboolean(L, idx)) return lua_toboolean(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "%s: value must be a number or a boolean, got %s", fname, luaL_typename(L, idx));
  return lua_tonumber(L, idx);
}

static int m_masked_fill(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1), *m = check_mask(L, 2, "masked_fill");
  return dnnL_push(L, dnn_ag_masked_fill(t, m, fill_value(L, 3, "masked_fill")));
}

static int m_masked_fill_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1), *m = check_mask(L, 2, "masked_fill_");
  dnnL_check(L, dnn_masked_fill_(t, m, fill_value(L, 3, "masked_fill_")));
  lua_settop(L, 1);
  return 1;
}

static int m_masked_select(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1), *m = check_mask(L, 2, "masked_select");
  return dnnL_push(L, dnn_ag_masked_select(t, m));
}

static int masked_scatter(lua_State *L, bool inplace) {
  const char *fname = inplace ? "masked_scatter_" : "masked_scatter";
  lua_settop(L, 3);
  dnn_tensor *t = dnnL_checktensor(L, 1), *m = check_mask(L, 2, fname);
  dnn_tensor *src = dnnL_totensor(L, 3);
  if (!src) return luaL_error(L, "%s: source must be a tensor, got %s", fname, luaL_typename(L, 3));
  return result(L, dnn_masked_scatter(t, m, src), inplace);
}
static int m_masked_scatter(lua_State *L) { return masked_scatter(L, false); }
static int m_masked_scatter_(lua_State *L) { return masked_scatter(L, true); }

/* ---- one_hot, nonzero ---- */

/* one_hot(labels[, num_classes][, {dtype=}]), one_hot{labels, 10, dtype=}
 * and one_hot(labels, {num_classes=10}); labels are 0-based class ids. */
static int m_one_hot(lua_State *L) {
  dnnL_call c;
  dnnL_call_parse(L, 1, &c);
  int li = dnnL_call_arg(L, &c, 0);
  dnn_tensor *labels = li ? dnnL_totensor(L, li) : NULL;
  if (!labels)
    return luaL_error(L, "one_hot: labels must be a tensor of 0-based class ids, got %s",
                      li ? luaL_typename(L, li) : "nothing");
  int ni = dnnL_call_get(L, &c, 1, "num_classes", NULL);
  lua_Integer n = dnnL_idx_int(L, ni, -1, "one_hot", "num_classes");
  if (n < -1 || n == 0) return luaL_error(L, "one_hot: num_classes must be positive (or -1 to infer), got %I", n);
  dnn_dtype dt = dnnL_optdtype_field(L, c.opts, DNN_INT64);
  dnn_tensor *r = dnn_one_hot(labels, n);
  if (!r) return dnnL_error(L);
  dnnL_push(L, r);
  if (dt != DNN_INT64) return dnnL_push(L, dnn_to_dtype(r, dt));
  return 1;
}

static int m_nonzero(lua_State *L) {
  dnn_tensor *r = dnn_nonzero(dnnL_checktensor(L, 1));
  if (!r) return dnnL_error(L);
  dnnL_one_based(r);
  return dnnL_push(L, r);
}

void dnnL_open_ops_index(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"gather", m_gather},
      {"scatter", m_scatter},
      {"scatter_", m_scatter_},
      {"scatter_add", m_scatter_add},
      {"scatter_add_", m_scatter_add_},
      {"index_select", m_index_select},
      {"index_add", m_index_add},
      {"index_add_", m_index_add_},
      {"masked_fill", m_masked_fill},
      {"masked_fill_", m_masked_fill_},
      {"masked_select", m_masked_select},
      {"masked_scatter", m_masked_scatter},
      {"masked_scatter_", m_masked_scatter_},
      {"one_hot", m_one_hot},
      {"nonzero", m_nonzero},
      {NULL, NULL},
  };
  dnnL_add_methods(L, methods);
  dnnL_open_ops_join(L);
  dnnL_open_ops_sort(L);
}
