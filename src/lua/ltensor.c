/* The tensor userdata: metatable, lifetime, properties, views and conversion. */
#include <string.h>

#include "lutil.h"

int dnnL_index_get(lua_State *L); /* lindex.c: t[i], t[{...}], t[mask] */
int dnnL_index_set(lua_State *L);

/* __gc and __close share one release; a closed tensor stays closed. */
static int t_release(lua_State *L) {
  dnnL_tensor *u = luaL_checkudata(L, 1, DNN_TENSOR_MT);
  if (u->t) {
    dnn_tensor_release(u->t);
    u->t = NULL;
  }
  return 0;
}

static int t_len(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (t->ndim == 0) return luaL_error(L, "#: a 0-d tensor has no length (use :item())");
  lua_pushinteger(L, t->shape[0]);
  return 1;
}

static void push_dtype(lua_State *L, const dnn_tensor *t) { lua_pushstring(L, dnn_dtype_name((dnn_dtype)t->dtype)); }

/* Properties readable as fields: t.shape, t.dtype, t.ndim, t.device, t.T. */
static int push_property(lua_State *L, dnn_tensor *t, const char *k) {
  if (strcmp(k, "shape") == 0) {
    dnnL_pushsize(L, t->ndim, t->shape);
  } else if (strcmp(k, "dtype") == 0) {
    push_dtype(L, t);
  } else if (strcmp(k, "ndim") == 0) {
    lua_pushinteger(L, t->ndim);
  } else if (strcmp(k, "device") == 0) {
    char buf[16];
    lua_pushstring(L, dnn_device_str(dnn_tensor_device(t), buf));
  } else if (strcmp(k, "T") == 0) {
    int perm[DNN_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) perm[i] = t->ndim - 1 - i;
    dnnL_push(L, dnn_ag_permute(t, perm));
  } else if (strcmp(k, "is_closed") == 0) {
    lua_pushboolean(L, 0);
  } else {
    return dnnL_autograd_field(L, t, k);
  }
  return 1;
}

static int t_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    dnn_tensor *t = dnnL_checktensor(L, 1);
    if (push_property(L, t, lua_tostring(L, 2))) return 1;
    lua_pushnil(L);
    return 1;
  }
  return dnnL_index_get(L);
}

static int t_newindex(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    if (dnnL_autograd_setfield(L, dnnL_checktensor(L, 1), lua_tostring(L, 2))) return 0;
    return luaL_error(L, "tensor field '%s' cannot be set", lua_tostring(L, 2));
  }
  return dnnL_index_set(L);
}

/* ---- queries ---- */

static int t_size(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (lua_isnoneornil(L, 2)) {
    dnnL_pushsize(L, t->ndim, t->shape);
    return 1;
  }
  int d = dnn_wrap_dim("size", dnnL_checkdim(L, 2, "size"), t->ndim);
  if (d < 0 || t->ndim == 0) {
    if (d >= 0) dnn_error(DNN_ERR_INDEX, "size: a 0-d tensor has no dims");
    return dnnL_error(L);
  }
  lua_pushinteger(L, t->shape[d]);
  return 1;
}

static int t_stride(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (lua_isnoneornil(L, 2)) {
    dnnL_pushsize(L, t->ndim, t->strides);
    return 1;
  }
  int d = dnn_wrap_dim("stride", dnnL_checkdim(L, 2, "stride"), t->ndim);
  if (d < 0 || t->ndim == 0) {
    if (d >= 0) dnn_error(DNN_ERR_INDEX, "stride: a 0-d tensor has no dims");
    return dnnL_error(L);
  }
  lua_pushinteger(L, t->strides[d]);
  return 1;
}

static int t_dim(lua_State *L) {
  lua_pushinteger(L, dnnL_checktensor(L, 1)->ndim);
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, dnn_numel(dnnL_checktensor(L, 1)));
  return 1;
}

static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, dnn_is_contiguous(dnnL_checktensor(L, 1)));
  return 1;
}

static int t_storage_offset(lua_State *L) {
  lua_pushinteger(L, dnnL_checktensor(L, 1)->offset);
  return 1;
}

