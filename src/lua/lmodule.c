/* luaopen_dnn_core: the C half of the dnn module.  lua/dnn/init.lua builds
 * the user-facing `dnn` table on top of it. */
#include "lutil.h"

int luaopen_dnn_core(lua_State *L) {
  /* The collector mode is the host's choice (lua5.4 runs generational, which
   * frees short-lived tensors while they are still in cache); tensor bytes
   * the GC cannot see are covered by dnnL_account's full collections. */
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
  dnnL_open_autograd(L);
  dnnL_open_conv(L);
  dnnL_open_nn(L);
  dnnL_open_loss(L);
  dnnL_open_optim(L);
  dnnL_open_h5(L);
  dnnL_open_dist(L);
  dnnL_open_augment(L);
  dnnL_open_tfevents(L);
  dnnL_open_io_data(L);
  dnnL_open_cuda(L);

  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_methods_key);
  lua_setfield(L, -2, "methods");
  luaL_getmetatable(L, DNN_TENSOR_MT);
  lua_setfield(L, -2, "Tensor");
  luaL_getmetatable(L, "dnn.Size");
  lua_setfield(L, -2, "Size");
  return 1;
}
