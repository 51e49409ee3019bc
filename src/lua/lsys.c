/* Process-level knobs: threads, memory statistics, build information. */
#include <time.h>

#include "lutil.h"

/* Seconds from a monotonic clock (for timing; os.clock counts CPU time). */
static int l_monotonic(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

static int l_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1) return luaL_error(L, "set_num_threads: n must be >= 1, got %d", (int)n);
  dnn_set_num_threads((int)n);
  return 0;
}

static int l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, dnn_get_num_threads());
  return 1;
}

/* {live_tensors, live_storages, allocated_bytes, peak_bytes, total_allocations, lua_bytes} */
static int l_memory_stats(lua_State *L) {
  dnn_memory_stats s = dnn_get_memory_stats();
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, s.live_tensors);
  lua_setfield(L, -2, "live_tensors");
  lua_pushinteger(L, s.live_storages);
  lua_setfield(L, -2, "live_storages");
  lua_pushinteger(L, s.allocated_bytes);
  lua_setfield(L, -2, "allocated_bytes");
  lua_pushinteger(L, s.peak_bytes);
  lua_setfield(L, -2, "peak_bytes");
  lua_pushinteger(L, s.total_allocations);
  lua_setfield(L, -2, "total_allocations");
  lua_pushinteger(L, (lua_Integer)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + lua_gc(L, LUA_GCCOUNTB, 0));
  lua_setfield(L, -2, "lua_bytes");
  return 1;
}

const char *dnn_blas_corename(void); /* cpu/blas.c */

/* The OpenBLAS kernels in use ("SkylakeX", "Haswell", ...). */
static int l_blas_core(lua_State *L) {
  lua_pushstring(L, dnn_blas_corename());
  return 1;
}

static int l_is_tensor(lua_State *L) {
  lua_pushboolean(L, dnnL_totensor(L, 1) != NULL);
  return 1;
}

void dnnL_open_sys(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"set_num_threads", l_set_num_threads},
      {"get_num_threads", l_get_num_threads},
      {"memory_stats", l_memory_stats},
      {"is_tensor", l_is_tensor},
      {"monotonic", l_monotonic},
      {"blas_core", l_blas_core},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  lua_pushstring(L, DNN_VERSION);
  lua_setfield(L, -2, "version");
#ifdef DNN_HAVE_CUDA
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  lua_setfield(L, -2, "built_with_cuda");
  lua_pop(L, 1);
}