static int t_dtype(lua_State *L) {
  push_dtype(L, dnnL_checktensor(L, 1));
  return 1;
}

static int t_is_floating_point(lua_State *L) {
  lua_pushboolean(L, dnn_dtype_is_float((dnn_dtype)dnnL_checktensor(L, 1)->dtype));
  return 1;
}

/* Pushes element at flat position i as a Lua value of the natural type. */
void dnnL_push_element(lua_State *L, const dnn_tensor *t, const int64_t *index) {
  switch ((dnn_dtype)t->dtype) {
    case DNN_FLOAT32:
    case DNN_FLOAT64:
    case DNN_FLOAT16:
    case DNN_BFLOAT16: lua_pushnumber(L, dnn_get_at(t, index)); break;
    case DNN_BOOL: lua_pushboolean(L, dnn_get_at(t, index) != 0); break;
    default: lua_pushinteger(L, dnn_get_at_int(t, index)); break;
  }
}

static dnn_tensor *host_tensor(lua_State *L, dnn_tensor *t, const char *fname) {
  if (dnn_tensor_device(t).type != DNN_DEVICE_CPU)
    luaL_error(L, "%s: tensor is on %s; move it with :cpu() first", fname, "a GPU");
  return t;
}

static int t_item(lua_State *L) {
  dnn_tensor *t = host_tensor(L, dnnL_checktensor(L, 1), "item");
  if (dnn_numel(t) != 1) {
    char buf[200];
    return luaL_error(L, "item: tensor of shape %s has %d elements, item() needs exactly one",
                      DNN_SHAPE_STR(t, buf), (int)dnn_numel(t));
  }
  int64_t idx[DNN_MAX_DIMS] = {0};
  dnnL_push_element(L, t, idx);
  return 1;
}

static void totable_rec(lua_State *L, const dnn_tensor *t, int d, int64_t *idx) {
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    idx[d] = i;
    if (d == t->ndim - 1)
      dnnL_push_element(L, t, idx);
    else
      totable_rec(L, t, d + 1, idx);
    lua_rawseti(L, -2, i + 1);
  }
}

static int t_totable(lua_State *L) {
  dnn_tensor *t = host_tensor(L, dnnL_checktensor(L, 1), "totable");
  int64_t idx[DNN_MAX_DIMS] = {0};
  if (t->ndim == 0) {
    dnnL_push_element(L, t, idx);
    return 1;
  }
  luaL_checkstack(L, t->ndim + 4, "totable: tensor has too many dims");
  totable_rec(L, t, 0, idx);
  return 1;
}

static int t_close(lua_State *L) {
  luaL_checkudata(L, 1, DNN_TENSOR_MT);
  return t_release(L);
}

/* ---- views ---- */

static int t_view_as(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1), *other = dnnL_checktensor(L, 2);
  return dnnL_push(L, dnn_ag_view(t, other->ndim, other->shape));
}

/* view/reshape accept -1 for one size; the shape helper rejects negatives, so
 * parse those here. */
