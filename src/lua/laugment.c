/* Image augmentation from Lua (lua/dnn/data/image_data_generator.lua wraps these):
 *   core.image_transform(x, params, {fill_mode="nearest", cval=0}) -> tensor
 *       x (H, W, C) with params one table, or (N, H, W, C) with a list of N
 *       tables; each table holds Keras's transform parameters (theta, tx, ty,
 *       shear, zx, zy, flip_horizontal, flip_vertical,
 *       channel_shift_intensity, brightness), absent ones the identity.
 *   core.image_transform_matrix(params, h, w) -> {m1..m6}, warps
 *       the sampling map scipy.ndimage.affine_transform would be given
 *       (input row = m1*r + m2*c + m3, input col = m4*r + m5*c + m6, 0-based
 *       pixel coordinates) and whether Keras would warp at all. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu/affine.h"
#include "lutil.h"

static const char *const param_names[] = {"theta", "tx", "ty", "shear", "zx", "zy",
                                          "flip_horizontal", "flip_vertical",
                                          "channel_shift_intensity", "brightness", NULL};

/* Reads one parameter table at idx into *p; `where` names it in errors. */
static void check_params(lua_State *L, int idx, const char *fname, const char *where,
                         dnn_transform_params *p) {
  if (lua_type(L, idx) != LUA_TTABLE || dnnL_totensor(L, idx))
    luaL_error(L, "%s: %s must be a table of transform parameters, got %s", fname, where,
               luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  /* unknown keys are typos (theta vs. rotation): say so */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    bool ok = false;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -1);
      for (int i = 0; param_names[i] && !ok; i++) ok = strcmp(k, param_names[i]) == 0;
    }
    if (!ok) {
      luaL_error(L,
                 "%s: %s has an unknown key '%s' (keys: theta, tx, ty, shear, zx, zy, "
                 "flip_horizontal, flip_vertical, channel_shift_intensity, brightness)",
                 fname, where, luaL_tolstring(L, -1, NULL));
    }
  }
  double *nums[] = {&p->theta, &p->tx, &p->ty, &p->shear, &p->zx, &p->zy};
  const double defs[] = {0, 0, 0, 0, 1, 1};
  for (int i = 0; i < 6; i++) {
    int t = lua_getfield(L, idx, param_names[i]);
    if (t == LUA_TNIL) {
      *nums[i] = defs[i];
    } else if (t == LUA_TNUMBER) {
      *nums[i] = lua_tonumber(L, -1);
      if (!isfinite(*nums[i]))
        luaL_error(L, "%s: %s.%s must be a finite number, got %f", fname, where, param_names[i], *nums[i]);
    } else {
      luaL_error(L, "%s: %s.%s must be a number, got %s", fname, where, param_names[i],
                 luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
  bool *flags[] = {&p->flip_horizontal, &p->flip_vertical};
  for (int i = 0; i < 2; i++) {
    int t = lua_getfield(L, idx, param_names[6 + i]);
    if (t == LUA_TNIL) {
      *flags[i] = false;
    } else if (t == LUA_TBOOLEAN) {
      *flags[i] = lua_toboolean(L, -1);
    } else if (t == LUA_TNUMBER) { /* Keras draws them as 0/1 */
      *flags[i] = lua_tonumber(L, -1) != 0;
    } else {
      luaL_error(L, "%s: %s.%s must be a boolean, got %s", fname, where, param_names[6 + i],
                 luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
  bool *has[] = {&p->has_channel_shift, &p->has_brightness};
  double *vals[] = {&p->channel_shift_intensity, &p->brightness};
  for (int i = 0; i < 2; i++) {
    int t = lua_getfield(L, idx, param_names[8 + i]);
    *has[i] = false;
    *vals[i] = 0;
    if (t == LUA_TNUMBER) {
      *has[i] = true;
      *vals[i] = lua_tonumber(L, -1);
      if (!isfinite(*vals[i]))
        luaL_error(L, "%s: %s.%s must be a finite number, got %f", fname, where, param_names[8 + i], *vals[i]);
    } else if (t != LUA_TNIL) {
      luaL_error(L, "%s: %s.%s must be a number or nil, got %s", fname, where, param_names[8 + i],
                 luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

static int l_image_transform(lua_State *L) {
  const char *fname = "image_transform";
  dnn_tensor *x = dnnL_totensor(L, 1);
  if (!x) luaL_error(L, "%s: argument #1 (images) must be a tensor, got %s", fname, luaL_typename(L, 1));
  int opts = lua_gettop(L) >= 3 ? 3 : 0;
  if (opts && !lua_isnil(L, 3) && lua_type(L, 3) != LUA_TTABLE)
    luaL_error(L, "%s: argument #3 must be an options table, got %s", fname, luaL_typename(L, 3));
  if (opts && lua_isnil(L, 3)) opts = 0;
  dnn_fill_mode mode = DNN_FILL_NEAREST;
  if (dnnL_getopt(L, opts, "fill_mode") != LUA_TNIL) {
    const char *name = lua_tostring(L, -1);
    int m = (lua_type(L, -1) == LUA_TSTRING) ? dnn_fill_mode_from_name(name) : -1;
    if (m < 0)
      luaL_error(L, "%s: fill_mode must be one of \"nearest\", \"constant\", \"reflect\", \"wrap\", got %s",
                 fname, luaL_tolstring(L, -1, NULL));
    mode = (dnn_fill_mode)m;
  }
  lua_pop(L, 1);
  double cval = 0;
  if (dnnL_getopt(L, opts, "cval") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s: cval must be a number, got %s", fname, luaL_typename(L, -1));
    cval = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);

  int64_t n = 1;
  bool list = x->ndim == 4;
  if (list) {
    n = x->shape[0];
    if (lua_type(L, 2) != LUA_TTABLE || dnnL_totensor(L, 2))
      luaL_error(L, "%s: argument #2 must be a list of %I parameter tables (one per image), got %s",
                 fname, (lua_Integer)n, luaL_typename(L, 2));
    lua_Integer len = luaL_len(L, 2);
    if (len != n)
      luaL_error(L, "%s: %I parameter tables for a batch of %I images", fname, (lua_Integer)len,
                 (lua_Integer)n);
  }
  /* GC-owned, so the errors below free it */
  dnn_transform_params *p = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *p, 0);
  if (list) {
    char where[64];
    for (int64_t i = 0; i < n; i++) {
      snprintf(where, sizeof where, "params[%lld]", (long long)(i + 1));
      lua_geti(L, 2, (lua_Integer)(i + 1));
      check_params(L, -1, fname, where, &p[i]);
      lua_pop(L, 1);
    }
  } else {
    check_params(L, 2, fname, "params", &p[0]);
  }
  return dnnL_push(L, dnn_image_transform(x, p, n, mode, cval));
}

static int l_image_transform_matrix(lua_State *L) {
  const char *fname = "image_transform_matrix";
  dnn_transform_params p;
  check_params(L, 1, fname, "params", &p);
  lua_Integer h = luaL_checkinteger(L, 2), w = luaL_checkinteger(L, 3);
  double m[6];
  bool warp = dnn_transform_matrix(&p, h, w, m);
  lua_createtable(L, 6, 0);
  for (int i = 0; i < 6; i++) {
    lua_pushnumber(L, m[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushboolean(L, warp);
  return 2;
}

void dnnL_open_augment(lua_State *L);

void dnnL_open_augment(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"image_transform", l_image_transform},
      {"image_transform_matrix", l_image_transform_matrix},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
}
