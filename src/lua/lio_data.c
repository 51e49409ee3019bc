/* Bindings of the data loaders (lua/dnn/io.lua and lua/dnn/data/loaders.lua
 * wrap these with option parsing; arguments here are positional and
 * already checked there, but every one is checked again so that no call
 * from Lua can crash the process):
 *
 *   core.read_csv(path, header, columns|nil, dtype, delimiter, na|nil)
 *       -> tensor (rows, cols), names|nil     columns: names or 1-based indices
 *   core.read_png(path, channels, dtype)     -> uint8 / int32 (H, W, C)
 *   core.write_png(path, t)
 *   core.resize_images(t, h, w, interpolation, crop_to_aspect_ratio) -> float32
 *   core.listdir(op, dir)                    -> names, is_dir, is_link (unsorted)
 *   core.image_pool(nthreads)                -> pool
 *   pool:submit_images(op, paths, channels, h, w, interpolation, crop,
 *                      flip_h, flip_v, seed, counter)   -> job
 *   job:wait() -> float32 (N, H, W, C), seconds waited;  job:done();  job:close()
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/csv.h"
#include "io/image_batch.h"
#include "io/png.h"
#include "io/prefetch.h"
#include "io/resize.h"
#include "lutil.h"

#define POOL_MT "dnn.ImagePool"
#define JOB_MT "dnn.ImageJob"
#define CSVRES_MT "dnn.CsvResult"

static const char *checkpath(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "%s: the path must be a string, got %s", fname, luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

static dnn_dtype checkdtype_name(lua_State *L, int idx, const char *fname) {
  const char *s = luaL_checkstring(L, idx);
  int dt = dnn_dtype_from_name(s);
  if (dt < 0) luaL_error(L, "%s: unknown dtype '%s'", fname, s);
  return (dnn_dtype)dt;
}

/* ---- read_csv ---- */

static int csvres_gc(lua_State *L) {
  dnn_csv_table *t = luaL_checkudata(L, 1, CSVRES_MT);
  dnn_csv_table_free(t);
  return 0;
}