static int parse_shape_allow_infer(lua_State *L, int idx, int64_t *shape, const char *fname) {
  int n = 0, top = lua_gettop(L);
  if (lua_type(L, idx) == LUA_TTABLE && !dnnL_totensor(L, idx)) {
    int len = (int)lua_rawlen(L, idx);
    if (len > DNN_MAX_DIMS) return luaL_error(L, "%s: at most %d dims are supported", fname, DNN_MAX_DIMS);
    for (int i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      if (!lua_isinteger(L, -1)) return luaL_error(L, "%s: size %d must be an integer, got %s", fname, i, luaL_typename(L, -1));
      shape[n++] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    return n;
  }
  for (; idx <= top; idx++) {
    if (lua_type(L, idx) == LUA_TTABLE) break; /* trailing options */
    if (!lua_isinteger(L, idx)) return luaL_error(L, "%s: size %d must be an integer, got %s", fname, n + 1, luaL_typename(L, idx));
    if (n >= DNN_MAX_DIMS) return luaL_error(L, "%s: at most %d dims are supported", fname, DNN_MAX_DIMS);
    shape[n++] = lua_tointeger(L, idx);
  }
  return n;
}

static int t_view_infer(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *other = dnnL_totensor(L, 2);
  if (other) return dnnL_push(L, dnn_ag_view(t, other->ndim, other->shape));
  int64_t shape[DNN_MAX_DIMS];
  int n = parse_shape_allow_infer(L, 2, shape, "view");
  return dnnL_push(L, dnn_ag_view(t, n, shape));
}

static int t_reshape(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *other = dnnL_totensor(L, 2);
  if (other) return dnnL_push(L, dnn_ag_reshape(t, other->ndim, other->shape));
  int64_t shape[DNN_MAX_DIMS];
  int n = parse_shape_allow_infer(L, 2, shape, "reshape");
  return dnnL_push(L, dnn_ag_reshape(t, n, shape));
}

static int t_flatten(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int start = dnn_wrap_dim("flatten", dnnL_optdim(L, 2, 0, "flatten"), t->ndim);
  int end = dnn_wrap_dim("flatten", dnnL_optdim(L, 3, -1, "flatten"), t->ndim);
  if (start < 0 || end < 0) return dnnL_error(L);
  if (t->ndim == 0) {
    int64_t one = 1;
    return dnnL_push(L, dnn_ag_reshape(t, 1, &one));
  }
  if (start > end) return luaL_error(L, "flatten: start dim %d comes after end dim %d", start + 1, end + 1);
  int64_t shape[DNN_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < start; i++) shape[n++] = t->shape[i];
  int64_t m = 1;
  for (int i = start; i <= end; i++) m *= t->shape[i];
  shape[n++] = m;
  for (int i = end + 1; i < t->ndim; i++) shape[n++] = t->shape[i];
  return dnnL_push(L, dnn_ag_reshape(t, n, shape));
}

static int t_permute(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int perm[DNN_MAX_DIMS], n = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    n = (int)lua_rawlen(L, 2);
    if (n != t->ndim) goto bad;
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, 2, i + 1);
      perm[i] = dnnL_checkdim(L, -1, "permute");
      lua_pop(L, 1);
    }
  } else {
    n = lua_gettop(L) - 1;
    if (n != t->ndim) goto bad;
    for (int i = 0; i < n; i++) perm[i] = dnnL_checkdim(L, i + 2, "permute");
  }
  return dnnL_push(L, dnn_ag_permute(t, perm));
bad : {
  char buf[200];
  return luaL_error(L, "permute: %d dims given for a tensor of shape %s (%d dims)", n, DNN_SHAPE_STR(t, buf), t->ndim);
}
}

static int t_transpose(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (lua_isnoneornil(L, 2)) { /* t:transpose() / t:t() on a matrix */
    if (t->ndim > 2) {
      char buf[200];
      return luaL_error(L, "t: expects a tensor with <= 2 dims, got shape %s; give the two dims to transpose",
                        DNN_SHAPE_STR(t, buf));
    }
    return dnnL_push(L, t->ndim < 2 ? dnn_ag_reshape(t, t->ndim, t->shape) : dnn_ag_transpose(t, 0, 1));
  }
  int a = dnnL_checkdim(L, 2, "transpose"), b = dnnL_checkdim(L, 3, "transpose");
  return dnnL_push(L, dnn_ag_transpose(t, a, b));
}

static int t_narrow(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int d = dnnL_checkdim(L, 2, "narrow");
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  int dd = dnn_wrap_dim("narrow", d, t->ndim);
  if (dd < 0) return dnnL_error(L);
  if (t->ndim == 0) return luaL_error(L, "narrow: cannot narrow a 0-d tensor");
  if (start < 0) start += t->shape[dd] + 1;
  if (start < 1) return luaL_error(L, "narrow: start %d is out of range for dim %d of size %d (positions are 1-based)",
                                   (int)luaL_checkinteger(L, 3), dd + 1, (int)t->shape[dd]);
  if (len < 0) return luaL_error(L, "narrow: negative length %d", (int)len);
  return dnnL_push(L, dnn_ag_slice(t, d, start - 1, start - 1 + len, 1));
}

