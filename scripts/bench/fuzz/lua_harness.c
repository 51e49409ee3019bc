/* Lua fuzz harness (lua_harness.h): one lua_State for the whole run, the
 * target's calls made from Lua through check.lua, and Lua line coverage fed
 * to libFuzzer.
 *
 * Why Lua coverage: liblua and the Lua half of dnn are not compiled with the
 * fuzzer's instrumentation, so without it libFuzzer would only see which C
 * paths (HDF5 helpers, bindings) an input reaches, and treat two inputs that
 * take different branches of h5.lua or the JSON decoder as the same.  A line
 * hook hashes (previous line, this line) into an extra-counters array that
 * libFuzzer reads like its own edge counters. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_harness.h"

int luaopen_dnn_core(lua_State *L);

#ifndef DNN_LUA_DIR
#error "DNN_LUA_DIR (the lua/ source folder) must be defined"
#endif
#ifndef DNN_FUZZ_DIR
#error "DNN_FUZZ_DIR (scripts/bench/fuzz) must be defined"
#endif

#define NCOUNTERS (1 << 16)
/* libFuzzer (LLVM >= 6) reads every counter in this section after each input. */
__attribute__((section("__libfuzzer_extra_counters"), used)) static uint8_t lua_cov[NCOUNTERS];

static lua_State *L;
static char target_name[64];
static char temp_path[4096];
static uintptr_t prev_loc;

static void line_hook(lua_State *l, lua_Debug *ar) {
  if (!lua_getinfo(l, "S", ar)) return;
  /* the source string lives as long as its function: stable for a run */
  uintptr_t loc = ((uintptr_t)ar->source * 31u) ^ ((uintptr_t)ar->currentline * 0x9E3779B1u);
  uintptr_t edge = (loc ^ (prev_loc >> 1)) % NCOUNTERS;
  if (lua_cov[edge] != 255) lua_cov[edge]++;
  prev_loc = loc;
}

static void fatal(const char *what) {
  fprintf(stderr, "fuzz harness: %s\n", what);
  abort();
}

static const char *dir_of(const char *env, const char *dflt) {
  const char *v = getenv(env);
  return v && *v ? v : dflt;
}

static void remove_temp(void) { unlink(temp_path); }

void dnn_fuzz_lua_init(const char *target) {
  if (L) return;
  snprintf(target_name, sizeof target_name, "%s", target);
  const char *luadir = dir_of("DNN_LUA_DIR", DNN_LUA_DIR);
  const char *fuzzdir = dir_of("DNN_FUZZ_DIR", DNN_FUZZ_DIR);
  /* /dev/shm when there is one: an input per file write, without the disk */
  const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : dir_of("TMPDIR", "/tmp");
  snprintf(temp_path, sizeof temp_path, "%s/dnn-fuzz-%s-%ld", tmp, target, (long)getpid());

  /* The HDF5 check process (src/io/h5_check.h) must give up on a looping
   * file well before libFuzzer's -timeout stops us. */
  setenv("DNN_H5_CHECK_TIMEOUT", "4", 0);
  /* A crash in the check child is a file refused, not a finding of ours: no
   * report, no artifact (inputs it refuses are kept below, for a look). */
  setenv("DNN_H5_CHECK_QUIET", "1", 0);

  L = luaL_newstate();
  if (!L) fatal("cannot create a Lua state");
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s/?.lua;", luadir, luadir, fuzzdir);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_dnn_core);
  lua_setfield(L, -2, "dnn.core");
  lua_pop(L, 2);
  /* check = require "check"; check.target(name) (loads dnn and the target);
   * the suffix the target wants is appended to the temp path */
  lua_getglobal(L, "require");
  lua_pushstring(L, "check");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fatal(lua_tostring(L, -1));
  lua_setglobal(L, "dnn_fuzz_check");
  lua_getglobal(L, "dnn_fuzz_check");
  lua_getfield(L, -1, "target");
  lua_pushstring(L, target);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fatal(lua_tostring(L, -1));
  lua_getfield(L, -1, "suffix");
  if (lua_isstring(L, -1)) {
    size_t n = strlen(temp_path);
    snprintf(temp_path + n, sizeof temp_path - n, "%s", lua_tostring(L, -1));
  }
  lua_settop(L, 0);
  atexit(remove_temp);
}

/* $DNN_FUZZ_REFUSED_DIR/refused-<hash>: an input the HDF5 check process
 * refused (scripts/bench/fuzz/run replays them without the check to see
 * where libhdf5 fails). */
static void keep_refused(const uint8_t *data, size_t size) {
  const char *dir = getenv("DNN_FUZZ_REFUSED_DIR");
  if (!dir || !*dir) return;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
  char path[4096];
  snprintf(path, sizeof path, "%s/refused-%016llx", dir, (unsigned long long)h);
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, size, f);
  fclose(f);
}

int dnn_fuzz_lua_one(const uint8_t *data, size_t size) {
  if (!L) fatal("dnn_fuzz_lua_init was not called");
  lua_getglobal(L, "dnn_fuzz_check");
  lua_getfield(L, -1, "run_bytes");
  lua_pushstring(L, target_name);
  lua_pushlstring(L, (const char *)data, size);
  lua_pushstring(L, temp_path);
  prev_loc = 0;
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  int st = lua_pcall(L, 3, 2, 0);
  lua_sethook(L, NULL, 0, 0);
  if (st != LUA_OK) fatal(lua_tostring(L, -1)); /* check.lua itself failed */
  int n = (int)luaL_len(L, -2);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    fprintf(stderr, "fuzz %s: %s\n", target_name, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (n > 0) abort(); /* a problem is a finding: let the fuzzer keep the input */
  int m = (int)luaL_len(L, -1); /* outcomes: keep inputs the check refused */
  for (int i = 1; i <= m; i++) {
    lua_rawgeti(L, -1, i);
    int refused = lua_getfield(L, -1, "refused") == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 2);
    if (refused) {
      keep_refused(data, size);
      break;
    }
  }
  lua_settop(L, 0);
  return 0;
}
