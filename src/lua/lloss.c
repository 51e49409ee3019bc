/* Lua bindings of the loss area: the fused crossentropies, as
 * dnn.core._losses.xent(kind, y_true, y_pred, from_logits, label_smoothing,
 * axis, ignore_class).  lua/dnn/losses.lua parses the user's options (Keras
 * names, f(a, b, {opts}) and f{a, b, ...}) and calls this positional form. */
#include <string.h>

#include "lutil.h"

static int l_xent(lua_State *L) {
  static const char *const kinds[] = {"categorical", "sparse", "binary", NULL};
  static const dnn_op ops[] = {DNN_OP_CATEGORICAL_CROSSENTROPY, DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY,
                               DNN_OP_BINARY_CROSSENTROPY};
  dnn_op op = ops[luaL_checkoption(L, 1, NULL, kinds)];
  const char *name = dnn_xent_name(op);
  dnn_tensor *y_true = dnnL_totensor(L, 2), *y_pred = dnnL_totensor(L, 3);
  if (!y_true) return luaL_error(L, "%s: y_true must be a tensor, got %s", name, luaL_typename(L, 2));
  if (!y_pred) return luaL_error(L, "%s: y_pred must be a tensor, got %s", name, luaL_typename(L, 3));
  dnn_xent_opts o = dnn_xent_defaults();
  o.from_logits = lua_toboolean(L, 4);
  o.label_smoothing = luaL_optnumber(L, 5, 0);
  if (!lua_isnoneornil(L, 6)) {
    int isint;
    lua_Integer ax = lua_tointegerx(L, 6, &isint);
    if (!isint) return luaL_error(L, "%s: axis must be an integer, got %s", name, luaL_typename(L, 6));
    o.axis = dnnL_dim_from_lua(L, ax, name);
  }
  if (!lua_isnoneornil(L, 7)) {
    int isint;
    lua_Integer ic = lua_tointegerx(L, 7, &isint);
    if (!isint) return luaL_error(L, "%s: ignore_class must be an integer class id, got %s", name, luaL_typename(L, 7));
    o.has_ignore_class = true;
    o.ignore_class = ic;
  }
  dnn_tensor *out = NULL;
  switch (op) {
    case DNN_OP_CATEGORICAL_CROSSENTROPY: out = dnn_ag_categorical_crossentropy(y_true, y_pred, &o); break;
    case DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY: out = dnn_ag_sparse_categorical_crossentropy(y_true, y_pred, &o); break;
    default: out = dnn_ag_binary_crossentropy(y_true, y_pred, &o); break;
  }
  return dnnL_push(L, out);
}

void dnnL_open_loss(lua_State *L) {
  static const luaL_Reg fns[] = {{"xent", l_xent}, {NULL, NULL}};
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  lua_setfield(L, -2, "_losses");
  lua_pop(L, 1);
}
