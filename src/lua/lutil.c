#include "lutil.h"

#include <string.h>

char dnnL_methods_key;
char dnnL_module_key;
char dnnL_tensor_mt_key;

dnn_tensor *dnnL_totensor(lua_State *L, int idx) {
  dnnL_tensor *u = lua_touserdata(L, idx);
  if (!u || lua_type(L, idx) != LUA_TUSERDATA || lua_rawlen(L, idx) != sizeof(dnnL_tensor) ||
      u->magic != DNN_TENSOR_MAGIC)
    return NULL;
  if (!u->t) luaL_error(L, "attempt to use a closed tensor");
  return u->t;
}

dnn_tensor *dnnL_checktensor(lua_State *L, int idx) {
  dnn_tensor *t = dnnL_totensor(L, idx);
  if (!t) {
    const char *msg = lua_pushfstring(L, "expected a tensor, got %s", luaL_typename(L, idx));
    luaL_argerror(L, idx, msg);
  }
  return t;
}

/* The Lua GC cannot see tensor bytes, so a loop of large temporaries would
 * grow memory long before Lua's own heap asks for a collection.  We count the
 * bytes of new tensors and run a full collection once they pass a threshold
 * that scales with what is live (like the collector's own pause), with a floor
 * so small heaps are not collected on every allocation. */
static size_t bytes_since_collect;
static size_t collect_threshold = 24u << 20;

void dnnL_account(lua_State *L, size_t nbytes) {
  bytes_since_collect += nbytes;
  if (bytes_since_collect < collect_threshold) return;
  bytes_since_collect = 0;
  lua_gc(L, LUA_GCCOLLECT);
  size_t live = (size_t)dnn_get_memory_stats().allocated_bytes;
  size_t t = live / 4;
  if (t < (24u << 20)) t = 24u << 20;
  if (t > (512u << 20)) t = 512u << 20;
  collect_threshold = t;
}

int dnnL_push(lua_State *L, dnn_tensor *t) {
  if (!t) return dnnL_error(L);
  dnnL_tensor *u = lua_newuserdatauv(L, sizeof(dnnL_tensor), 0);
  u->magic = DNN_TENSOR_MAGIC;
  u->t = t;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_tensor_mt_key); /* faster than a name lookup */
  lua_setmetatable(L, -2);
  if (t->storage->refcount == 1) dnnL_account(L, t->storage->nbytes + sizeof(dnn_tensor));
  return 1;
}

int dnnL_error(lua_State *L) {
  const char *msg = dnn_error_message();
  lua_pushstring(L, msg);
  dnn_error_clear();
  return lua_error(L);
}

void dnnL_check(lua_State *L, dnn_status st) {
  if (st != DNN_OK) dnnL_error(L);
}

int dnnL_dim_from_lua(lua_State *L, lua_Integer d, const char *fname) {
  if (d == 0)
    return luaL_error(L, "%s: dim 0 is not valid: dims are 1-based (1 is the first, -1 the last)", fname);
  if (d > DNN_MAX_DIMS || d < -DNN_MAX_DIMS - 1)
    return luaL_error(L, "%s: dim %d out of range (tensors have at most %d dims)", fname, (int)d, DNN_MAX_DIMS);
  return d > 0 ? (int)d - 1 : (int)d;
}

int dnnL_checkdim(lua_State *L, int idx, const char *fname) {
  if (!lua_isinteger(L, idx)) {
    const char *msg = lua_pushfstring(L, "%s: dim must be an integer, got %s", fname, luaL_typename(L, idx));
    luaL_argerror(L, idx, msg);
  }
  return dnnL_dim_from_lua(L, lua_tointeger(L, idx), fname);
}

int dnnL_optdim(lua_State *L, int idx, int def, const char *fname) {
  if (lua_isnoneornil(L, idx)) return def;
  return dnnL_checkdim(L, idx, fname);
}

