/* Lua bindings of the optim area: the fused optimizer step and its helpers
 * (dnn.core.optim_*).  The optimizer classes in lua/dnn/optimizers/ call
 * them; a configuration is a Lua table with Keras's argument names:
 *   {kind="adam", name="Adam", step=1, learning_rate=1e-3, beta_1=0.9, ...} */
#include <stdio.h>
#include <string.h>

#include "lutil.h"

#define STACK_VARS 64 /* lists up to this long need no scratch userdata */

static double num_field(lua_State *L, int idx, const char *k, double def) {
  double v = def;
  int t = lua_getfield(L, idx, k);
  if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL) luaL_error(L, "optimizer: %s must be a number, got %s", k, luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

static bool bool_field(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  bool v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Reads the configuration table at idx.  cfg->name points into a string the
 * table holds, so the table must stay on the stack while cfg is used. */
static void check_config_table(lua_State *L, int idx, dnn_optim_config *cfg) {
  luaL_checktype(L, idx, LUA_TTABLE);
  memset(cfg, 0, sizeof *cfg);
  lua_getfield(L, idx, "kind");
  const char *kind = lua_tostring(L, -1);
  int k = kind ? dnn_optim_kind_from_name(kind) : -1;
  if (k < 0)
    luaL_error(L, "optimizer: unknown kind '%s' (known: sgd, rmsprop, adam, adadelta, adagrad, adamax, nadam, "
                  "ftrl, lion)", kind ? kind : "nil");
  lua_pop(L, 1);
  cfg->kind = (dnn_optim_kind)k;
  lua_getfield(L, idx, "name");
  cfg->name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  lua_getfield(L, idx, "step");
  int isint = 0;
  cfg->step = lua_isnil(L, -1) ? 1 : (int64_t)lua_tointegerx(L, -1, &isint);
  if (!lua_isnil(L, -1) && !isint) luaL_error(L, "optimizer: step must be an integer");
  lua_pop(L, 1);
  cfg->learning_rate = num_field(L, idx, "learning_rate", 0.001);
  cfg->beta_1 = num_field(L, idx, "beta_1", 0);
  cfg->beta_2 = num_field(L, idx, "beta_2", 0);
  cfg->epsilon = num_field(L, idx, "epsilon", 0);
  cfg->rho = num_field(L, idx, "rho", 0);
  cfg->momentum = num_field(L, idx, "momentum", 0);
  cfg->nesterov = bool_field(L, idx, "nesterov");
  cfg->amsgrad = bool_field(L, idx, "amsgrad");
  cfg->centered = bool_field(L, idx, "centered");
  cfg->initial_accumulator_value = num_field(L, idx, "initial_accumulator_value", 0);
  cfg->weight_decay = num_field(L, idx, "weight_decay", 0);
  cfg->clipnorm = num_field(L, idx, "clipnorm", 0);
  cfg->clipvalue = num_field(L, idx, "clipvalue", 0);
  cfg->global_clipnorm = num_field(L, idx, "global_clipnorm", 0);
  cfg->u_product = num_field(L, idx, "u_product", 1);
  cfg->lr_power = num_field(L, idx, "learning_rate_power", -0.5);
  cfg->l1 = num_field(L, idx, "l1_regularization_strength", 0);
  cfg->l2 = num_field(L, idx, "l2_regularization_strength", 0);
  cfg->l2_shrinkage = num_field(L, idx, "l2_shrinkage_regularization_strength", 0);
  cfg->beta = num_field(L, idx, "beta", 0);
}

/* Length of a list argument: its field n when present, else #list. */
static int list_len(lua_State *L, int idx) {
  int n;
  if (lua_getfield(L, idx, "n") == LUA_TNUMBER) n = (int)lua_tointeger(L, -1);
  else n = (int)lua_rawlen(L, idx);
  lua_pop(L, 1);
  return n;
}

/* Pointer array for n entries: on the C stack when small, else scratch
 * userdata left on the Lua stack (collected with it). */
static void *scratch(lua_State *L, void *local, size_t n, size_t size) {
  if (n <= STACK_VARS) return local;
  return lua_newuserdatauv(L, n * size, 0);
}

/* entry i of the list at idx: a tensor, or NULL for nil (or false). */
static dnn_tensor *tensor_entry(lua_State *L, int idx, int i, const char *op, const char *what) {
  lua_rawgeti(L, idx, i);
  dnn_tensor *t = NULL;
  if (!lua_isnil(L, -1) && !(lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
    t = dnnL_totensor(L, -1);
    if (!t) luaL_error(L, "%s: %s %d is a %s, not a tensor", op, what, i, luaL_typename(L, -1));
  }
  lua_pop(L, 1); /* the list keeps the userdata alive */
  return t;
}

/* core.optim_apply(cfg, params, grads, slots [, nodecay]): one update in place,
 * with grad mode off for its duration.  grads[i] nil skips params[i];
 * nodecay[i] true exempts params[i] from weight decay. */
static int l_optim_apply(lua_State *L) {
  dnn_optim_config cfg;
  check_config_table(L, 1, &cfg);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  bool has_slots = lua_type(L, 4) == LUA_TTABLE, has_nodecay = lua_type(L, 5) == LUA_TTABLE;
  char op[96];
  snprintf(op, sizeof op, "%s.apply_gradients", cfg.name ? cfg.name : dnn_optim_kind_name(cfg.kind));
  int n = list_len(L, 2), ng = list_len(L, 3);
  if (n < 0) return luaL_error(L, "%s: negative variable count %d", op, n);
  if (ng != n) return luaL_error(L, "%s: %d gradients for %d variables", op, ng, n);
  if ((size_t)n > lua_rawlen(L, 2)) /* a hole: some variable is nil (checked before allocating) */
    return luaL_error(L, "%s: the list of variables has a nil among its %d entries", op, n);
  dnn_tensor *lp[STACK_VARS], *lg[STACK_VARS], *ls[STACK_VARS];
  bool ld[STACK_VARS];
  lua_settop(L, 5);
  dnn_tensor **params = scratch(L, lp, (size_t)n, sizeof(dnn_tensor *));
  dnn_tensor **grads = scratch(L, lg, (size_t)n, sizeof(dnn_tensor *));
  dnn_tensor **slots = scratch(L, ls, (size_t)n, sizeof(dnn_tensor *));
  bool *decay = scratch(L, ld, (size_t)n, sizeof(bool));
  for (int i = 0; i < n; i++) {
    params[i] = tensor_entry(L, 2, i + 1, op, "variable");
    if (!params[i]) return luaL_error(L, "%s: variable %d is nil", op, i + 1);
    grads[i] = tensor_entry(L, 3, i + 1, op, "gradient");
    slots[i] = has_slots ? tensor_entry(L, 4, i + 1, op, "slot block") : NULL;
    decay[i] = true;
    if (has_nodecay) {
      lua_rawgeti(L, 5, i + 1);
      decay[i] = !lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
  }
  bool prev = dnn_set_grad_enabled(false);
  dnn_status st = dnn_optim_apply(&cfg, n, params, (const dnn_tensor *const *)grads, slots, decay);
  dnn_set_grad_enabled(prev);
  dnnL_check(L, st);
  return 0;
}

/* core.optim_check(cfg): raises the configuration's first problem. */
static int l_optim_check(lua_State *L) {
  dnn_optim_config cfg;
  check_config_table(L, 1, &cfg);
  dnnL_check(L, dnn_optim_check_config(&cfg));
  lua_pushboolean(L, 1);
  return 1;
}

/* core.optim_new_slots(cfg, param): the packed (nslots, ...) slot block, or
 * nil when the configuration keeps no slots. */
static int l_optim_new_slots(lua_State *L) {
  dnn_optim_config cfg;
  check_config_table(L, 1, &cfg);
  dnn_tensor *p = dnnL_checktensor(L, 2);
  if (dnn_optim_slot_count(&cfg) == 0) {
    lua_pushnil(L);
    return 1;
  }
  return dnnL_push(L, dnn_optim_new_slots(&cfg, p));
}

/* core.optim_slot_names(cfg): {"momentum", "velocity", ...} in slot order. */
static int l_optim_slot_names(lua_State *L) {
  dnn_optim_config cfg;
  check_config_table(L, 1, &cfg);
  int n = dnn_optim_slot_count(&cfg);
  lua_createtable(L, n, 0);
  for (int k = 0; k < n; k++) {
    lua_pushstring(L, dnn_optim_slot_name(&cfg, k));
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

/* core.optim_global_norm(list): sqrt of the sum of squares of every element
 * of the tensors in list (nil entries skipped), in float64. */
static int l_optim_global_norm(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = list_len(L, 1);
  if (n < 0) return luaL_error(L, "global_norm: negative length %d", n);
  dnn_tensor *lt[STACK_VARS];
  lua_settop(L, 1);
  dnn_tensor **ts = scratch(L, lt, (size_t)(n > 0 ? n : 0), sizeof(dnn_tensor *));
  for (int i = 0; i < n; i++) ts[i] = tensor_entry(L, 1, i + 1, "global_norm", "entry");
  double norm = 0;
  dnnL_check(L, dnn_optim_global_norm(n, (const dnn_tensor *const *)ts, &norm));
  lua_pushnumber(L, norm);
  return 1;
}

void dnnL_open_optim(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"apply", l_optim_apply},
      {"check", l_optim_check},
      {"new_slots", l_optim_new_slots},
      {"slot_names", l_optim_slot_names},
      {"global_norm", l_optim_global_norm},
      {NULL, NULL},
  };
  /* engine primitives for lua/dnn/optimizers: dnn.core._optim, not user API */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "_optim");
  lua_pop(L, 1);
}
