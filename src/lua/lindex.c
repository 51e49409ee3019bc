/* Torch7-style indexing from Lua, 1-based:
 *   t[i]            row i (a view), or the number itself for a 1-d tensor
 *   t[{2, 3}]       element (2, 3) as a number when every dim is given
 *   t[{{2, 4}, 3}]  rows 2..4 of column 3 (a view); {} is a whole dim,
 *                   {a} is a..a, {a, b, step}; negatives count from the end
 *   t[mask]         masked_select (bool tensor); t[idx] index_select (int tensor)
 * and the same on the left of `=`, where a number fills and a tensor copies. */
#include <string.h>

#include "lutil.h"

void dnnL_push_element(lua_State *L, const dnn_tensor *t, const int64_t *index);

static int64_t position(lua_State *L, lua_Integer i, int64_t size, int dim, const dnn_tensor *t, bool end_ok) {
  char buf[200];
  if (i == 0)
    luaL_error(L, "index 0 is not valid for dim %d: positions are 1-based (1 is the first, -1 the last)", dim + 1);
  int64_t p = i > 0 ? i - 1 : size + i;
  if (p < 0 || p >= size + (end_ok ? 1 : 0))
    luaL_error(L, "index %d is out of range for dim %d of size %d (shape %s)", (int)i, dim + 1, (int)size,
               DNN_SHAPE_STR(t, buf));
  return p;
}

/* Applies a table index to t; returns a new view.  *all_ints tells whether
 * every dim was picked by an integer (the caller then reads one element).
 * The view in progress lives in a userdata slot so a Lua error cannot leak it. */
