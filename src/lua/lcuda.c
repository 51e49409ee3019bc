/* dnn.cuda and the device methods of tensors: t:cuda(), t:cpu(), t:to(device).
 *
 * Moving a tensor is a contiguous copy through the backend table's
 * memcpy_h2d / memcpy_d2h, so this file needs no CUDA header for it; only the
 * registration of the backend and the statistics are build-specific.  In a
 * build without the CUDA backend every CUDA request is a clear Lua error and
 * dnn.cuda.is_available() is false. */
#include <stdlib.h>
#include <string.h>

#include "lutil.h"
#ifdef DNN_HAVE_CUDA
#include "../../cuda/dnn_cuda.cuh"
#endif

#define NO_CUDA_BUILD \
  "this build has no CUDA backend (configure with -DDNN_CUDA=ON where the CUDA toolkit is installed)"

static int cuda_built(void) {
#ifdef DNN_HAVE_CUDA
  return 1;
#else
  return 0;
#endif
}

static int cuda_devices(void) {
#ifdef DNN_HAVE_CUDA
  return dnn_cuda_device_count();
#else
  return 0;
#endif
}

/* "cpu", "cuda", "cuda:N" (or an integer N: cuda:N) at idx; raises otherwise. */
static dnn_device check_device(lua_State *L, int idx, const char *fname) {
  dnn_device d = DNN_CPU;
  if (lua_isinteger(L, idx)) {
    lua_Integer n = lua_tointeger(L, idx);
    if (n < 0 || n > 127) luaL_error(L, "%s: device ordinal %d out of range", fname, (int)n);
    d.type = DNN_DEVICE_CUDA;
    d.index = (int8_t)n;
    return d;
  }
  const char *s = lua_tostring(L, idx);
  if (!s) luaL_error(L, "%s: expected a device (\"cpu\", \"cuda\" or \"cuda:N\"), got %s", fname, luaL_typename(L, idx));
  if (strcmp(s, "cpu") == 0) return d;
  if (strncmp(s, "cuda", 4) == 0 && (s[4] == 0 || s[4] == ':')) {
    d.type = DNN_DEVICE_CUDA;
    if (s[4] == ':') {
      char *end;
      long n = strtol(s + 5, &end, 10);
      if (end == s + 5 || *end || n < 0 || n > 127) luaL_error(L, "%s: bad device name '%s' (use \"cuda:N\")", fname, s);
      d.index = (int8_t)n;
    }
    return d;
  }
  luaL_error(L, "%s: unknown device '%s' (use \"cpu\", \"cuda\" or \"cuda:N\")", fname, s);
  return d;
}

static int is_device_name(const char *s) {
  return strcmp(s, "cpu") == 0 || (strncmp(s, "cuda", 4) == 0 && (s[4] == 0 || s[4] == ':'));
}

/* Raises unless dev can hold tensors in this process. */
static void require_device(lua_State *L, dnn_device dev, const char *fname) {
  if (dev.type == DNN_DEVICE_CPU) return;
  char buf[16];
  if (!cuda_built()) luaL_error(L, "%s: device '%s' is not available: " NO_CUDA_BUILD, fname, dnn_device_str(dev, buf));
#ifdef DNN_HAVE_CUDA
  if (dnn_cuda_check_device(fname, dev) != DNN_OK) dnnL_error(L);
#endif
}

