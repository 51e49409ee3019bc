/* dnn.core._dist: the C half of dnn.distributed (lua/dnn/distributed/).
 * Thin: argument checks and conversions; the collectives are in src/dist/.
 * Ranks are 0-based ids here as in MPI; lists of tensors are Lua arrays. */
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "lutil.h"

void dnnL_open_dist(lua_State *L);

/* The tensors of the array at idx, in a userdata the GC owns (no leak when a
 * later check raises). */
static dnn_tensor **check_list(lua_State *L, int idx, int *n, const char *fname) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer len = luaL_len(L, idx);
  if (len > 1 << 20) luaL_error(L, "%s: too many tensors (%d)", fname, (int)len);
  dnn_tensor **ts = lua_newuserdatauv(L, sizeof(dnn_tensor *) * (size_t)(len ? len : 1), 0);
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, idx, i);
    ts[i - 1] = dnnL_totensor(L, -1);
    if (!ts[i - 1])
      luaL_error(L, "%s: entry %d of the list is a %s, not a tensor", fname, (int)i, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  *n = (int)len;
  return ts;
}

static int l_init(lua_State *L) {
  dnnL_check(L, dnn_dist_init());
  return 0;
}

static int l_bool(lua_State *L, bool v) {
  lua_pushboolean(L, v);
  return 1;
}
static int l_initialized(lua_State *L) { return l_bool(L, dnn_dist_initialized()); }
static int l_launched(lua_State *L) { return l_bool(L, dnn_dist_launched()); }
static int l_mpi_compiled(lua_State *L) { return l_bool(L, dnn_dist_mpi_compiled()); }
static int l_nccl_compiled(lua_State *L) { return l_bool(L, dnn_dist_nccl_compiled()); }
static int l_broken(lua_State *L) { return l_bool(L, dnn_dist_broken()); }

static int l_int(lua_State *L, int v) {
  lua_pushinteger(L, v);
  return 1;
}
static int l_rank(lua_State *L) { return l_int(L, dnn_dist_rank()); }
static int l_size(lua_State *L) { return l_int(L, dnn_dist_size()); }
static int l_local_rank(lua_State *L) { return l_int(L, dnn_dist_local_rank()); }
static int l_local_size(lua_State *L) { return l_int(L, dnn_dist_local_size()); }

static int l_backend(lua_State *L) {
  lua_pushstring(L, dnn_dist_backend());
  return 1;
}

static int l_processor_name(lua_State *L) {
  lua_pushstring(L, dnn_dist_processor_name());
  return 1;
}

static int l_set_timeout(lua_State *L) {
  dnn_dist_set_timeout((double)luaL_checknumber(L, 1));
  return 0;
}

static int l_timeout(lua_State *L) {
  lua_pushnumber(L, dnn_dist_timeout());
  return 1;
}

static int l_barrier(lua_State *L) {
  dnnL_check(L, dnn_dist_barrier());
  return 0;
}

/* allreduce(list, {op=, prescale=, divide_by=, bucket_bytes=, inplace=, check=true, signature=,
 * reuse=}) -> a list of new tensors (reuse: the inputs themselves where contiguous), or nothing
 * when inplace. */
