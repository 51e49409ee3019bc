/* Process-level knobs: threads, memory statistics, build information. */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lutil.h"

/* ---- Ctrl-C during fit: the first press asks the loop to stop after the
 * current batch; a second press goes to the handler that was there before
 * (dnnlua's raises "interrupted!" in Lua; the default ends the process). ---- */
static volatile sig_atomic_t sigint_count;
static struct sigaction sigint_prev;
static int sigint_depth;

static void on_sigint(int sig) {
  sigint_count++;
  if (sigint_count >= 2) {
    sigaction(SIGINT, &sigint_prev, NULL);
    if (sigint_prev.sa_handler == SIG_DFL || sigint_prev.sa_handler == SIG_IGN) {
      signal(SIGINT, SIG_DFL);
      raise(sig);
    } else if (!(sigint_prev.sa_flags & SA_SIGINFO) && sigint_prev.sa_handler) {
      sigint_prev.sa_handler(sig);
    }
  }
}

/* core.sigint_begin(): starts catching Ctrl-C (nests). */
static int l_sigint_begin(lua_State *L) {
  (void)L;
  if (sigint_depth++ == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigint_count = 0;
    sigaction(SIGINT, &sa, &sigint_prev);
  }
  return 0;
}

/* core.sigint_end(): restores the previous handler. */
static int l_sigint_end(lua_State *L) {
  (void)L;
  if (sigint_depth > 0 && --sigint_depth == 0) {
    struct sigaction cur;
    sigaction(SIGINT, NULL, &cur);
    if (cur.sa_handler == on_sigint) sigaction(SIGINT, &sigint_prev, NULL);
    sigint_count = 0;
  }
  return 0;
}

/* core.sigint_pending() -> number of Ctrl-C presses since sigint_begin. */
static int l_sigint_pending(lua_State *L) {
  lua_pushinteger(L, sigint_count);
  return 1;
}

/* core.isatty(fd=1): whether a file descriptor is a terminal (progress bars). */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
  return 1;
}

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
      {"isatty", l_isatty},
      {"blas_core", l_blas_core},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
  static const luaL_Reg internal[] = {
      {"sigint_begin", l_sigint_begin},
      {"sigint_end", l_sigint_end},
      {"sigint_pending", l_sigint_pending},
      {NULL, NULL},
  };
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, internal); /* dnn.core._sys: for fit's Ctrl-C handling, not user API */
  lua_setfield(L, -2, "_sys");
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