/* A contiguous copy of t on dev (NULL with the engine's error). */
dnn_tensor *dnnL_copy_to_device(dnn_tensor *t, dnn_device dev) {
  dnn_device sdev = dnn_tensor_device(t);
  dnn_tensor *src = dnn_contiguous(t);
  if (!src) return NULL;
  dnn_tensor *out = dnn_empty(src->ndim, src->shape, (dnn_dtype)src->dtype, dev);
  if (!out) {
    dnn_tensor_release(src);
    return NULL;
  }
  size_t n = (size_t)dnn_numel(src) * dnn_dtype_size((dnn_dtype)src->dtype);
  dnn_status st = DNN_OK;
  if (n == 0) {
    /* nothing to move */
  } else if (sdev.type == DNN_DEVICE_CPU) {
    const dnn_backend *b = dnn_backend_get(dev);
    st = b ? b->memcpy_h2d(dnn_data_ptr(out), dnn_data_ptr(src), n, dev)
           : dnn_error(DNN_ERR_DEVICE, "device not available");
  } else if (dev.type == DNN_DEVICE_CPU) {
    const dnn_backend *b = dnn_backend_get(sdev);
    st = b ? b->memcpy_d2h(dnn_data_ptr(out), dnn_data_ptr(src), n, sdev)
           : dnn_error(DNN_ERR_DEVICE, "device not available");
  } else { /* between two GPUs: through the host (rare; peer copies later) */
    void *tmp = malloc(n);
    const dnn_backend *bs = dnn_backend_get(sdev), *bd = dnn_backend_get(dev);
    if (!tmp) st = dnn_error(DNN_ERR_MEMORY, "out of host memory staging %zu bytes", n);
    else if (!bs || !bd) st = dnn_error(DNN_ERR_DEVICE, "device not available");
    else st = bs->memcpy_d2h(tmp, dnn_data_ptr(src), n, sdev);
    if (st == DNN_OK) st = bd->memcpy_h2d(dnn_data_ptr(out), tmp, n, dev);
    free(tmp);
  }
  dnn_tensor_release(src);
  if (st != DNN_OK) {
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

/* Pushes t moved to dev.  Same device: t itself (as PyTorch's .to()).  A leaf that requires grad stays a leaf that
 * requires grad (parameters moved by model:to keep training); a tensor inside
 * an autograd graph is refused, since the move is not recorded on the tape. */
static int push_moved(lua_State *L, dnn_tensor *t, dnn_device dev, const char *fname) {
  if (dnn_device_eq(dnn_tensor_device(t), dev)) {
    lua_pushvalue(L, 1);
    return 1;
  }
  require_device(L, dev, fname);
  if (t->requires_grad && !dnn_is_leaf(t) && dnn_grad_enabled())
    return luaL_error(L,
                      "%s: this tensor is part of an autograd graph and moving it between devices is not recorded "
                      "for backward; move the inputs before computing, or detach it (t:detach():%s())",
                      fname, dev.type == DNN_DEVICE_CPU ? "cpu" : "cuda");
  dnn_tensor *out = dnnL_copy_to_device(t, dev);
  if (!out && dnn_error_code() == DNN_ERR_MEMORY && dev.type != DNN_DEVICE_CPU) {
    /* tensors waiting for the collector may hold the memory: collect, retry once */
    dnn_error_clear();
    lua_gc(L, LUA_GCCOLLECT);
#ifdef DNN_HAVE_CUDA
    dnn_cuda_empty_cache(dev.index);
#endif
    out = dnnL_copy_to_device(t, dev);
  }
  if (!out) {
    dnn_error_prefix(fname);
    return dnnL_error(L);
  }
  if (t->requires_grad && dnn_is_leaf(t) && dnn_set_requires_grad(out, true) != DNN_OK) {
    dnn_tensor_release(out);
    return dnnL_error(L);
  }
  return dnnL_push(L, out);
}

/* Moves t's data to dev in place: the same tensor (every holder of it, a
 * layer, an optimizer, a checkpoint list, sees the move) gets a contiguous
 * storage on dev; its .grad moves too.  Only leaves: parameters, buffers and
 * optimizer slots, between steps.  Views of the old storage keep it. */
static dnn_status move_inplace(dnn_tensor *t, dnn_device dev) {
  if (dnn_device_eq(dnn_tensor_device(t), dev)) return DNN_OK;
  dnn_tensor *moved = dnnL_copy_to_device(t, dev);
  if (!moved) return dnn_error_code();
  if (t->grad) {
    dnn_status st = move_inplace(t->grad, dev);
    if (st != DNN_OK) {
      dnn_tensor_release(moved);
      return st;
    }
  }
  dnn_storage *old = t->storage;
  dnn_storage_retain(moved->storage);
  t->storage = moved->storage;
  t->offset = 0;
  for (int d = 0; d < t->ndim; d++) t->strides[d] = moved->strides[d];
  dnn_storage_release(old);
  dnn_tensor_release(moved);
  return DNN_OK;
}

/* dnn.cuda._move_(t, device) -> t (model:to uses it) */
static int l_move_inplace(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_device dev = check_device(L, 2, "to");
  if (dnn_device_eq(dnn_tensor_device(t), dev)) {
    lua_settop(L, 1);
    return 1;
  }
  require_device(L, dev, "to");
  if (!dnn_is_leaf(t))
    return luaL_error(L, "to: only leaf tensors (parameters, buffers, optimizer slots) move in place");
  if (move_inplace(t, dev) != DNN_OK) {
    dnn_error_prefix("to");
    return dnnL_error(L);
  }
  dnnL_account(L, t->storage->nbytes);
  lua_settop(L, 1);
  return 1;
}

/* t:cuda() / t:cuda("cuda:1") / t:cuda(1) */
static int t_cuda(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_device dev = {DNN_DEVICE_CUDA, 0};
  if (!lua_isnoneornil(L, 2)) {
    dev = check_device(L, 2, "cuda");
    if (dev.type != DNN_DEVICE_CUDA) return luaL_error(L, "cuda: expected a CUDA device, got \"cpu\"");
  }
  return push_moved(L, t, dev, "cuda");
}

static int t_cpu(lua_State *L) { return push_moved(L, dnnL_checktensor(L, 1), DNN_CPU, "cpu"); }

/* t:to(device), t:to(other) (other's device and dtype), t:to{device=, dtype=};
 * a dtype alone goes to the original to (ltensor.c), kept as upvalue 1. */
static int t_to(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnn_tensor *other = dnnL_totensor(L, 2);
  int has_dev = 0;
  dnn_device dev = DNN_CPU;
  int rest = 0; /* stack index of what the original to must still convert, or 0 */
  if (other) {
    has_dev = 1, dev = dnn_tensor_device(other);
    rest = 2;
  } else if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "device");
    if (!lua_isnil(L, -1)) has_dev = 1, dev = check_device(L, -1, "to");
    lua_pop(L, 1);
    lua_getfield(L, 2, "dtype");
    int has_dtype = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (has_dtype) {
      lua_newtable(L); /* only the dtype: the device is handled here */
      lua_getfield(L, 2, "dtype");
      lua_setfield(L, -2, "dtype");
      rest = lua_gettop(L);
    }
  } else if (lua_type(L, 2) == LUA_TSTRING && is_device_name(lua_tostring(L, 2))) {
    has_dev = 1, dev = check_device(L, 2, "to");
  } else if (lua_isinteger(L, 2)) {
    has_dev = 1, dev = check_device(L, 2, "to");
  } else {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
  }
  if (has_dev) push_moved(L, t, dev, "to");
  else lua_pushvalue(L, 1);
  if (!rest) return 1;
  int moved = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, moved);
  lua_pushvalue(L, rest);
  lua_call(L, 2, 1);
  return 1;
}

