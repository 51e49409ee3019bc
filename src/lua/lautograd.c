/* Autograd from Lua: t:backward(), dnn.grad, grad mode, detach, and the
 * grad / requires_grad / is_leaf / grad_fn fields (read by ltensor.c); and
 * dnn.autograd's gradient hooks (below). */
#include <string.h>

#include "autograd/grad_hook.h"
#include "lutil.h"

/* ---- gradient hooks: dnn.autograd.add_grad_hook{begin=, ready=, finish=}
 * and dnn.autograd.on_leaf_grad_ready(fn).  The registered hooks live in a
 * list in the registry; a backward pass with hooks registered runs with a
 * dnn_grad_hook whose callbacks call them, each through lua_pcall (a Lua
 * error must not unwind through the engine: it becomes the pass's error). */

static char hooks_key; /* registry: the list of hook tables */
static int in_hook;    /* a hook is running: no backward pass inside it */

typedef struct {
  lua_State *L;
  int snapshot; /* stack index (in the binding's frame) of the hooks as the pass began */
} hook_ctx;

typedef struct {
  hook_ctx *ctx;
  const char *field; /* "begin", "ready" or "finish" */
  int n, i;
  dnn_tensor *const *leaves;
  const bool *reachable;
  dnn_tensor *leaf, *grad;
} hook_call;

static void push_retained(lua_State *L, dnn_tensor *t) {
  if (!t) {
    lua_pushnil(L);
    return;
  }
  dnn_tensor_retain(t);
  dnnL_push(L, t);
}

/* Under lua_pcall: calls every hook's `field` with the event's arguments. */
static int hook_dispatch(lua_State *L) {
  hook_call *c = lua_touserdata(L, 1);
  int snap = 2; /* the snapshot of the hooks, passed along */
  int nargs = 0;
  if (c->field[0] == 'b') { /* begin(leaves, reachable) */
    lua_createtable(L, c->n, 0);
    lua_createtable(L, c->n, 0);
    for (int i = 0; i < c->n; i++) {
      push_retained(L, c->leaves[i]);
      lua_rawseti(L, -3, i + 1);
      lua_pushboolean(L, c->reachable[i]);
      lua_rawseti(L, -2, i + 1);
    }
    nargs = 2;
  } else if (c->field[0] == 'r') { /* ready(leaf, grad, i) */
    push_retained(L, c->leaf);
    push_retained(L, c->grad);
    lua_pushinteger(L, c->i + 1);
    nargs = 3;
  }
  int first = lua_gettop(L) - nargs + 1;
  lua_Integer n = luaL_len(L, snap);
  for (lua_Integer k = 1; k <= n; k++) {
    lua_geti(L, snap, k);
    if (lua_getfield(L, -1, c->field) == LUA_TNIL) {
      lua_pop(L, 2);
      continue;
    }
    for (int a = 0; a < nargs; a++) lua_pushvalue(L, first + a);
    lua_call(L, nargs, 0);
    lua_pop(L, 1);
  }
  return 0;
}

/* Under lua_pcall: tostring of the error value (it may have __tostring). */
static int error_text(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}

static dnn_status hook_run(hook_call *c) {
  lua_State *L = c->ctx->L;
  if (!lua_checkstack(L, 8)) return dnn_error(DNN_ERR_MEMORY, "gradient hook: out of Lua stack");
  lua_pushcfunction(L, hook_dispatch);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, c->ctx->snapshot); /* still l_grad's / m_backward's frame here */
  in_hook++;
  int rc = lua_pcall(L, 2, 0, 0);
  in_hook--;
  if (rc == LUA_OK) return DNN_OK;
  if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
    lua_pushcfunction(L, error_text);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
      lua_pop(L, 1);
      lua_pushliteral(L, "a gradient hook raised an error value that has no text");
    }
  }
  dnn_status st = dnn_error(DNN_ERR_ARG, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  return st;
}

static dnn_status hook_begin(void *ctx, int n, dnn_tensor *const *leaves, const bool *reachable) {
  hook_call c = {.ctx = ctx, .field = "begin", .n = n, .leaves = leaves, .reachable = reachable};
  return hook_run(&c);
}

static dnn_status hook_ready(void *ctx, int i, dnn_tensor *leaf, dnn_tensor *grad) {
  hook_call c = {.ctx = ctx, .field = "ready", .i = i, .leaf = leaf, .grad = grad};
  return hook_run(&c);
}

static dnn_status hook_end(void *ctx) {
  hook_call c = {.ctx = ctx, .field = "finish"};
  return hook_run(&c);
}