static int l_allreduce(lua_State *L) {
  int n;
  lua_settop(L, 2);
  dnn_tensor **ts = check_list(L, 1, &n, "allreduce");
  int opts = lua_istable(L, 2) ? 2 : 0;
  dnn_dist_reduce_opts o = {.op = DNN_DIST_SUM};
  if (dnnL_getopt(L, opts, "op") != LUA_TNIL) {
    const char *name = luaL_checkstring(L, -1);
    int op = dnn_dist_op_from_name(name);
    if (op < 0)
      return luaL_error(L, "allreduce: unknown op '%s' (ops: sum, average, min, max, prod)", name);
    o.op = (dnn_dist_op)op;
  }
  lua_pop(L, 1);
  o.prescale = dnnL_optnumber_field(L, opts, "prescale", 1.0);
  o.divide_by = dnnL_optnumber_field(L, opts, "divide_by", 1.0);
  lua_Integer bb = dnnL_optinteger_field(L, opts, "bucket_bytes", 0);
  if (bb < 0) return luaL_error(L, "allreduce: bucket_bytes must be >= 0");
  o.bucket_bytes = (size_t)bb;
  o.no_check = !dnnL_optboolean_field(L, opts, "check", 1);
  o.signature = (uint64_t)dnnL_optinteger_field(L, opts, "signature", 0);
  o.reuse_inputs = dnnL_optboolean_field(L, opts, "reuse", 0);
  lua_Integer fb = dnnL_optinteger_field(L, opts, "first_bucket_bytes", 0);
  if (fb < 0) return luaL_error(L, "allreduce: first_bucket_bytes must be >= 0");
  o.first_bucket_bytes = (size_t)fb;
  if (dnnL_optboolean_field(L, opts, "inplace", 0)) {
    dnnL_check(L, dnn_dist_allreduce(n, ts, NULL, &o));
    return 0;
  }
  dnn_tensor **out = lua_newuserdatauv(L, sizeof(dnn_tensor *) * (size_t)(n ? n : 1), 0);
  dnnL_check(L, dnn_dist_allreduce(n, ts, out, &o));
  lua_createtable(L, n, 1);
  for (int i = 0; i < n; i++) {
    dnnL_push(L, out[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  return 1;
}

/* layout_hash(list) -> an integer hash of the tensors' dtypes and shapes */
static int l_layout_hash(lua_State *L) {
  int n;
  lua_settop(L, 1);
  dnn_tensor **ts = check_list(L, 1, &n, "layout_hash");
  lua_pushinteger(L, (lua_Integer)dnn_dist_layout_hash(n, ts));
  return 1;
}

/* broadcast(list, root, bucket_bytes): in place. */
static int l_broadcast(lua_State *L) {
  lua_Integer root = luaL_optinteger(L, 2, 0);
  lua_Integer bb = luaL_optinteger(L, 3, 0);
  lua_settop(L, 3);
  int n;
  dnn_tensor **ts = check_list(L, 1, &n, "broadcast");
  if (root < 0 || root > 1 << 30) return luaL_error(L, "broadcast: root %d is not a rank", (int)root);
  if (bb < 0) return luaL_error(L, "broadcast: bucket_bytes must be >= 0");
  dnnL_check(L, dnn_dist_broadcast_(n, ts, (int)root, (size_t)bb));
  return 0;
}

static int l_allgather(lua_State *L) {
  return dnnL_push(L, dnn_dist_allgather(dnnL_checktensor(L, 1)));
}

/* allgather_string(s) -> {s_rank0, s_rank1, ...} */
static int l_allgather_string(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int size = dnn_dist_size();
  size_t *lens = lua_newuserdatauv(L, sizeof(size_t) * (size_t)size, 0);
  char *buf = NULL;
  dnnL_check(L, dnn_dist_allgather_bytes(s, len, &buf, lens));
  /* copy into a buffer the GC owns, so no Lua call below holds malloc'd memory
   * (only this one allocation could raise, out of memory, before the free) */
  size_t total = 0;
  for (int r = 0; r < size; r++) total += lens[r];
  char *copy = lua_newuserdatauv(L, total ? total : 1, 0);
  memcpy(copy, buf, total);
  free(buf);
  lua_createtable(L, size, 0);
  size_t off = 0;
  for (int r = 0; r < size; r++) {
    lua_pushlstring(L, copy + off, lens[r]);
    lua_rawseti(L, -2, r + 1);
    off += lens[r];
  }
  return 1;
}

static int l_abort(lua_State *L) {
  dnnL_check(L, dnn_dist_abort((int)luaL_optinteger(L, 1, 1)));
  return 0;
}

static int l_stats(lua_State *L) {
  dnn_dist_stats s = dnn_dist_get_stats();
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)s.collectives);
  lua_setfield(L, -2, "collectives");
  lua_pushinteger(L, (lua_Integer)s.reduce_calls);
  lua_setfield(L, -2, "reduce_calls");
  lua_pushinteger(L, (lua_Integer)s.buckets);
  lua_setfield(L, -2, "buckets");
  lua_pushinteger(L, (lua_Integer)s.bytes);
  lua_setfield(L, -2, "bytes");
  lua_pushinteger(L, (lua_Integer)s.early_buckets);
  lua_setfield(L, -2, "early_buckets");
  lua_pushnumber(L, s.reducer_wait_s);
  lua_setfield(L, -2, "reducer_wait_s");
  return 1;
}

static int l_nccl_selftest(lua_State *L) {
  double got = 0, want = 0;
  dnnL_check(L, dnn_dist_nccl_selftest((int64_t)luaL_optinteger(L, 1, 1 << 20), &got, &want));
  lua_pushnumber(L, got);
  lua_pushnumber(L, want);
  return 2;
}

/* ---- the overlapped reducer (src/dist/dist_overlap.c) ---- */

#define REDUCER "dnn.dist.Reducer"

static dnn_dist_reducer **check_reducer(lua_State *L, int idx) {
  dnn_dist_reducer **r = luaL_checkudata(L, idx, REDUCER);
  if (!*r) luaL_error(L, "reducer: already freed");
  return r;
}

static int reducer_gc(lua_State *L) {
  dnn_dist_reducer **r = luaL_checkudata(L, 1, REDUCER);
  dnn_dist_reducer_free(*r);
  *r = NULL;
  return 0;
}

/* reducer_new(vars, bucket_bytes, first_bucket_bytes) */
static int l_reducer_new(lua_State *L) {
  int n;
  dnn_tensor **ts = check_list(L, 1, &n, "reducer");
  lua_Integer bb = luaL_optinteger(L, 2, 0), fb = luaL_optinteger(L, 3, 0);
  if (bb < 0 || fb < 0) return luaL_error(L, "reducer: bucket sizes must be >= 0");
  dnn_dist_reducer **r = lua_newuserdatauv(L, sizeof *r, 0);
  *r = NULL;
  luaL_setmetatable(L, REDUCER);
  *r = dnn_dist_reducer_new(n, ts, (size_t)bb, (size_t)fb);
  if (!*r) return dnnL_error(L);
  return 1;
}

static int l_reducer_matches(lua_State *L) {
  dnn_dist_reducer **r = check_reducer(L, 1);
  int n;
  dnn_tensor **ts = check_list(L, 2, &n, "reducer");
  lua_pushboolean(L, dnn_dist_reducer_matches(*r, n, ts));
  return 1;
}

/* n booleans of the list at idx, in a userdata the GC owns */
static bool *check_flags(lua_State *L, int idx, int n) {
  luaL_checktype(L, idx, LUA_TTABLE);
  bool *f = lua_newuserdatauv(L, sizeof(bool) * (size_t)(n ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_geti(L, idx, i + 1);
    f[i] = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  return f;
}

/* reducer_start(r, present, local, {op=, prescale=, divide_by=}) */
static int l_reducer_start(lua_State *L) {
  dnn_dist_reducer **r = check_reducer(L, 1);
  int n = dnn_dist_reducer_size(*r);
  lua_settop(L, 4);
  bool *present = check_flags(L, 2, n);
  bool *local = check_flags(L, 3, n);
  int opts = lua_istable(L, 4) ? 4 : 0;
  dnn_dist_reduce_opts o = {.op = DNN_DIST_SUM};
  if (dnnL_getopt(L, opts, "op") != LUA_TNIL) {
    int op = dnn_dist_op_from_name(luaL_checkstring(L, -1));
    if (op != DNN_DIST_SUM && op != DNN_DIST_AVG) return luaL_error(L, "reducer: op must be sum or average");
    o.op = (dnn_dist_op)op;
  }
  lua_pop(L, 1);
  o.prescale = dnnL_optnumber_field(L, opts, "prescale", 1.0);
  o.divide_by = dnnL_optnumber_field(L, opts, "divide_by", 1.0);
  dnnL_check(L, dnn_dist_reducer_start(*r, present, local, &o));
  return 0;
}

/* reducer_ready(r, i (1-based), grad|nil) */
static int l_reducer_ready(lua_State *L) {
  dnn_dist_reducer **r = check_reducer(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  dnn_tensor *gt = lua_isnoneornil(L, 3) ? NULL : dnnL_checktensor(L, 3);
  if (i < 1 || i > dnn_dist_reducer_size(*r)) return luaL_error(L, "reducer: variable %d out of range", (int)i);
  dnnL_check(L, dnn_dist_reducer_ready(*r, (int)i - 1, gt));
  return 0;
}

static int l_reducer_finish(lua_State *L) {
  dnnL_check(L, dnn_dist_reducer_finish(*check_reducer(L, 1)));
  return 0;
}

/* reducer_result(r, i, given|nil) -> the reduced gradient or nil */
static int l_reducer_result(lua_State *L) {
  dnn_dist_reducer **r = check_reducer(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  dnn_tensor *given = lua_isnoneornil(L, 3) ? NULL : dnnL_checktensor(L, 3);
  dnn_tensor *t = dnn_dist_reducer_result(*r, (int)i - 1, given);
  if (!t) {
    lua_pushnil(L);
    return 1;
  }
  dnn_tensor_retain(t);
  return dnnL_push(L, t);
}

static int l_reducer_buckets(lua_State *L) {
  lua_pushinteger(L, dnn_dist_reducer_buckets(*check_reducer(L, 1)));
  return 1;
}

static int l_overlap_threaded(lua_State *L) { return l_bool(L, dnn_dist_overlap_threaded()); }

void dnnL_open_dist(lua_State *L) {
  if (luaL_newmetatable(L, REDUCER)) {
    lua_pushcfunction(L, reducer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
      {"init", l_init},
      {"initialized", l_initialized},
      {"launched", l_launched},
      {"mpi_compiled", l_mpi_compiled},
      {"nccl_compiled", l_nccl_compiled},
      {"broken", l_broken},
      {"rank", l_rank},
      {"size", l_size},
      {"local_rank", l_local_rank},
      {"local_size", l_local_size},
      {"backend", l_backend},
      {"processor_name", l_processor_name},
      {"set_timeout", l_set_timeout},
      {"timeout", l_timeout},
      {"barrier", l_barrier},
      {"allreduce", l_allreduce},
      {"layout_hash", l_layout_hash},
      {"broadcast", l_broadcast},
      {"allgather", l_allgather},
      {"allgather_string", l_allgather_string},
      {"abort", l_abort},
      {"stats", l_stats},
      {"nccl_selftest", l_nccl_selftest},
      {"reducer_new", l_reducer_new},
      {"reducer_matches", l_reducer_matches},
      {"reducer_start", l_reducer_start},
      {"reducer_ready", l_reducer_ready},
      {"reducer_finish", l_reducer_finish},
      {"reducer_result", l_reducer_result},
      {"reducer_buckets", l_reducer_buckets},
      {"overlap_threaded", l_overlap_threaded},
      {NULL, NULL},
  };
  luaL_newlib(L, fns); /* dnn.core._dist: dnn.distributed builds the user API on it */
  lua_setfield(L, -2, "_dist");
}
