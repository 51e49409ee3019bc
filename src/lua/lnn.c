/* Lua bindings of the nn area: the differentiable activations, softmax,
 * dense layer, normalisations, dropout and embeddings.  They live in the
 * private table dnn.core._nn, with positional arguments only; the Keras-style
 * front (dnn.F, options tables, both call spellings) is Lua code in
 * lua/dnn/functional/{activations,nn}.lua.  Dims arrive 1-based. */
#include <stdarg.h>

#include "lutil.h"

/* Raises like the engine's errors: the message alone, no position inside dnn.F. */
static int nn_raise(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

/* Argument idx as a tensor, or an error naming the op and the argument. */
static dnn_tensor *nn_tensor(lua_State *L, int idx, const char *op, const char *what) {
  dnn_tensor *t = dnnL_totensor(L, idx);
  if (!t) nn_raise(L, "%s: %s must be a tensor, got %s", op, what, luaL_typename(L, idx));
  return t;
}

/* Argument idx as a tensor or nil (NULL). */
static dnn_tensor *nn_opt_tensor(lua_State *L, int idx, const char *op, const char *what) {
  if (lua_isnoneornil(L, idx)) return NULL;
  dnn_tensor *t = dnnL_totensor(L, idx);
  if (!t) nn_raise(L, "%s: %s must be a tensor or nil, got %s", op, what, luaL_typename(L, idx));
  return t;
}

static lua_Number nn_number(lua_State *L, int idx, const char *op, const char *what, lua_Number def) {
  if (lua_isnoneornil(L, idx)) return def;
  if (lua_type(L, idx) != LUA_TNUMBER) nn_raise(L, "%s: %s must be a number, got %s", op, what, luaL_typename(L, idx));
  return lua_tonumber(L, idx);
}

static int nn_dim(lua_State *L, int idx, const char *op, const char *what) {
  if (!lua_isinteger(L, idx)) {
    if (lua_type(L, idx) == LUA_TNUMBER) nn_raise(L, "%s: %s must be an integer, got %s", op, what, lua_tostring(L, idx));
    nn_raise(L, "%s: %s must be an integer, got %s", op, what, luaL_typename(L, idx));
  }
  return dnnL_dim_from_lua(L, lua_tointeger(L, idx), op);
}

static dnn_activation nn_act(lua_State *L, int idx, const char *op) {
  lua_Integer a = luaL_checkinteger(L, idx);
  if (a < 0 || a >= DNN_ACT_COUNT) nn_raise(L, "%s: unknown activation code %d", op, (int)a);
  return (dnn_activation)a;
}

/* activation(x, code, alpha) */
static int l_activation(lua_State *L) {
  dnn_activation act = nn_act(L, 2, "activation");
  const char *op = dnn_activation_name(act);
  dnn_tensor *x = nn_tensor(L, 1, op, "the input");
  return dnnL_push(L, dnn_ag_activate(x, act, nn_number(L, 3, op, "alpha", 0)));
}

/* softmax(x, dim, log) */
static int l_softmax(lua_State *L) {
  bool log = lua_toboolean(L, 3);
  const char *op = log ? "log_softmax" : "softmax";
  dnn_tensor *x = nn_tensor(L, 1, op, "the input");
  return dnnL_push(L, dnn_ag_softmax(x, nn_dim(L, 2, op, "axis"), log));
}

/* linear(x, kernel, bias|nil, code, alpha) */
static int l_linear(lua_State *L) {
  dnn_tensor *x = nn_tensor(L, 1, "linear", "the input"), *k = nn_tensor(L, 2, "linear", "the kernel");
  dnn_tensor *b = nn_opt_tensor(L, 3, "linear", "the bias");
  dnn_activation act = lua_isnoneornil(L, 4) ? DNN_ACT_LINEAR : nn_act(L, 4, "linear");
  return dnnL_push(L, dnn_ag_linear(x, k, b, act, nn_number(L, 5, "linear", "alpha", 0)));
}

/* batch_norm(x, moving_mean, moving_var, gamma|nil, beta|nil, axis, training, momentum, epsilon) */
static int l_batch_norm(lua_State *L) {
  const char *op = "batch_norm";
  dnn_tensor *x = nn_tensor(L, 1, op, "the input");
  dnn_tensor *mm = nn_tensor(L, 2, op, "moving_mean"), *mv = nn_tensor(L, 3, op, "moving_var");
  dnn_tensor *gamma = nn_opt_tensor(L, 4, op, "gamma"), *beta = nn_opt_tensor(L, 5, op, "beta");
  int axis = nn_dim(L, 6, op, "axis");
  bool training = lua_toboolean(L, 7);
  double momentum = nn_number(L, 8, op, "momentum", 0.99), eps = nn_number(L, 9, op, "epsilon", 1e-3);
  return dnnL_push(L, dnn_ag_batch_norm(x, mm, mv, gamma, beta, axis, training, momentum, eps));
}

/* layer_norm(x, gamma|nil, beta|nil, axis (integer or list), epsilon) */
static int l_layer_norm(lua_State *L) {
  const char *op = "layer_norm";
  dnn_tensor *x = nn_tensor(L, 1, op, "the input");
  dnn_tensor *gamma = nn_opt_tensor(L, 2, op, "gamma"), *beta = nn_opt_tensor(L, 3, op, "beta");
  int axes[DNN_MAX_DIMS], n = 0;
  if (lua_type(L, 4) == LUA_TTABLE) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, 4);
    if (len < 1 || len > DNN_MAX_DIMS) return nn_raise(L, "%s: axis lists 1 to %d dims, got %d", op, DNN_MAX_DIMS, (int)len);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, 4, i);
      axes[n++] = nn_dim(L, -1, op, "axis");
      lua_pop(L, 1);
    }
  } else {
    axes[n++] = nn_dim(L, 4, op, "axis");
  }
  double eps = nn_number(L, 5, op, "epsilon", 1e-3);
  return dnnL_push(L, dnn_ag_layer_norm(x, gamma, beta, n, axes, eps));
}

