/* Lua bindings of the conv area: dnn.core.conv2d, the poolings.  Options use
 * Keras names (strides, padding, dilation_rate, groups, data_format,
 * pool_size, keepdims); a pair may be one integer or {h, w}.  lua/dnn/
 * functional/conv.lua turns F.op(x, ..., {opts}) and F.op{x, ..., opts}
 * into these calls.  Unknown option names are errors, so a typo such as
 * `stride=2` does not pass silently. */
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "lutil.h"

/* Raises msg as is: the caller is usually the dnn.F wrapper, whose source
 * position would mean nothing to the user (luaL_error would add it). */
static int conv_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

static dnn_tensor *check_tensor_arg(lua_State *L, int idx, const char *op, const char *what) {
  dnn_tensor *t = dnnL_totensor(L, idx);
  if (!t) conv_error(L, "%s: %s must be a tensor, got %s", op, what, luaL_typename(L, idx));
  return t;
}

/* Raises on keys of the options table at idx not in `known` (NULL-ended);
 * integer keys and the names in `positional` are the f{...} spelling's
 * positional arguments. */
static void check_keys(lua_State *L, int idx, const char *op, const char *const *known,
                       const char *const *positional) {
  if (!idx) return;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TNUMBER) continue;
    if (lua_type(L, -1) != LUA_TSTRING) conv_error(L, "%s: option names must be strings", op);
    const char *k = lua_tostring(L, -1);
    bool ok = false;
    for (int i = 0; known[i] && !ok; i++) ok = strcmp(k, known[i]) == 0;
    for (int i = 0; positional && positional[i] && !ok; i++) ok = strcmp(k, positional[i]) == 0;
    if (!ok) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int i = 0; known[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, known[i]);
      }
      luaL_pushresult(&b);
      conv_error(L, "%s: unknown option '%s' (options: %s)", op, k, lua_tostring(L, -1));
    }
  }
}

/* Integer >= 1 expected from Lua value at idx (a number with an integer value). */
static bool to_int(lua_State *L, int idx, int64_t *v) {
  if (!lua_isinteger(L, idx)) {
    if (lua_type(L, idx) != LUA_TNUMBER) return false;
    lua_Number n = lua_tonumber(L, idx);
    if (n != (lua_Number)(int64_t)n) return false;
    *v = (int64_t)n;
    return true;
  }
  *v = lua_tointeger(L, idx);
  return true;
}

/* Option `k`: an integer (both axes) or a pair {h, w}; def when absent. */
static void opt_pair(lua_State *L, int opts, const char *op, const char *k, int64_t def, int64_t out[2]) {
  int t = dnnL_getopt(L, opts, k);
  out[0] = out[1] = def;
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  bool ok = false;
  if (t == LUA_TNUMBER) {
    ok = to_int(L, -1, &out[0]);
    out[1] = out[0];
  } else if (t == LUA_TTABLE && !dnnL_totensor(L, -1) && luaL_len(L, -1) == 2) {
    lua_geti(L, -1, 1);
    lua_geti(L, -2, 2);
    ok = to_int(L, -2, &out[0]) && to_int(L, -1, &out[1]);
    lua_pop(L, 2);
  }
  if (!ok) conv_error(L, "%s: %s must be an integer or a pair {h, w} of integers, got %s", op, k, luaL_typename(L, -1));
  lua_pop(L, 1);
}

