/* Autograd from Lua: t:backward(), dnn.grad, grad mode, detach, and the
 * grad / requires_grad / is_leaf / grad_fn fields (read by ltensor.c). */
#include <string.h>

#include "lutil.h"

/* Field reads for ltensor.c's __index; returns 0 when k is not ours. */
int dnnL_autograd_field(lua_State *L, dnn_tensor *t, const char *k) {
  if (strcmp(k, "grad") == 0) {
    if (!t->grad) {
      lua_pushnil(L);
      return 1;
    }
    dnn_tensor_retain(t->grad);
    return dnnL_push(L, t->grad);
  }
  if (strcmp(k, "requires_grad") == 0) {
    lua_pushboolean(L, t->requires_grad);
    return 1;
  }
  if (strcmp(k, "is_leaf") == 0) {
    lua_pushboolean(L, dnn_is_leaf(t));
    return 1;
  }
  if (strcmp(k, "grad_fn") == 0) {
    const char *name = dnn_grad_fn_name(t);
    if (name) lua_pushstring(L, name);
    else lua_pushnil(L);
    return 1;
  }
  return 0;
}

/* Field writes: t.grad = tensor|nil, t.requires_grad = bool.  Returns 0 when
 * k is not ours. */
int dnnL_autograd_setfield(lua_State *L, dnn_tensor *t, const char *k) {
  if (strcmp(k, "requires_grad") == 0) {
    dnnL_check(L, dnn_set_requires_grad(t, lua_toboolean(L, 3)));
    return 1;
  }
  if (strcmp(k, "grad") == 0) {
    dnn_tensor *g = NULL;
    if (!lua_isnil(L, 3)) {
      g = dnnL_checktensor(L, 3);
      if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim) != 0) {
        char b0[200], b1[200];
        return luaL_error(L, "grad: assigned gradient of shape %s does not match the tensor's shape %s",
                          DNN_SHAPE_STR(g, b0), DNN_SHAPE_STR(t, b1));
      }
      dnn_tensor_retain(g);
    }
    dnn_tensor_release(t->grad);
    t->grad = g;
    return 1;
  }
  return 0;
}

static int m_requires_grad_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_check(L, dnn_set_requires_grad(t, lua_isnone(L, 2) ? true : lua_toboolean(L, 2)));
  lua_settop(L, 1);
  return 1;
}

static int m_detach(lua_State *L) { return dnnL_push(L, dnn_detach(dnnL_checktensor(L, 1))); }

/* t:backward(), t:backward(grad), t:backward{retain_graph=true}, t:backward(grad, {retain_graph=}) */
static int m_backward(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *g = dnnL_totensor(L, 2);
  int opts = lua_type(L, 2) == LUA_TTABLE && !g ? 2 : (lua_type(L, 3) == LUA_TTABLE ? 3 : 0);
  if (!g && opts) {
    lua_getfield(L, opts, "gradient");
    g = lua_isnil(L, -1) ? NULL : dnnL_checktensor(L, -1);
  }
  bool retain = dnnL_optboolean_field(L, opts, "retain_graph", 0);
  dnnL_check(L, dnn_backward(t, g, retain));
  return 0;
}

/* Reads a tensor or a list of tensors at idx into a malloc'd array owned by a
 * userdata pushed on the stack (so errors cannot leak it). */
static dnn_tensor **tensor_list(lua_State *L, int idx, int *n, const char *fname, const char *what) {
  dnn_tensor *one = dnnL_totensor(L, idx);
  if (one) {
    dnn_tensor **arr = lua_newuserdatauv(L, sizeof(dnn_tensor *), 0);
    arr[0] = one;
    *n = 1;
    return arr;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s: %s must be a tensor or a list of tensors, got %s", fname, what, luaL_typename(L, idx));
  int len = (int)lua_rawlen(L, idx);
  dnn_tensor **arr = lua_newuserdatauv(L, sizeof(dnn_tensor *) * (size_t)(len ? len : 1), 0);
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    arr[i - 1] = dnnL_totensor(L, -1);
    if (!arr[i - 1]) luaL_error(L, "%s: %s[%d] is a %s, not a tensor", fname, what, i, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  *n = len;
  return arr;
}

/* dnn.grad(outputs, inputs, {grad_outputs=, retain_graph=, allow_unused=}):
 * a tensor for a single input, else a list (nil where unused). */
static int l_grad(lua_State *L) {
  int opts = lua_type(L, 3) == LUA_TTABLE ? 3 : 0;
  int n_out, n_in, n_go = 0;
  dnn_tensor **outs = tensor_list(L, 1, &n_out, "grad", "outputs");
  dnn_tensor **ins = tensor_list(L, 2, &n_in, "grad", "inputs");
  dnn_tensor **gos = NULL;
  if (opts && lua_getfield(L, opts, "grad_outputs") != LUA_TNIL) {
    gos = tensor_list(L, lua_gettop(L), &n_go, "grad", "grad_outputs");
    if (n_go != n_out) return luaL_error(L, "grad: %d grad_outputs for %d outputs", n_go, n_out);
  }
  bool retain = dnnL_optboolean_field(L, opts, "retain_graph", 0);
  bool allow_unused = dnnL_optboolean_field(L, opts, "allow_unused", 0);
  dnn_tensor **res = lua_newuserdatauv(L, sizeof(dnn_tensor *) * (size_t)(n_in ? n_in : 1), 0);
  dnnL_check(L, dnn_grad(n_out, outs, gos, n_in, ins, retain, allow_unused, res));
  bool single = dnnL_totensor(L, 2) != NULL;
  if (single) return res[0] ? dnnL_push(L, res[0]) : (lua_pushnil(L), 1);
  lua_createtable(L, n_in, 0);
  int list = lua_gettop(L);
  for (int i = 0; i < n_in; i++) { /* push every result first so none leaks */
    if (res[i]) {
      dnnL_push(L, res[i]);
      res[i] = NULL;
    } else {
      lua_pushboolean(L, 0);
    }
    lua_rawseti(L, list, i + 1);
  }
  for (int i = 1; i <= n_in; i++) { /* unused inputs read as nil */
    if (lua_rawgeti(L, list, i) == LUA_TBOOLEAN) {
      lua_pushnil(L);
      lua_rawseti(L, list, i);
    }
    lua_pop(L, 1);
  }
  lua_pushinteger(L, n_in); /* the length, since nil holes make # unreliable */
  lua_setfield(L, list, "n");
  return 1;
}

static int l_is_grad_enabled(lua_State *L) {
  lua_pushboolean(L, dnn_grad_enabled());
  return 1;
}

/* Returns the previous mode. */
static int l_set_grad_enabled(lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, dnn_set_grad_enabled(lua_toboolean(L, 1)));
  return 1;
}

void dnnL_open_autograd(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"requires_grad_", m_requires_grad_},
      {"detach", m_detach},
      {"backward", m_backward},
      {NULL, NULL},
  };
  dnnL_add_methods(L, methods);
  static const luaL_Reg fns[] = {
      {"grad", l_grad},
      {"is_grad_enabled", l_is_grad_enabled},
      {"set_grad_enabled", l_set_grad_enabled},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
}