static int l_read_csv(lua_State *L) {
  const char *path = checkpath(L, 1, "read_csv");
  dnn_csv_options o;
  memset(&o, 0, sizeof o);
  o.header = lua_toboolean(L, 2);
  o.dtype = checkdtype_name(L, 4, "read_csv");
  size_t dl = 0;
  const char *delim = luaL_optlstring(L, 5, ",", &dl);
  if (dl != 1) luaL_error(L, "read_csv: the delimiter must be one character, got '%s'", delim);
  o.delimiter = delim[0];
  if (!lua_isnoneornil(L, 6)) {
    o.has_na = true;
    o.na = luaL_checknumber(L, 6);
  }
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
    if (n > 0) {
      /* Lua-owned arrays: an error below frees them with the stack */
      const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names, 0);
      int64_t *idx = lua_newuserdatauv(L, (size_t)n * sizeof *idx, 0);
      int kind = 0; /* 1 names, 2 indices */
      for (lua_Integer i = 1; i <= n; i++) {
        int ty = lua_rawgeti(L, 3, i);
        if (ty == LUA_TSTRING && kind != 2) {
          kind = 1;
          names[i - 1] = lua_tostring(L, -1); /* stays alive: the table holds it */
        } else if (ty == LUA_TNUMBER && lua_isinteger(L, -1) && kind != 1) {
          kind = 2;
          lua_Integer c = lua_tointeger(L, -1);
          if (c < 1) luaL_error(L, "read_csv: columns[%d] = %d: column numbers are 1-based", (int)i, (int)c);
          idx[i - 1] = (int64_t)c - 1;
        } else {
          luaL_error(L, "read_csv: columns must be all names (strings) or all 1-based column "
                        "numbers; columns[%d] is a %s", (int)i, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
      }
      o.nsel = n;
      if (kind == 1) o.sel_names = names;
      else o.sel_index = idx;
    }
  }
  dnn_csv_table *res = lua_newuserdatauv(L, sizeof *res, 0);
  memset(res, 0, sizeof *res);
  luaL_setmetatable(L, CSVRES_MT);
  if (dnn_csv_read(path, &o, res) != DNN_OK) return dnnL_error(L);
  /* from here the result userdata owns everything until its __gc */
  dnn_tensor *t = res->data;
  dnn_tensor_retain(t);
  dnnL_push(L, t);
  if (!res->names) {
    lua_pushnil(L);
    return 2;
  }
  lua_createtable(L, (int)res->ncols, 0);
  for (int64_t i = 0; i < res->ncols; i++) {
    lua_pushstring(L, res->names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 2;
}

/* ---- PNG ---- */

static int l_read_png(lua_State *L) {
  const char *path = checkpath(L, 1, "read_png");
  lua_Integer ch = luaL_optinteger(L, 2, 0);
  if (ch < 0 || ch > 4)
    luaL_error(L, "read_png: channels must be 0 (as stored), 1, 2, 3 or 4, got %d", (int)ch);
  dnn_dtype dt = lua_isnoneornil(L, 3) ? DNN_UINT8 : checkdtype_name(L, 3, "read_png");
  return dnnL_push(L, dnn_png_read(path, (int)ch, dt));
}

static int l_write_png(lua_State *L) {
  const char *path = checkpath(L, 1, "write_png");
  dnn_tensor *t = dnnL_totensor(L, 2);
  if (!t) luaL_error(L, "write_png: argument #2 must be a tensor, got %s", luaL_typename(L, 2));
  dnnL_check(L, dnn_png_write(path, t));
  return 0;
}

/* ---- resize ---- */

static int checkinterp(lua_State *L, int idx, const char *fname) {
  const char *s = luaL_optstring(L, idx, "bilinear");
  int m = dnn_interp_from_name(s);
  if (m < 0) luaL_error(L, "%s: interpolation must be \"bilinear\" or \"nearest\", got \"%s\"", fname, s);
  return m;
}

static int l_resize_images(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  lua_Integer h = luaL_checkinteger(L, 2), w = luaL_checkinteger(L, 3);
  int m = checkinterp(L, 4, "resize");
  return dnnL_push(L, dnn_resize_images(t, (int64_t)h, (int64_t)w, (dnn_interp)m, lua_toboolean(L, 5)));
}

/* ---- directories ---- */

static int l_listdir(lua_State *L) {
  const char *op = luaL_checkstring(L, 1);
  const char *dir = checkpath(L, 2, op);
  struct stat st;
  if (stat(dir, &st) != 0) {
    int e = errno;
    if (e == ENOENT) return luaL_error(L, "%s: %s: no such directory", op, dir);
    return luaL_error(L, "%s: %s: %s", op, dir, strerror(e));
  }
  if (!S_ISDIR(st.st_mode)) return luaL_error(L, "%s: %s: not a directory", op, dir);
  lua_newtable(L); /* names */
  lua_newtable(L); /* is_dir */
  lua_newtable(L); /* is_link */
  DIR *d = opendir(dir);
  if (!d) return luaL_error(L, "%s: %s: cannot list: %s", op, dir, strerror(errno));
  /* the DIR handle is closed before any Lua call that can raise: names are
   * collected in a Lua buffer string first */
  luaL_Buffer b;
  int n = 0;
  struct dirent *e;
  size_t dlen = strlen(dir);
  char *full = malloc(dlen + 2 + 4096);
  if (!full) {
    closedir(d);
    return luaL_error(L, "%s: out of memory", op);
  }
  /* entries: name \0 flags \0 ... kept in a growing malloc'd block */
  size_t cap = 4096, len = 0;
  char *blk = malloc(cap);
  bool oom = !blk;
  while (!oom && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t nl = strlen(e->d_name);
    if (nl > 4000) continue;
    memcpy(full, dir, dlen);
    full[dlen] = '/';
    memcpy(full + dlen + 1, e->d_name, nl + 1);
    struct stat s1, s2;
    bool isdir = stat(full, &s1) == 0 && S_ISDIR(s1.st_mode);
    bool islink = lstat(full, &s2) == 0 && S_ISLNK(s2.st_mode);
    if (len + nl + 3 > cap) {
      while (len + nl + 3 > cap) cap *= 2;
      char *nb = realloc(blk, cap);
      if (!nb) {
        oom = true;
        break;
      }
      blk = nb;
    }
    memcpy(blk + len, e->d_name, nl + 1);
    len += nl + 1;
    blk[len++] = (char)('0' + (isdir ? 1 : 0) + (islink ? 2 : 0));
    n++;
  }
  closedir(d);
  free(full);
  if (oom) {
    free(blk);
    return luaL_error(L, "%s: %s: out of memory listing the directory", op, dir);
  }
  /* move the block into Lua-owned memory, then build the tables */
  luaL_buffinit(L, &b);
  char *dst = luaL_prepbuffsize(&b, len ? len : 1);
  memcpy(dst, blk, len);
  free(blk);
  luaL_addsize(&b, len);
  luaL_pushresult(&b);
  const char *p = lua_tostring(L, -1);
  for (int i = 1; i <= n; i++) {
    size_t nl = strlen(p);
    lua_pushlstring(L, p, nl);
    lua_rawseti(L, -5, i);
    int fl = p[nl + 1] - '0';
    lua_pushboolean(L, fl & 1);
    lua_rawseti(L, -4, i);
    lua_pushboolean(L, fl & 2);
    lua_rawseti(L, -3, i);
    p += nl + 2;
  }
  lua_pop(L, 1);
  return 3;
}

/* ---- the prefetch pool and image jobs ---- */

typedef struct {
  dnn_pool *pool;
} lpool;

typedef struct {
  dnn_job *job;
} ljob;

static int l_image_pool(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > 256) luaL_error(L, "image pool: workers must be 1..256, got %d", (int)n);
  lpool *p = lua_newuserdatauv(L, sizeof *p, 0);
  p->pool = NULL;
  luaL_setmetatable(L, POOL_MT);
  p->pool = dnn_pool_new((int)n);
  if (!p->pool) return dnnL_error(L);
  return 1;
}

static lpool *checkpool(lua_State *L) {
  lpool *p = luaL_checkudata(L, 1, POOL_MT);
  if (!p->pool) luaL_error(L, "image pool: closed");
  return p;
}

static int pool_gc(lua_State *L) {
  lpool *p = luaL_checkudata(L, 1, POOL_MT);
  if (p->pool) dnn_pool_release(p->pool);
  p->pool = NULL;
  return 0;
}

static int pool_threads(lua_State *L) {
  lua_pushinteger(L, dnn_pool_threads(checkpool(L)->pool));
  return 1;
}

static int pool_submit_images(lua_State *L) {
  lpool *p = checkpool(L);
  const char *op = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer ch = luaL_checkinteger(L, 4), h = luaL_checkinteger(L, 5), w = luaL_checkinteger(L, 6);
  int m = checkinterp(L, 7, op);
  bool crop = lua_toboolean(L, 8), fh = lua_toboolean(L, 9), fv = lua_toboolean(L, 10);
  lua_Integer seed = luaL_optinteger(L, 11, 0), counter = luaL_optinteger(L, 12, 0);
  if (ch != 1 && ch != 3 && ch != 4) luaL_error(L, "%s: channels must be 1, 3 or 4, got %d", op, (int)ch);
  if (h < 1 || w < 1 || h > 65536 || w > 65536)
    luaL_error(L, "%s: image_size must be two integers in 1..65536, got %dx%d", op, (int)h, (int)w);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, 3, i) != LUA_TSTRING) luaL_error(L, "%s: paths[%d] is not a string", op, (int)i);
    lua_pop(L, 1);
  }
  /* the op string must outlive the job: keep a copy in the registry-free way,
   * a static name per call site is what callers pass, but copy to be safe */
  ljob *j = lua_newuserdatauv(L, sizeof *j, 1);
  j->job = NULL;
  luaL_setmetatable(L, JOB_MT);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1); /* keeps op alive as long as the job */
  dnn_image_batch *b = dnn_image_batch_new(op, (int64_t)n, (int)ch, (int64_t)h, (int64_t)w);
  if (!b) return dnnL_error(L);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    b->paths[i - 1] = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (!b->paths[i - 1]) {
      dnn_image_batch_free(b);
      return luaL_error(L, "%s: out of memory", op);
    }
  }
  b->interp = (dnn_interp)m;
  b->crop = crop;
  b->flip_h = fh;
  b->flip_v = fv;
  b->seed = (uint64_t)seed;
  b->counter = (uint64_t)counter;
  j->job = dnn_job_submit(p->pool, (int64_t)n, dnn_image_batch_task, b, dnn_image_batch_free);
  if (!j->job) return dnnL_error(L);
  return 1;
}