static bool opt_channels_first(lua_State *L, int opts, const char *op) {
  int t = dnnL_getopt(L, opts, "data_format");
  bool first = false;
  if (t != LUA_TNIL) {
    const char *s = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (s && strcmp(s, "channels_first") == 0)
      first = true;
    else if (!s || strcmp(s, "channels_last") != 0)
      conv_error(L, "%s: data_format must be \"channels_last\" or \"channels_first\", got %s", op,
                 s ? s : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return first;
}

/* padding: "valid" | "same" (any case) | integer | {ph, pw} (explicit only if allowed) */
static dnn_padding opt_padding(lua_State *L, int opts, const char *op, bool explicit_ok, int64_t pad[2]) {
  int t = dnnL_getopt(L, opts, "padding");
  dnn_padding p = DNN_PADDING_VALID;
  pad[0] = pad[1] = 0;
  if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (strcasecmp(s, "valid") == 0)
      p = DNN_PADDING_VALID;
    else if (strcasecmp(s, "same") == 0)
      p = DNN_PADDING_SAME;
    else
      conv_error(L, "%s: padding must be \"valid\" or \"same\"%s, got \"%s\"", op,
                 explicit_ok ? " or an integer or a pair {ph, pw}" : "", s);
    lua_pop(L, 1);
    return p;
  }
  lua_pop(L, 1);
  if (t == LUA_TNIL) return p;
  if (!explicit_ok) {
    dnnL_getopt(L, opts, "padding");
    conv_error(L, "%s: padding must be \"valid\" or \"same\", got %s", op, luaL_typename(L, -1));
  }
  opt_pair(L, opts, op, "padding", 0, pad);
  return DNN_PADDING_EXPLICIT;
}

static const char *const positional[] = {"x", "inputs", "kernel", "bias", NULL};

/* conv2d(x, kernel, bias|nil, opts|nil) */
static int l_conv2d(lua_State *L) {
  static const char *const known[] = {"strides", "padding", "dilation_rate", "groups", "data_format", NULL};
  const char *op = "conv2d";
  dnn_tensor *x = check_tensor_arg(L, 1, op, "the input");
  dnn_tensor *k = check_tensor_arg(L, 2, op, "the kernel");
  dnn_tensor *b = NULL;
  if (!lua_isnoneornil(L, 3)) b = check_tensor_arg(L, 3, op, "the bias (or nil)");
  int opts = lua_type(L, 4) == LUA_TTABLE ? 4 : 0;
  if (!opts && !lua_isnoneornil(L, 4)) return conv_error(L, "%s: options must be a table, got %s", op, luaL_typename(L, 4));
  check_keys(L, opts, op, known, positional);
  dnn_conv2d_opts o = dnn_conv2d_default_opts();
  opt_pair(L, opts, op, "strides", 1, o.strides);
  opt_pair(L, opts, op, "dilation_rate", 1, o.dilation);
  o.padding = opt_padding(L, opts, op, true, o.pad);
  dnnL_getopt(L, opts, "groups");
  if (!lua_isnil(L, -1) && !to_int(L, -1, &o.groups))
    return conv_error(L, "%s: groups must be an integer, got %s", op, luaL_typename(L, -1));
  lua_pop(L, 1);
  o.channels_first = opt_channels_first(L, opts, op);
  return dnnL_push(L, dnn_ag_conv2d(x, k, b, &o));
}

/* max_pool2d / avg_pool2d (x, opts) */
static int pool(lua_State *L, dnn_pool_kind kind) {
  static const char *const known[] = {"pool_size", "strides", "padding", "data_format", NULL};
  static const char *const pos[] = {"x", "inputs", NULL};
  const char *op = kind == DNN_POOL_MAX ? "max_pool2d" : "avg_pool2d";
  dnn_tensor *x = check_tensor_arg(L, 1, op, "the input");
  int opts = lua_type(L, 2) == LUA_TTABLE ? 2 : 0;
  if (!opts && !lua_isnoneornil(L, 2)) return conv_error(L, "%s: options must be a table, got %s", op, luaL_typename(L, 2));
  check_keys(L, opts, op, known, pos);
  dnn_pool2d_opts o = {0};
  opt_pair(L, opts, op, "pool_size", 2, o.pool_size);
  opt_pair(L, opts, op, "strides", 0, o.strides);
  if (o.strides[0] == 0 || o.strides[1] == 0) {
    dnnL_getopt(L, opts, "strides");
    bool given = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (given) return conv_error(L, "%s: strides must be >= 1, got {%d, %d}", op, (int)o.strides[0], (int)o.strides[1]);
  }
  int64_t unused[2];
  o.padding = opt_padding(L, opts, op, false, unused);
  o.channels_first = opt_channels_first(L, opts, op);
  return dnnL_push(L, dnn_ag_pool2d(kind, x, &o));
}
static int l_max_pool2d(lua_State *L) { return pool(L, DNN_POOL_MAX); }
static int l_avg_pool2d(lua_State *L) { return pool(L, DNN_POOL_AVG); }

/* adaptive_*_pool2d(x, output_size, opts) */
static int adaptive(lua_State *L, dnn_pool_kind kind) {
  static const char *const known[] = {"output_size", "data_format", NULL};
  static const char *const pos[] = {"x", "inputs", NULL};
  const char *op = kind == DNN_POOL_MAX ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
  dnn_tensor *x = check_tensor_arg(L, 1, op, "the input");
  int opts = lua_type(L, 3) == LUA_TTABLE ? 3 : 0;
  if (!opts && !lua_isnoneornil(L, 3)) return conv_error(L, "%s: options must be a table, got %s", op, luaL_typename(L, 3));
  check_keys(L, opts, op, known, pos);
  /* output_size: argument 2, read through a one-field table so opt_pair can parse it */
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "output_size");
  int64_t size[2];
  if (lua_isnoneornil(L, 2)) return conv_error(L, "%s: output_size is required (an integer or {h, w})", op);
  opt_pair(L, lua_gettop(L), op, "output_size", 1, size);
  lua_pop(L, 1);
  bool cf = opt_channels_first(L, opts, op);
  return dnnL_push(L, dnn_ag_adaptive_pool2d(kind, x, size[0], size[1], cf));
}
static int l_adaptive_max_pool2d(lua_State *L) { return adaptive(L, DNN_POOL_MAX); }
static int l_adaptive_avg_pool2d(lua_State *L) { return adaptive(L, DNN_POOL_AVG); }

/* global_*_pool2d(x, opts) */
static int global(lua_State *L, dnn_pool_kind kind) {
  static const char *const known[] = {"keepdims", "data_format", NULL};
  static const char *const pos[] = {"x", "inputs", NULL};
  const char *op = kind == DNN_POOL_MAX ? "global_max_pool2d" : "global_avg_pool2d";
  dnn_tensor *x = check_tensor_arg(L, 1, op, "the input");
  int opts = lua_type(L, 2) == LUA_TTABLE ? 2 : 0;
  if (!opts && !lua_isnoneornil(L, 2)) return conv_error(L, "%s: options must be a table, got %s", op, luaL_typename(L, 2));
  check_keys(L, opts, op, known, pos);
  bool keep = dnnL_optboolean_field(L, opts, "keepdims", 0);
  bool cf = opt_channels_first(L, opts, op);
  return dnnL_push(L, dnn_ag_global_pool2d(kind, x, keep, cf));
}
static int l_global_max_pool2d(lua_State *L) { return global(L, DNN_POOL_MAX); }
static int l_global_avg_pool2d(lua_State *L) { return global(L, DNN_POOL_AVG); }

void dnnL_open_conv(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"conv2d", l_conv2d},
      {"max_pool2d", l_max_pool2d},
      {"avg_pool2d", l_avg_pool2d},
      {"adaptive_max_pool2d", l_adaptive_max_pool2d},
      {"adaptive_avg_pool2d", l_adaptive_avg_pool2d},
      {"global_max_pool2d", l_global_max_pool2d},
      {"global_avg_pool2d", l_global_avg_pool2d},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
}
