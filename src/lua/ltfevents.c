/* Lua bindings of the TensorBoard event writer (src/io/tfevents.h), in a
 * table of their own: core.tfevents (dnn.tfevents once init.lua copies the
 * core).  lua/dnn/train/logger.lua and lua/dnn/callbacks/TensorBoard.lua
 * build on them.
 *
 *   tfevents.create(logdir [, suffix [, wall_time]]) -> writer (new file)
 *   tfevents.append(path, size)      -> writer continuing a file cut to size
 *   w:scalar(tag, value, step [, wall_time])   one Event with one scalar
 *   w:flush([sync])  w:size()  w:path()  w:close()   (__gc/__close close too)
 *   tfevents.now()                   wall-clock seconds (sub-second)
 *   tfevents.crc32c(s) / tfevents.mask(crc)    the checksum (unmasked) and mask
 *   tfevents.encode_scalar(tag, value, step, wall_time) -> the Event's bytes
 *   tfevents.listdir(dir)            sorted entry names, or nil and a message
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/tfevents.h"
#include "lutil.h"

#define WRITER_MT "dnn.TFEventsWriter"

typedef struct {
  dnn_tfevents *w; /* NULL once closed */
} writer;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static dnn_tfevents *checkopen(lua_State *L) {
  writer *u = luaL_checkudata(L, 1, WRITER_MT);
  if (!u->w) luaL_error(L, "tfevents: the event file is closed");
  return u->w;
}

/* A string argument without NUL bytes (the engine takes C strings). */
static const char *checkcstr(lua_State *L, int idx, const char *what) {
  size_t n;
  const char *s = luaL_checklstring(L, idx, &n);
  if (strlen(s) != n) luaL_error(L, "tfevents: %s must not contain NUL bytes", what);
  return s;
}

static int push_writer(lua_State *L, dnn_tfevents *w) {
  if (!w) return dnnL_error(L);
  writer *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->w = w;
  luaL_setmetatable(L, WRITER_MT);
  return 1;
}

static int l_create(lua_State *L) {
  const char *dir = checkcstr(L, 1, "the log directory");
  const char *suffix = lua_isnoneornil(L, 2) ? "" : checkcstr(L, 2, "the suffix");
  double t = luaL_optnumber(L, 3, now());
  return push_writer(L, dnn_tfevents_create(dir, suffix, t));
}

static int l_append(lua_State *L) {
  const char *path = checkcstr(L, 1, "the path");
  lua_Integer size = luaL_checkinteger(L, 2);
  return push_writer(L, dnn_tfevents_append(path, size));
}

static int w_scalar(lua_State *L) {
  dnn_tfevents *w = checkopen(L);
  const char *tag = checkcstr(L, 2, "the tag");
  double v = luaL_checknumber(L, 3);
  lua_Integer step = luaL_checkinteger(L, 4);
  double t = luaL_optnumber(L, 5, now());
  dnnL_check(L, dnn_tfevents_scalar(w, tag, v, step, t));
  return 0;
}

static int w_flush(lua_State *L) {
  dnn_tfevents *w = checkopen(L);
  dnnL_check(L, dnn_tfevents_flush(w, lua_toboolean(L, 2)));
  return 0;
}

static int w_size(lua_State *L) {
  lua_pushinteger(L, dnn_tfevents_size(checkopen(L)));
  return 1;
}

static int w_path(lua_State *L) {
  lua_pushstring(L, dnn_tfevents_path(checkopen(L)));
  return 1;
}

static int w_close(lua_State *L) {
  writer *u = luaL_checkudata(L, 1, WRITER_MT);
  dnn_tfevents *w = u->w;
  u->w = NULL;
  dnnL_check(L, dnn_tfevents_close(w));
  return 0;
}

static int w_gc(lua_State *L) {
  writer *u = luaL_checkudata(L, 1, WRITER_MT);
  dnn_tfevents_close(u->w); /* nowhere to report an error from the collector */
  u->w = NULL;
  return 0;
}

static int w_tostring(lua_State *L) {
  writer *u = luaL_checkudata(L, 1, WRITER_MT);
  if (u->w)
    lua_pushfstring(L, "TFEventsWriter(%s)", dnn_tfevents_path(u->w));
  else
    lua_pushliteral(L, "TFEventsWriter(closed)");
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, now());
  return 1;
}

static int l_crc32c(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushinteger(L, dnn_crc32c(s, n));
  return 1;
}

static int l_mask(lua_State *L) {
  lua_Integer c = luaL_checkinteger(L, 1);
  if (c < 0 || c > 0xFFFFFFFFll) luaL_error(L, "tfevents.mask: expected a 32-bit CRC");
  lua_pushinteger(L, dnn_crc32c_mask((uint32_t)c));
  return 1;
}

static int l_encode_scalar(lua_State *L) {
  const char *tag = checkcstr(L, 1, "the tag");
  float v = (float)luaL_checknumber(L, 2);
  lua_Integer step = luaL_checkinteger(L, 3);
  double t = luaL_checknumber(L, 4);
  size_t n = dnn_tfevents_encode_scalar(NULL, 0, tag, v, step, t);
  luaL_Buffer b;
  uint8_t *p = (uint8_t *)luaL_buffinitsize(L, &b, n);
  dnn_tfevents_encode_scalar(p, n, tag, v, step, t);
  luaL_pushresultsize(&b, n);
  return 1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entry names (no "." or ".."), sorted; nil and a message when dir cannot
 * be read.  Names are gathered in C first so no Lua error can leak the DIR. */
static int l_listdir(lua_State *L) {
  const char *dir = checkcstr(L, 1, "the directory");
  DIR *d = opendir(dir);
  if (!d) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", dir, strerror(errno));
    return 2;
  }
  size_t n = 0, cap = 16;
  char **names = malloc(cap * sizeof *names);
  struct dirent *e;
  bool oom = names == NULL;
  while (!oom && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n == cap) {
      char **more = realloc(names, 2 * cap * sizeof *names);
      if (!more) {
        oom = true;
        break;
      }
      names = more;
      cap *= 2;
    }
    if (!(names[n] = strdup(e->d_name))) oom = true;
    else n++;
  }
  closedir(d);
  if (!oom) qsort(names, n, sizeof *names, cmp_names);
  if (!oom && !lua_checkstack(L, 4)) oom = true;
  if (!oom) lua_createtable(L, (int)n, 0); /* may raise on memory only */
  for (size_t i = 0; i < n; i++) {
    if (!oom) {
      lua_pushstring(L, names[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(names[i]);
  }
  free(names);
  if (oom) return luaL_error(L, "tfevents.listdir: out of memory");
  return 1;
}

void dnnL_open_tfevents(lua_State *L);
void dnnL_open_tfevents(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"scalar", w_scalar}, {"flush", w_flush}, {"size", w_size},
      {"path", w_path},     {"close", w_close}, {NULL, NULL},
  };
  luaL_newmetatable(L, WRITER_MT);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, w_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, w_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, w_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  static const luaL_Reg fns[] = {
      {"create", l_create},   {"append", l_append},         {"now", l_now},
      {"crc32c", l_crc32c},   {"mask", l_mask},             {"encode_scalar", l_encode_scalar},
      {"listdir", l_listdir}, {NULL, NULL},
  };
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "tfevents");
  lua_pop(L, 1);
}