static dnn_tensor *table_view(lua_State *L, dnn_tensor *t, int key, bool *all_ints) {
  int n = (int)lua_rawlen(L, key);
  char buf[200];
  if (n > t->ndim)
    luaL_error(L, "index: %d positions given for a tensor of shape %s (%d dims)", n, DNN_SHAPE_STR(t, buf), t->ndim);
  dnnL_push(L, dnn_ag_reshape(t, t->ndim, t->shape));
  dnnL_tensor *slot = lua_touserdata(L, -1);
  int dim = 0, ints = 0;
  for (int k = 1; k <= n; k++) {
    dnn_tensor *cur = slot->t, *next = NULL;
    int ty = lua_rawgeti(L, key, k);
    if (ty == LUA_TNUMBER && lua_isinteger(L, -1)) {
      int64_t p = position(L, lua_tointeger(L, -1), cur->shape[dim], k - 1, t, false);
      next = dnn_ag_select(cur, dim, p);
      ints++;
    } else if (ty == LUA_TTABLE) {
      int len = (int)lua_rawlen(L, -1);
      int64_t size = cur->shape[dim], start = 0, stop = size, step = 1;
      if (len > 3) luaL_error(L, "index: range for dim %d has %d entries; use {first, last[, step]}", k, len);
      if (len >= 1) {
        lua_rawgeti(L, -1, 1);
        if (!lua_isinteger(L, -1)) luaL_error(L, "index: range start for dim %d must be an integer", k);
        start = position(L, lua_tointeger(L, -1), size, k - 1, t, false);
        stop = start + 1;
        lua_pop(L, 1);
      }
      if (len >= 2) {
        lua_rawgeti(L, -1, 2);
        if (!lua_isinteger(L, -1)) luaL_error(L, "index: range end for dim %d must be an integer", k);
        stop = position(L, lua_tointeger(L, -1), size, k - 1, t, false) + 1;
        lua_pop(L, 1);
        if (stop < start) stop = start; /* empty range */
      }
      if (len >= 3) {
        lua_rawgeti(L, -1, 3);
        step = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
        if (step <= 0) luaL_error(L, "index: range step for dim %d must be a positive integer", k);
        lua_pop(L, 1);
      }
      next = dnn_ag_slice(cur, dim, start, stop, step);
      dim++;
    } else {
      luaL_error(L, "index: entry %d must be an integer or a range table {first, last}, got %s", k,
                 luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    if (!next) dnnL_error(L);
    slot->t = next;
    dnn_tensor_release(cur);
  }
  *all_ints = ints == t->ndim && t->ndim > 0;
  dnn_tensor *result = slot->t;
  slot->t = NULL; /* the caller owns it now */
  lua_pop(L, 1);
  return result;
}

/* 1-d tensors read as numbers: no view (and no graph node) is needed. */
static bool element_wanted(const dnn_tensor *t) { return t->ndim == 1; }

/* A view of t selected by an integer or table key at stack index `key`. */
static dnn_tensor *key_view(lua_State *L, dnn_tensor *t, int key, bool *element) {
  *element = false;
  if (lua_isinteger(L, key)) {
    if (t->ndim == 0) luaL_error(L, "index: cannot index a 0-d tensor (use :item())");
    int64_t p = position(L, lua_tointeger(L, key), t->shape[0], 0, t, false);
    *element = t->ndim == 1;
    dnn_tensor *v = element_wanted(t) ? dnn_select(t, 0, p) : dnn_ag_select(t, 0, p);
    if (!v) dnnL_error(L);
    return v;
  }
  if (lua_type(L, key) == LUA_TTABLE) return table_view(L, t, key, element);
  if (lua_type(L, key) == LUA_TNUMBER)
    luaL_error(L, "index: position must be an integer, got %s", lua_tostring(L, key));
  luaL_error(L, "index: cannot index a tensor with a %s", luaL_typename(L, key));
  return NULL;
}

/* Converts 1-based int positions (negatives from the end) to 0-based int64.
 * The result stays on the Lua stack (it is owned there). */
static dnn_tensor *zero_based(lua_State *L, const dnn_tensor *idx, int64_t size) {
  dnn_tensor *i64 = dnn_to_dtype((dnn_tensor *)idx, DNN_INT64);
  if (!i64) dnnL_error(L);
  dnn_tensor *c = dnn_clone(i64);
  dnn_tensor_release(i64);
  dnnL_push(L, c); /* held by Lua until the caller is done: errors cannot leak it */
  int64_t n = dnn_numel(c), *p = dnn_data_ptr(c);
  for (int64_t k = 0; k < n; k++) {
    int64_t v = p[k];
    if (v == 0 || v > size || v < -size)
      luaL_error(L, "index: position %d is out of range for dim 1 of size %d (positions are 1-based)", (int)v, (int)size);
    p[k] = v > 0 ? v - 1 : size + v;
  }
  return c;
}

int dnnL_index_get(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *key = dnnL_totensor(L, 2);
  if (key) {
    if (key->dtype == DNN_BOOL) return dnnL_push(L, dnn_ag_masked_select(t, key));
    if (dnn_dtype_is_float((dnn_dtype)key->dtype))
      return luaL_error(L, "index: an index tensor must be integer or bool, got %s", dnn_dtype_name((dnn_dtype)key->dtype));
    if (t->ndim == 0) return luaL_error(L, "index: cannot index a 0-d tensor");
    dnn_tensor *idx = zero_based(L, key, t->shape[0]);
    return dnnL_push(L, dnn_ag_index_select(t, 0, idx));
  }
  bool element;
  dnn_tensor *v = key_view(L, t, 2, &element);
  if (element) {
    int64_t zero[DNN_MAX_DIMS] = {0};
    if (dnn_tensor_device(v).type != DNN_DEVICE_CPU) { /* t[i][j] of a device tensor: read a host copy */
      dnn_tensor *h = dnnL_copy_to_device(v, DNN_CPU);
      dnn_tensor_release(v);
      if (!h) {
        dnn_error_prefix("index");
        return dnnL_error(L);
      }
      v = h;
    }
    dnnL_push_element(L, v, zero);
    dnn_tensor_release(v);
    return 1;
  }
  return dnnL_push(L, v);
}

/* Writes value (stack index 3) into the view. */
static void assign(lua_State *L, dnn_tensor *view) {
  dnn_status st;
  dnn_tensor *src = dnnL_totensor(L, 3);
  if (src) {
    st = dnn_copy_(view, src);
  } else if (lua_isboolean(L, 3)) {
    st = dnn_fill_(view, lua_toboolean(L, 3));
  } else if (lua_isinteger(L, 3)) {
    st = dnn_fill_int_(view, lua_tointeger(L, 3));
  } else if (lua_type(L, 3) == LUA_TNUMBER) {
    st = dnn_fill_(view, lua_tonumber(L, 3));
  } else {
    dnn_tensor_release(view);
    luaL_error(L, "index assignment: value must be a number, boolean or tensor, got %s", luaL_typename(L, 3));
    return;
  }
  dnn_tensor_release(view);
  if (st != DNN_OK) dnnL_error(L);
}

int dnnL_index_set(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *key = dnnL_totensor(L, 2);
  if (key) {
    if (key->dtype == DNN_BOOL) { /* t[mask] = v: v is one value, or one per selected element */
      dnn_tensor *src = dnnL_totensor(L, 3);
      if (src && dnn_numel(src) != 1) {
        dnn_tensor *count = dnn_reduce(DNN_OP_SUM, key, 0, NULL, false);
        if (!count) dnnL_error(L);
        int64_t zero[1] = {0}, n = 0;
        dnnL_push(L, count); /* released by the GC even if the read raises */
        dnnL_read_element(L, "index assignment", count, zero, &n);
        if (n != dnn_numel(src))
          return luaL_error(L, "index assignment: the mask selects %d elements but the value has %d",
                            (int)n, (int)dnn_numel(src));
        dnn_tensor *r = dnn_masked_scatter(t, key, src);
        if (!r) dnnL_error(L);
        dnn_status st = dnn_copy_(t, r);
        dnn_tensor_release(r);
        dnnL_check(L, st);
        return 0;
      }
      double v;
      if (src) {
        int64_t zero[DNN_MAX_DIMS] = {0};
        v = dnnL_read_element(L, "index assignment", src, zero, NULL);
      } else if (lua_isboolean(L, 3)) {
        v = lua_toboolean(L, 3);
      } else {
        v = luaL_checknumber(L, 3);
      }
      dnnL_check(L, dnn_masked_fill_(t, key, v));
      return 0;
    }
    if (dnn_dtype_is_float((dnn_dtype)key->dtype) || t->ndim == 0)
      return luaL_error(L, "index assignment: an index tensor must be integer or bool and the target at least 1-d");
    dnn_tensor *idx = zero_based(L, key, t->shape[0]);
    int64_t n = dnn_numel(idx), *p = dnn_data_ptr(idx);
    for (int64_t k = 0; k < n; k++) {
      dnn_tensor *row = dnn_select(t, 0, p[k]);
      if (!row) dnnL_error(L);
      assign(L, row);
    }
    return 0;
  }
  bool element;
  dnn_tensor *v = key_view(L, t, 2, &element);
  assign(L, v);
  return 0;
}

void dnnL_open_index(lua_State *L) { (void)L; }