/* dropout(x, rate, training, seed|nil) */
static int l_dropout(lua_State *L) {
  const char *op = "dropout";
  dnn_tensor *x = nn_tensor(L, 1, op, "the input");
  double rate = nn_number(L, 2, op, "rate", 0);
  bool training = lua_toboolean(L, 3), has_seed = !lua_isnoneornil(L, 4);
  uint64_t seed = 0;
  if (has_seed) {
    if (!lua_isinteger(L, 4)) return nn_raise(L, "%s: seed must be an integer, got %s", op, luaL_typename(L, 4));
    seed = (uint64_t)lua_tointeger(L, 4);
  }
  return dnnL_push(L, dnn_ag_dropout(x, rate, training, has_seed, seed));
}

/* embedding(ids, weight) */
static int l_embedding(lua_State *L) {
  dnn_tensor *ids = nn_tensor(L, 1, "embedding", "ids"), *w = nn_tensor(L, 2, "embedding", "the weight");
  return dnnL_push(L, dnn_ag_embedding(ids, w));
}

void dnnL_open_nn(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"activation", l_activation}, {"softmax", l_softmax},       {"linear", l_linear},
      {"batch_norm", l_batch_norm}, {"layer_norm", l_layer_norm}, {"dropout", l_dropout},
      {"embedding", l_embedding},   {NULL, NULL},
  };
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, fns);
  lua_createtable(L, 0, DNN_ACT_COUNT); /* activation codes by engine name */
  for (int i = 0; i < DNN_ACT_COUNT; i++) {
    lua_pushinteger(L, i);
    lua_setfield(L, -2, dnn_activation_name((dnn_activation)i));
  }
  lua_setfield(L, -2, "activations");
  lua_setfield(L, -2, "_nn");
  lua_pop(L, 1);
}