/* Pushes a copy of the hook list; fills h and returns it, or NULL (nothing
 * pushed) when no hook is registered.  Raises inside a hook. */
static const dnn_grad_hook *hooks_for_pass(lua_State *L, const char *fname, dnn_grad_hook *h, hook_ctx *ctx) {
  if (in_hook) return (luaL_error(L, "%s: a gradient hook cannot run a backward pass", fname), NULL);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
  lua_Integer n = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
  if (n == 0) {
    lua_pop(L, 1);
    return NULL;
  }
  lua_createtable(L, (int)n, 0); /* a snapshot: hooks may remove themselves */
  for (lua_Integer k = 1; k <= n; k++) {
    lua_geti(L, -2, k);
    lua_rawseti(L, -2, k);
  }
  lua_remove(L, -2);
  ctx->L = L;
  ctx->snapshot = lua_gettop(L);
  *h = (dnn_grad_hook){.ctx = ctx, .begin = hook_begin, .ready = hook_ready, .end = hook_end};
  return h;
}

/* add_grad_hook{begin=fn(leaves, reachable), ready=fn(leaf, grad, i), finish=fn()}
 * -> a handle; handle:remove() unregisters it. */
static int l_add_grad_hook(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  static const char *const fields[] = {"begin", "ready", "finish"};
  lua_createtable(L, 0, 3);
  int any = 0;
  for (int i = 0; i < 3; i++) {
    int t = lua_getfield(L, 1, fields[i]);
    if (t != LUA_TNIL && t != LUA_TFUNCTION && !luaL_getmetafield(L, -1, "__call"))
      return luaL_error(L, "add_grad_hook: %s must be a function, got %s", fields[i], luaL_typename(L, -1));
    if (t != LUA_TFUNCTION && t != LUA_TNIL) lua_pop(L, 1); /* the __call */
    any |= t != LUA_TNIL;
    lua_setfield(L, -2, fields[i]);
  }
  if (!any) return luaL_error(L, "add_grad_hook: give at least one of begin, ready, finish (functions)");
  luaL_setmetatable(L, "dnn.GradHook");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, luaL_len(L, -2) + 1);
  lua_pop(L, 1);
  return 1;
}

/* on_leaf_grad_ready(fn): add_grad_hook{ready=fn}. */
static int l_on_leaf_grad_ready(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "ready");
  lua_replace(L, 1);
  return l_add_grad_hook(L);
}

/* handle:remove(): true if it was registered. */
static int m_hook_remove(lua_State *L) {
  int is_hook = lua_istable(L, 1) && lua_getmetatable(L, 1);
  if (is_hook) {
    luaL_getmetatable(L, "dnn.GradHook");
    is_hook = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  if (!is_hook) return luaL_error(L, "remove: expected a gradient hook (what add_grad_hook returned)");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer k = 1; k <= n; k++) {
    lua_geti(L, -1, k);
    int same = lua_rawequal(L, -1, 1);
    lua_pop(L, 1);
    if (!same) continue;
    for (lua_Integer j = k; j < n; j++) {
      lua_geti(L, -1, j + 1);
      lua_seti(L, -2, j);
    }
    lua_pushnil(L);
    lua_seti(L, -2, n);
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  return 1;
}

/* the number of registered hooks */
static int l_grad_hooks(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hooks_key);
  lua_pushinteger(L, luaL_len(L, -1));
  return 1;
}

static void open_hooks(lua_State *L) {
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hooks_key);
  luaL_newmetatable(L, "dnn.GradHook");
  lua_newtable(L);
  lua_pushcfunction(L, m_hook_remove);
  lua_setfield(L, -2, "remove");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
      {"add_grad_hook", l_add_grad_hook},
      {"on_leaf_grad_ready", l_on_leaf_grad_ready},
      {"grad_hooks", l_grad_hooks},
      {NULL, NULL},
  };
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "autograd"); /* dnn.autograd */
  lua_pop(L, 1);
}

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
  dnn_grad_hook h;
  hook_ctx ctx;
  const dnn_grad_hook *hook = hooks_for_pass(L, "backward", &h, &ctx);
  dnnL_check(L, dnn_backward_hooked(t, g, retain, hook));
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
  dnn_grad_hook h;
  hook_ctx ctx;
  const dnn_grad_hook *hook = hooks_for_pass(L, "grad", &h, &ctx);
  dnnL_check(L, dnn_grad_hooked(n_out, outs, gos, n_in, ins, retain, allow_unused, res, hook));
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
  open_hooks(L);
}
