/* luaopen_dnn_core: the C half of the dnn module.  lua/dnn/init.lua builds
 * the user-facing `dnn` table on top of it. */
#include "lutil.h"

int luaopen_dnn_core(lua_State *L) {
  /* Tensor bytes live outside the Lua heap and dnnL_account reports them as
   * GC steps; the incremental collector turns those steps into collections
   * of any garbage, where the generational one would leave old tensors. */
  lua_gc(L, LUA_GCINC, 0, 0, 0);
  lua_newtable(L); /* the methods table, shared by every tensor */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &dnnL_methods_key);
  lua_newtable(L); /* the module */
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);

  dnnL_open_tensor(L); /* makes the metatable: first */
  dnnL_open_index(L);
  dnnL_open_create(L);
  dnnL_open_math(L);
  dnnL_open_ops_index(L);
  dnnL_open_io(L);
  dnnL_open_sys(L);

  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_methods_key);
  lua_setfield(L, -2, "methods");
  luaL_getmetatable(L, DNN_TENSOR_MT);
  lua_setfield(L, -2, "Tensor");
  luaL_getmetatable(L, "dnn.Size");
  lua_setfield(L, -2, "Size");
  return 1;
}
