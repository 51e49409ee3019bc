/* Joining and splitting from Lua: cat/concat, stack, split, chunk.
 *   dnn.cat({a, b}), dnn.cat({a, b}, 2), dnn.cat({a, b}, {dim=2}),
 *   dnn.cat{a, b, dim=2}, a:cat(b[, dim]) -- the same for stack.
 * split and chunk return Lua tables of views that share storage. */
#include "lops_index.h"

/* Collects the tensors of the list at idx into a GC-owned array (pushed). */
static dnn_tensor **list_tensors(lua_State *L, int idx, int *n, const char *fname) {
  int len = (int)lua_rawlen(L, idx);
  dnn_tensor **ts = lua_newuserdatauv(L, sizeof(dnn_tensor *) * (size_t)(len > 0 ? len : 1), 0);
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    ts[i - 1] = dnnL_totensor(L, -1);
    if (!ts[i - 1])
      luaL_error(L, "%s: element %d of the list is a %s, expected a tensor", fname, i, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  *n = len;
  return ts;
}

/* Reads the dim field (or axis) of the table at idx, 0 when absent. */
static int table_dim(lua_State *L, int idx) {
  lua_getfield(L, idx, "dim");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, idx, "axis");
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  return lua_gettop(L);
}

static int join(lua_State *L, bool stack) {
  const char *fname = stack ? "stack" : "cat";
  int top = lua_gettop(L), n = 0, dim_idx = 0;
  dnn_tensor **ts;
  if (dnnL_totensor(L, 1)) { /* a:cat(b, c[, dim][, {dim=}]) */
    int k = 1;
    while (k <= top && dnnL_totensor(L, k)) k++;
    n = k - 1;
    ts = lua_newuserdatauv(L, sizeof(dnn_tensor *) * (size_t)n, 0);
    for (int i = 0; i < n; i++) ts[i] = dnnL_totensor(L, i + 1);
    if (k <= top && lua_type(L, k) == LUA_TTABLE) dim_idx = table_dim(L, k);
    else if (k <= top) dim_idx = k;
  } else if (lua_type(L, 1) == LUA_TTABLE) {
    ts = list_tensors(L, 1, &n, fname);
    dim_idx = table_dim(L, 1);
    if (top >= 2 && !lua_isnil(L, 2)) dim_idx = lua_type(L, 2) == LUA_TTABLE ? table_dim(L, 2) : 2;
  } else {
    return luaL_error(L, "%s: expected a list of tensors, got %s", fname, luaL_typename(L, 1));
  }
  if (n == 0) return luaL_error(L, "%s: expected a non-empty list of tensors", fname);
  int d = dnnL_idx_dim(L, dim_idx, 0, fname);
  return dnnL_push(L, stack ? dnn_ag_stack(n, ts, d) : dnn_ag_cat(n, ts, d));
}
static int m_cat(lua_State *L) { return join(L, false); }
static int m_stack(lua_State *L) { return join(L, true); }

/* Pushes a table of narrow views of t along d at the given sizes. */
static int push_pieces(lua_State *L, dnn_tensor *t, int d, int64_t n, const int64_t *sizes) {
  lua_createtable(L, n > 0 && n < 1 << 20 ? (int)n : 0, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; i++) {
    dnnL_push(L, dnn_ag_slice(t, d, off, off + sizes[i], 1));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    off += sizes[i];
  }
  return 1;
}

/* Splits t into pieces of `size` along d (the last piece may be smaller);
 * `count` pieces when count >= 0 (chunk on an empty dim). */
static int push_even(lua_State *L, dnn_tensor *t, int d, int64_t size, int64_t count) {
  int64_t len = t->shape[d];
  if (count < 0) count = size > 0 ? (len + size - 1) / size : 1;
  if (len == 0 && count == 0) count = 1;
  int64_t *sizes = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(count > 0 ? count : 1), 0);
  for (int64_t i = 0, off = 0; i < count; i++) {
    int64_t s = len - off < size ? len - off : size;
    sizes[i] = s > 0 ? s : 0;
    off += sizes[i];
  }
  return push_pieces(L, t, d, count, sizes);
}

static int wrap(lua_State *L, dnn_tensor *t, int d, const char *fname) {
  if (t->ndim == 0) luaL_error(L, "%s: cannot split a 0-d tensor", fname);
  int w = dnn_wrap_dim(fname, d, t->ndim);
  if (w < 0) dnnL_error(L);
  return w;
}

/* t:split(size[, dim]), t:split({s1, s2, ...}[, dim]), t:split(size, {dim=}),
 * t:split{size, dim=}.  A plain list of integers is the sizes, not options. */
static int m_split(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int si, di;
  if (lua_gettop(L) == 2 && lua_type(L, 2) == LUA_TTABLE && table_dim(L, 2)) { /* t:split{size, dim=} */
    di = lua_gettop(L);
    lua_rawgeti(L, 2, 1);
    si = lua_gettop(L);
  } else {
    si = 2;
    di = lua_type(L, 3) == LUA_TTABLE ? table_dim(L, 3) : 3;
  }
  int d = wrap(L, t, dnnL_idx_dim(L, di, 0, "split"), "split");
  int64_t len = t->shape[d];
  if (lua_type(L, si) == LUA_TTABLE) {
    int n = (int)lua_rawlen(L, si);
    int64_t *sizes = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n > 0 ? n : 1), 0), sum = 0;
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, si, i + 1);
      sizes[i] = dnnL_idx_int(L, lua_gettop(L), 0, "split", "each size");
      lua_pop(L, 1);
      if (sizes[i] < 0) return luaL_error(L, "split: sizes must be non-negative, got %I", (lua_Integer)sizes[i]);
      sum += sizes[i];
    }
    if (sum != len)
      return luaL_error(L, "split: sizes sum to %I but dim %d has size %I", (lua_Integer)sum, d + 1, (lua_Integer)len);
    return push_pieces(L, t, d, n, sizes);
  }
  if (lua_isnoneornil(L, si)) return luaL_error(L, "split: give a piece size or a list of sizes");
  lua_Integer size = dnnL_idx_int(L, si, 0, "split", "split_size");
  if (size < 0 || (size == 0 && len > 0))
    return luaL_error(L, "split: split_size must be a positive integer, got %I", size);
  return push_even(L, t, d, size, -1);
}

/* t:chunk(n[, dim]) as PyTorch: pieces of ceil(size / n), so possibly fewer than n. */
static int m_chunk(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_call c;
  dnnL_call_parse(L, 2, &c);
  lua_Integer n = dnnL_idx_int(L, dnnL_call_get(L, &c, 0, "chunks", NULL), 0, "chunk", "the number of chunks");
  if (n <= 0) return luaL_error(L, "chunk: the number of chunks must be a positive integer, got %I", n);
  int d = wrap(L, t, dnnL_idx_dim(L, dnnL_call_get(L, &c, 1, "dim", "axis"), 0, "chunk"), "chunk");
  int64_t len = t->shape[d];
  if (len == 0) return push_even(L, t, d, 0, n);
  return push_even(L, t, d, (len + n - 1) / n, -1);
}

void dnnL_open_ops_join(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"cat", m_cat}, {"concat", m_cat}, {"concatenate", m_cat}, {"stack", m_stack},
      {"split", m_split}, {"chunk", m_chunk}, {NULL, NULL},
  };
  dnnL_add_methods(L, methods);
}