static int t_select(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int d = dnnL_checkdim(L, 2, "select");
  lua_Integer i = luaL_checkinteger(L, 3);
  if (i == 0) return luaL_error(L, "select: index 0 is not valid: positions are 1-based (-1 is the last)");
  return dnnL_push(L, dnn_ag_select(t, d, i > 0 ? i - 1 : i));
}

static int t_squeeze(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int d = lua_isnoneornil(L, 2) ? DNN_ALL_DIMS : dnnL_checkdim(L, 2, "squeeze");
  return dnnL_push(L, dnn_ag_squeeze(t, d));
}

static int t_unsqueeze(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  return dnnL_push(L, dnn_ag_unsqueeze(t, dnnL_checkdim(L, 2, "unsqueeze")));
}

static int t_expand(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *other = dnnL_totensor(L, 2);
  if (other) return dnnL_push(L, dnn_ag_expand(t, other->ndim, other->shape));
  int64_t shape[DNN_MAX_DIMS];
  int n = parse_shape_allow_infer(L, 2, shape, "expand");
  return dnnL_push(L, dnn_ag_expand(t, n, shape));
}

static int t_contiguous(lua_State *L) { return dnnL_push(L, dnn_ag_contiguous(dnnL_checktensor(L, 1))); }
static int t_clone(lua_State *L) { return dnnL_push(L, dnn_ag_clone(dnnL_checktensor(L, 1))); }

static int t_flip(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  int dims[DNN_MAX_DIMS], n = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    int len = (int)lua_rawlen(L, 2);
    if (len > DNN_MAX_DIMS) return luaL_error(L, "flip: too many dims");
    for (int i = 1; i <= len; i++) {
      lua_rawgeti(L, 2, i);
      dims[n++] = dnnL_checkdim(L, -1, "flip");
      lua_pop(L, 1);
    }
  } else {
    int top = lua_gettop(L);
    if (top < 2) return luaL_error(L, "flip: give the dims to flip, e.g. t:flip(1) or t:flip{1, 2}");
    for (int i = 2; i <= top && n < DNN_MAX_DIMS; i++) dims[n++] = dnnL_checkdim(L, i, "flip");
  }
  return dnnL_push(L, dnn_ag_flip(t, n, dims));
}

/* ---- conversion ---- */

static int convert(lua_State *L, dnn_dtype dt) { return dnnL_push(L, dnn_ag_to_dtype(dnnL_checktensor(L, 1), dt)); }
static int t_float(lua_State *L) { return convert(L, DNN_FLOAT32); }
static int t_double(lua_State *L) { return convert(L, DNN_FLOAT64); }
static int t_int(lua_State *L) { return convert(L, DNN_INT32); }
static int t_long(lua_State *L) { return convert(L, DNN_INT64); }
static int t_byte(lua_State *L) { return convert(L, DNN_UINT8); }
static int t_bool(lua_State *L) { return convert(L, DNN_BOOL); }
static int t_half(lua_State *L) { return convert(L, DNN_FLOAT16); }
static int t_bfloat16(lua_State *L) { return convert(L, DNN_BFLOAT16); }

/* t:to("float64"), t:to{dtype="int64"}, t:to(other_tensor), t:to("cpu") */
static int t_to(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *other = dnnL_totensor(L, 2);
  if (other) return convert(L, (dnn_dtype)other->dtype);
  if (lua_type(L, 2) == LUA_TTABLE) {
    dnn_dtype dt = dnnL_optdtype_field(L, 2, (dnn_dtype)t->dtype);
    lua_getfield(L, 2, "device");
    const char *dev = lua_tostring(L, -1);
    if (dev && strcmp(dev, "cpu") != 0) return luaL_error(L, "to: device '%s' is not available in this build", dev);
    lua_pop(L, 1);
    return convert(L, dt);
  }
  const char *name = luaL_checkstring(L, 2);
  if (strcmp(name, "cpu") == 0) return dnnL_push(L, dnn_alias(t));
  if (strncmp(name, "cuda", 4) == 0) return luaL_error(L, "to: device '%s' is not available in this build", name);
  return convert(L, dnnL_checkdtype(L, 2));
}