dnn_dtype dnnL_checkdtype(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  int dt = dnn_dtype_from_name(name);
  if (dt < 0)
    luaL_error(L, "unknown dtype '%s' (known: float32, float64, int32, int64, uint8, bool, float16, bfloat16)", name);
  return (dnn_dtype)dt;
}

dnn_dtype dnnL_optdtype(lua_State *L, int idx, dnn_dtype def) {
  if (lua_isnoneornil(L, idx)) return def;
  return dnnL_checkdtype(L, idx);
}

static int64_t shape_entry(lua_State *L, int idx, const char *fname, int pos) {
  int isint = 0;
  lua_Integer v = lua_tointegerx(L, idx, &isint);
  if (!isint) {
    if (lua_type(L, idx) == LUA_TNUMBER)
      luaL_error(L, "%s: size %d must be an integer, got %s", fname, pos, lua_tostring(L, idx));
    luaL_error(L, "%s: size %d must be an integer, got %s", fname, pos, luaL_typename(L, idx));
  }
  if (v < 0) luaL_error(L, "%s: negative size %d in the shape", fname, (int)v);
  return v;
}

int dnnL_checkshape(lua_State *L, int idx, int64_t *shape, int *next, const char *fname) {
  int n = 0;
  if (lua_type(L, idx) == LUA_TTABLE && !dnnL_totensor(L, idx)) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
    if (len > DNN_MAX_DIMS)
      luaL_error(L, "%s: %d dims requested, at most %d are supported", fname, (int)len, DNN_MAX_DIMS);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      shape[n++] = shape_entry(L, -1, fname, (int)i);
      lua_pop(L, 1);
    }
    *next = idx + 1;
    return n;
  }
  int top = lua_gettop(L);
  while (idx <= top && lua_type(L, idx) == LUA_TNUMBER) {
    if (n >= DNN_MAX_DIMS) luaL_error(L, "%s: at most %d dims are supported", fname, DNN_MAX_DIMS);
    shape[n] = shape_entry(L, idx, fname, n + 1);
    n++;
    idx++;
  }
  *next = idx;
  return n;
}

int dnnL_optstable(lua_State *L, int first) {
  int top = lua_gettop(L);
  if (top >= first && lua_type(L, top) == LUA_TTABLE && !dnnL_totensor(L, top)) return top;
  return 0;
}

int dnnL_getopt(lua_State *L, int opts, const char *k) {
  if (!opts) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, opts, k);
}

lua_Number dnnL_optnumber_field(lua_State *L, int opts, const char *k, lua_Number def) {
  dnnL_getopt(L, opts, k);
  lua_Number v = def;
  if (!lua_isnil(L, -1)) {
    if (!lua_isnumber(L, -1)) luaL_error(L, "option '%s' must be a number, got %s", k, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

lua_Integer dnnL_optinteger_field(lua_State *L, int opts, const char *k, lua_Integer def) {
  dnnL_getopt(L, opts, k);
  lua_Integer v = def;
  if (!lua_isnil(L, -1)) {
    if (!lua_isinteger(L, -1)) luaL_error(L, "option '%s' must be an integer, got %s", k, luaL_typename(L, -1));
    v = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

int dnnL_optboolean_field(lua_State *L, int opts, const char *k, int def) {
  dnnL_getopt(L, opts, k);
  int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

dnn_dtype dnnL_optdtype_field(lua_State *L, int opts, dnn_dtype def) {
  dnnL_getopt(L, opts, "dtype");
  dnn_dtype dt = lua_isnil(L, -1) ? def : dnnL_checkdtype(L, -1);
  lua_pop(L, 1);
  return dt;
}

void dnnL_pushsize(lua_State *L, int ndim, const int64_t *shape) {
  lua_createtable(L, ndim, 0);
  for (int i = 0; i < ndim; i++) {
    lua_pushinteger(L, shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  luaL_setmetatable(L, "dnn.Size");
}

void dnnL_add_methods(lua_State *L, const luaL_Reg *fns) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_methods_key);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}

void dnnL_add_functions(lua_State *L, const luaL_Reg *fns) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}