double dnnL_read_element(lua_State *L, const char *op, dnn_tensor *t, const int64_t *index, int64_t *iv) {
  if (dnn_tensor_device(t).type == DNN_DEVICE_CPU) {
    if (iv) *iv = dnn_get_at_int(t, index);
    return dnn_get_at(t, index);
  }
  int64_t off = t->offset; /* the element as a 0-d view: only it travels */
  for (int d = 0; d < t->ndim; d++) off += index[d] * t->strides[d];
  dnn_tensor *e = dnn_as_strided(t, 0, NULL, NULL, off);
  dnn_tensor *h = e ? dnnL_copy_to_device(e, DNN_CPU) : NULL;
  dnn_tensor_release(e);
  if (!h) {
    dnn_error_prefix(op);
    dnnL_error(L);
  }
  int64_t none[1] = {0};
  double v = dnn_get_at(h, none);
  if (iv) *iv = dnn_get_at_int(h, none);
  dnn_tensor_release(h);
  return v;
}

/* t:item() and t:totable() of a device tensor: read through a host copy
 * (upvalue 1: ltensor.c's method; a CPU tensor goes straight to it). */
static int t_host_read(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  if (dnn_tensor_device(t).type != DNN_DEVICE_CPU) {
    dnn_tensor *h = dnnL_copy_to_device(t, DNN_CPU);
    if (!h) {
      dnn_error_prefix(lua_tostring(L, lua_upvalueindex(2)));
      return dnnL_error(L);
    }
    dnnL_push(L, h);
    lua_replace(L, 1);
  }
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

static void wrap_host_read(lua_State *L, const char *name) {
  lua_getfield(L, -1, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushstring(L, name);
  lua_pushcclosure(L, t_host_read, 2);
  lua_setfield(L, -2, name);
}

/* ---- dnn.cuda ---- */

static int l_is_available(lua_State *L) {
  lua_pushboolean(L, cuda_devices() > 0);
  return 1;
}

static int l_device_count(lua_State *L) {
  lua_pushinteger(L, cuda_devices());
  return 1;
}

/* Optional device argument ("cuda:N", N or nil) as an ordinal. */
static int opt_ordinal(lua_State *L, int idx, const char *fname) {
  if (lua_isnoneornil(L, idx)) return 0;
  dnn_device d = check_device(L, idx, fname);
  if (d.type != DNN_DEVICE_CUDA) luaL_error(L, "%s: expected a CUDA device, got \"cpu\"", fname);
  return d.index;
}

static void require_available(lua_State *L, const char *fname, int ordinal) {
  if (!cuda_built()) luaL_error(L, "%s: " NO_CUDA_BUILD, fname);
  dnn_device d = {DNN_DEVICE_CUDA, (int8_t)ordinal};
  require_device(L, d, fname);
}

static int l_memory_stats(lua_State *L) {
  int dev = opt_ordinal(L, 1, "dnn.cuda.memory_stats");
  require_available(L, "dnn.cuda.memory_stats", dev);
#ifdef DNN_HAVE_CUDA
  dnn_cuda_memory_stats s;
  dnnL_check(L, dnn_cuda_get_memory_stats(dev, &s));
  lua_createtable(L, 0, 18);
#define F(name)                       \
  lua_pushinteger(L, s.name);         \
  lua_setfield(L, -2, #name);
  F(allocated_bytes) F(requested_bytes) F(reserved_bytes) F(cached_bytes) F(peak_allocated_bytes)
  F(peak_reserved_bytes) F(num_allocs) F(num_cache_hits) F(num_device_mallocs) F(num_device_frees) F(num_ooms)
  F(h2d_copies) F(h2d_bytes) F(d2h_copies) F(d2h_bytes) F(device_free_bytes) F(device_total_bytes)
#undef F
  return 1;
#else
  return 0;
#endif
}

static int l_reset_peak(lua_State *L) {
  int dev = opt_ordinal(L, 1, "dnn.cuda.reset_peak_memory_stats");
  require_available(L, "dnn.cuda.reset_peak_memory_stats", dev);
#ifdef DNN_HAVE_CUDA
  dnn_cuda_reset_peak_memory_stats(dev);
#endif
  return 0;
}

/* A no-op without a GPU (as in PyTorch): scripts may call it unconditionally. */
static int l_empty_cache(lua_State *L) {
  (void)L;
#ifdef DNN_HAVE_CUDA
  if (dnn_cuda_device_count() > 0) dnnL_check(L, dnn_cuda_empty_cache(-1));
#endif
  return 0;
}

static int l_synchronize(lua_State *L) {
  int dev = opt_ordinal(L, 1, "dnn.cuda.synchronize");
  require_available(L, "dnn.cuda.synchronize", dev);
#ifdef DNN_HAVE_CUDA
  dnnL_check(L, dnn_cuda_synchronize(lua_isnoneornil(L, 1) ? -1 : dev));
#endif
  return 0;
}

static int l_set_allow_tf32(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
#ifdef DNN_HAVE_CUDA
  dnn_cuda_set_allow_tf32(lua_toboolean(L, 1));
#endif
  return 0;
}

static int l_allow_tf32(lua_State *L) {
#ifdef DNN_HAVE_CUDA
  lua_pushboolean(L, dnn_cuda_get_allow_tf32());
#else
  lua_pushboolean(L, 0);
#endif
  return 1;
}

/* Names of the ops with a CUDA kernel ({} without the backend). */
static int l_kernels(lua_State *L) {
  lua_newtable(L);
#ifdef DNN_HAVE_CUDA
  int n = 0;
  for (int op = 0; op < DNN_OP_COUNT; op++)
    if (dnn_cuda_has_kernel(op)) {
      lua_pushstring(L, dnn_op_name((dnn_op)op));
      lua_rawseti(L, -2, ++n);
    }
#endif
  return 1;
}

/* Self-check of the host copy of the device Philox (no GPU needed). */
static int l_philox_mismatches(lua_State *L) {
#ifdef DNN_HAVE_CUDA
  int dnn_cuda_philox_mismatches(void); /* cuda/random.cu */
  lua_pushinteger(L, dnn_cuda_philox_mismatches());
#else
  lua_pushnil(L);
#endif
  return 1;
}

/* dnn.cuda.cudnn_version() -> e.g. 91900, or nil when the build has no cuDNN */
static int l_cudnn_version(lua_State *L) {
#ifdef DNN_HAVE_CUDA
  int v = dnn_cuda_cudnn_version();
  if (v > 0) {
    lua_pushinteger(L, v);
    return 1;
  }
#endif
  lua_pushnil(L);
  return 1;
}

static int l_parse_device(lua_State *L) {
  dnn_device d = check_device(L, 1, "device");
  char buf[16];
  lua_pushstring(L, dnn_device_str(d, buf));
  return 1;
}

void dnnL_open_cuda(lua_State *L) {
#ifdef DNN_HAVE_CUDA
  dnn_cuda_backend_init();
#endif
  /* the device methods; t:to wraps ltensor.c's to for the dtype part */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_methods_key);
  lua_pushcfunction(L, t_cuda);
  lua_setfield(L, -2, "cuda");
  lua_pushcfunction(L, t_cpu);
  lua_setfield(L, -2, "cpu");
  lua_getfield(L, -1, "to");
  lua_pushcclosure(L, t_to, 1);
  lua_setfield(L, -2, "to");
  wrap_host_read(L, "item");
  wrap_host_read(L, "totable");
  lua_pop(L, 1);

  static const luaL_Reg fns[] = {
      {"is_available", l_is_available},
      {"device_count", l_device_count},
      {"memory_stats", l_memory_stats},
      {"reset_peak_memory_stats", l_reset_peak},
      {"empty_cache", l_empty_cache},
      {"synchronize", l_synchronize},
      {"set_allow_tf32", l_set_allow_tf32},
      {"allow_tf32", l_allow_tf32},
      {"kernels", l_kernels},
      {"cudnn_version", l_cudnn_version},
      {"_philox_mismatches", l_philox_mismatches},
      {"_parse_device", l_parse_device},
      {"_move_", l_move_inplace},
      {NULL, NULL},
  };
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, fns);
  lua_pushboolean(L, cuda_built());
  lua_setfield(L, -2, "built");
  lua_setfield(L, -2, "cuda");
  lua_pop(L, 1);
}