/* t:type() -> "dnn.FloatTensor"-style name; t:type("float64") converts. */
static int t_type(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (!lua_isnoneornil(L, 2)) return convert(L, dnnL_checkdtype(L, 2));
  static const char *const names[] = {"dnn.FloatTensor", "dnn.DoubleTensor", "dnn.IntTensor",
                                      "dnn.LongTensor",  "dnn.ByteTensor",   "dnn.BoolTensor",
                                      "dnn.HalfTensor",  "dnn.BFloat16Tensor"};
  _Static_assert(sizeof names / sizeof names[0] == DNN_DTYPE_COUNT, "one name per dtype");
  lua_pushstring(L, names[t->dtype]);
  return 1;
}

/* ---- in-place fills and copies ---- */

static int t_fill_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (lua_isboolean(L, 2)) {
    dnnL_check(L, dnn_fill_(t, lua_toboolean(L, 2)));
  } else if (lua_isinteger(L, 2)) {
    dnnL_check(L, dnn_fill_int_(t, lua_tointeger(L, 2)));
  } else {
    dnn_tensor *v = dnnL_totensor(L, 2);
    if (v) {
      if (dnn_numel(v) != 1) return luaL_error(L, "fill_: value tensor must have one element");
      dnnL_check(L, dnn_copy_(t, v));
    } else {
      dnnL_check(L, dnn_fill_(t, luaL_checknumber(L, 2)));
    }
  }
  lua_settop(L, 1);
  return 1;
}

static int t_zero_(lua_State *L) {
  dnnL_check(L, dnn_fill_(dnnL_checktensor(L, 1), 0));
  lua_settop(L, 1);
  return 1;
}

static int t_copy_(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_check(L, dnn_copy_(t, dnnL_checktensor(L, 2)));
  lua_settop(L, 1);
  return 1;
}

static int size_tostring(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '[');
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (i > 1) luaL_addstring(&b, ", ");
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, ']');
  luaL_pushresult(&b);
  return 1;
}

/* Sizes compare by value: t:size() == {2, 3} is false (a plain table), but
 * a:size() == b:size() is true when the shapes agree. */
static int size_eq(lua_State *L) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  if (n != (lua_Integer)lua_rawlen(L, 2)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, 2, i);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!eq) {
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

void dnnL_open_tensor(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"size", t_size},
      {"stride", t_stride},
      {"dim", t_dim},
      {"ndimension", t_dim},
      {"numel", t_numel},
      {"nelement", t_numel},
      {"is_contiguous", t_is_contiguous},
      {"storage_offset", t_storage_offset},
      {"get_dtype", t_dtype},
      {"is_floating_point", t_is_floating_point},
      {"item", t_item},
      {"totable", t_totable},
      {"close", t_close},
      {"view", t_view_infer},
      {"view_as", t_view_as},
      {"reshape", t_reshape},
      {"reshape_as", t_reshape},
      {"flatten", t_flatten},
      {"permute", t_permute},
      {"transpose", t_transpose},
      {"t", t_transpose},
      {"narrow", t_narrow},
      {"select", t_select},
      {"squeeze", t_squeeze},
      {"unsqueeze", t_unsqueeze},
      {"expand", t_expand},
      {"expand_as", t_expand},
      {"contiguous", t_contiguous},
      {"clone", t_clone},
      {"flip", t_flip},
      {"float", t_float},
      {"double", t_double},
      {"half", t_half},
      {"float16", t_half},
      {"bfloat16", t_bfloat16},
      {"int", t_int},
      {"long", t_long},
      {"byte", t_byte},
      {"bool", t_bool},
      {"to", t_to},
      {"type", t_type},
      {"fill_", t_fill_},
      {"zero_", t_zero_},
      {"copy_", t_copy_},
      {NULL, NULL},
  };
  dnnL_add_methods(L, methods);

  luaL_newmetatable(L, DNN_TENSOR_MT);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &dnnL_tensor_mt_key);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_methods_key);
  lua_pushcclosure(L, t_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, t_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, t_release);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, t_release);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, t_len);
  lua_setfield(L, -2, "__len");
  lua_pop(L, 1);

  luaL_newmetatable(L, "dnn.Size");
  lua_pushcfunction(L, size_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, size_eq);
  lua_setfield(L, -2, "__eq");
  lua_pop(L, 1);
}
