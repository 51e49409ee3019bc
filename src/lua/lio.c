/* File readers and writers from Lua (dnn.io wraps these in lua/dnn/io.lua):
 *   core.read_idx(path)          -> tensor of the file's dtype
 *   core.write_idx(path, tensor) -> nothing (atomic: temp file + rename) */
#include "lutil.h"


static const char *checkpath(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "%s: the path must be a string, got %s", fname, luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

static int l_read_idx(lua_State *L) {
  const char *path = checkpath(L, 1, "read_idx");
  return dnnL_push(L, dnn_read_idx(path));
}

static int l_write_idx(lua_State *L) {
  const char *path = checkpath(L, 1, "write_idx");
  dnn_tensor *t = dnnL_totensor(L, 2);
  if (!t) luaL_error(L, "write_idx: argument #2 must be a tensor, got %s", luaL_typename(L, 2));
  dnnL_check(L, dnn_write_idx(path, t));
  return 0;
}

void dnnL_open_io(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"read_idx", l_read_idx},
      {"write_idx", l_write_idx},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
}