static ljob *checkjob(lua_State *L) {
  ljob *j = luaL_checkudata(L, 1, JOB_MT);
  if (!j->job) luaL_error(L, "image job: closed");
  return j;
}

static int job_wait(lua_State *L) {
  ljob *j = checkjob(L);
  double waited = 0;
  if (dnn_job_wait(j->job, &waited) != DNN_OK) return dnnL_error(L);
  dnn_image_batch *b = dnn_job_ctx(j->job);
  dnn_tensor_retain(b->out);
  dnnL_push(L, b->out);
  lua_pushnumber(L, waited);
  return 2;
}

static int job_done(lua_State *L) {
  lua_pushboolean(L, dnn_job_done(checkjob(L)->job));
  return 1;
}

static int job_gc(lua_State *L) {
  ljob *j = luaL_checkudata(L, 1, JOB_MT);
  if (j->job) dnn_job_free(j->job);
  j->job = NULL;
  return 0;
}

static void newmeta(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  if (methods) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

void dnnL_open_io_data(lua_State *L) {
  static const luaL_Reg pool_methods[] = {
      {"submit_images", pool_submit_images},
      {"threads", pool_threads},
      {NULL, NULL},
  };
  static const luaL_Reg job_methods[] = {
      {"wait", job_wait},
      {"done", job_done},
      {NULL, NULL},
  };
  newmeta(L, POOL_MT, pool_methods, pool_gc);
  newmeta(L, JOB_MT, job_methods, job_gc);
  newmeta(L, CSVRES_MT, NULL, csvres_gc);
  static const luaL_Reg fns[] = {
      {"read_csv", l_read_csv},
      {"read_png", l_read_png},
      {"write_png", l_write_png},
      {"resize_images", l_resize_images},
      {"listdir", l_listdir},
      {"image_pool", l_image_pool},
      {NULL, NULL},
  };
  dnnL_add_functions(L, fns);
}
