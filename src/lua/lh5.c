/* Lua bindings of the h5 area: HDF5 files as userdata over the helper layer
 * (src/io/h5_*.h).  lua/dnn/serialize.lua builds dnn.save / dnn.load on
 * these; the Keras model files can build on them too.
 *
 *   core.h5.create(path [, op])  -> file for writing, atomically: everything
 *       goes to a temporary file beside path; f:commit() renames it over path
 *       (after fsync), f:abort() -- or garbage collection, or leaving a
 *       `local f <close>` scope without commit -- removes it.
 *   core.h5.open(path [, op])    -> file for reading.
 *   `op` names the operation in error messages ("dnn.load: model.h5: ...").
 *
 * Methods (paths are inside the file: "/", "/a/b" or "a/b" from the root):
 *   f:create_group(path)            group tracking creation order
 *   f:link(target, path)            hard link: path names the object at target
 *   f:write_tensor(path, t)         dataset of t's dtype (bool: uint8 + attribute)
 *   f:write_scalar(path, v)         integer -> int64, float -> float64,
 *                                   boolean -> uint8, string -> its exact bytes
 *   f:set_attr(path, name, v [, kind])
 *       v: a string (kind "fixed" = h5py bytes 'S', the default, or "vlen" =
 *       UTF-8 str); an integer (int64) or float (float64); a table of strings
 *       (1-d 'S' array, or vlen) or of numbers (int64 when all are integers,
 *       else float64; kind "int64"/"float64" forces one; {} is float64 like
 *       numpy's np.asarray([]) unless kind says otherwise).
 *   f:get_attr(path, name)          string / number for scalars, a table for
 *                                   arrays; nil when there is no such attribute
 *   f:attrs(path)                   attribute names (sorted)
 *   f:kind(path)                    "group", "dataset", "datatype", "soft link",
 *                                   "external link", "other", or nil; for
 *                                   objects also a key string equal for hard
 *                                   links to one object
 *   f:members(path [, order])       member names; order "creation" | "name" |
 *                                   nil (creation order when tracked)
 *   f:info(path)                    shape table and dtype name of a dataset
 *   f:read_tensor(path)             tensor
 *   f:read_scalar(path)             integer, float or string
 *   f:path(), f:temp_path()         the target path; the temporary file (writers)
 *   f:commit(), f:abort(), f:close() (close == abort for writers; all idempotent)
 *
 *   core.h5.open_objects()       HDF5 objects open in the process (0 when every
 *                                file is closed; for leak checks)
 */
#include <stdlib.h>
#include <string.h>

#include "io/h5_attr.h"
#include "io/h5_dataset.h"
#include "io/h5_file.h"
#include "io/h5_group.h"
#include "lutil.h"

#define H5FILE_MT "dnn.H5File"

typedef struct {
  dnn_h5_writer *w; /* writing: the atomic writer, NULL once committed/aborted */
  dnn_h5_id file;   /* reading: the file id, -1 once closed */
  bool writing;
  char op[48];
  char *path;
} h5file;

static h5file *checkfile(lua_State *L) { return luaL_checkudata(L, 1, H5FILE_MT); }

/* Raises "<op>: <path>: <engine message>" (or without the path when the
 * message is about the file itself and names it already). */
static int h5_raise(lua_State *L, h5file *f, bool with_path) {
  const char *msg = dnn_error_message();
  if (with_path)
    lua_pushfstring(L, "%s: %s: %s", f->op, f->path ? f->path : "?", msg);
  else
    lua_pushfstring(L, "%s: %s", f->op, msg);
  dnn_error_clear();
  return lua_error(L);
}

static dnn_h5_id loc_of(lua_State *L, h5file *f) {
  if (f->writing ? f->w == NULL : f->file < 0)
    luaL_error(L, "%s: %s: the file is closed", f->op, f->path ? f->path : "?");
  return f->writing ? dnn_h5_writer_root(f->w) : f->file;
}

static dnn_h5_id writable_loc(lua_State *L, h5file *f) {
  dnn_h5_id loc = loc_of(L, f);
  if (!f->writing) luaL_error(L, "%s: %s: the file is open for reading only", f->op, f->path);
  return loc;
}

/* A path or name argument: a string without NUL bytes (HDF5 names are C
 * strings).  Such names often come from the file itself (a layer name in
 * layer_names), so the error names the file too. */
static const char *checkname(lua_State *L, h5file *f, int idx, const char *what) {
  size_t len;
  const char *file = f->path ? f->path : "?";
  if (lua_type(L, idx) != LUA_TSTRING) {
    lua_pushfstring(L, "%s: %s must be a string, got %s (file %s)", f->op, what,
                    luaL_typename(L, idx), file);
    lua_error(L);
  }
  const char *s = lua_tolstring(L, idx, &len);
  if (strlen(s) != len || len == 0) {
    lua_pushfstring(L, "%s: %s %s (file %s)", f->op, what,
                    len == 0 ? "is empty" : "must not contain NUL bytes", file);
    lua_error(L);
  }
  return s;
}

static void release(h5file *f) {
  if (f->w) dnn_h5_writer_abort(f->w);
  f->w = NULL;
  if (f->file >= 0) dnn_h5_close(f->file);
  f->file = -1;
  free(f->path);
  f->path = NULL;
}

static int f_gc(lua_State *L) {
  release(luaL_checkudata(L, 1, H5FILE_MT));
  return 0;
}

static h5file *newfile(lua_State *L, bool writing) {
  size_t n;
  const char *path = luaL_checklstring(L, 1, &n);
  const char *op = luaL_optstring(L, 2, "h5");
  h5file *f = lua_newuserdatauv(L, sizeof *f, 0);
  memset(f, 0, sizeof *f);
  f->file = -1;
  f->writing = writing;
  snprintf(f->op, sizeof f->op, "%s", op);
  luaL_setmetatable(L, H5FILE_MT);
  if (strlen(path) != n) luaL_error(L, "%s: the path must not contain NUL bytes", f->op);
  f->path = strdup(path);
  if (!f->path) luaL_error(L, "%s: out of memory", f->op);
  return f;
}

static int l_h5_create(lua_State *L) {
  h5file *f = newfile(L, true);
  f->w = dnn_h5_writer_begin(f->path);
  if (!f->w) return h5_raise(L, f, false);
  return 1;
}

static int l_h5_open(lua_State *L) {
  h5file *f = newfile(L, false);
  f->file = dnn_h5_open_read(f->path);
  if (f->file < 0) return h5_raise(L, f, false);
  return 1;
}

static int f_commit(lua_State *L) {
  h5file *f = checkfile(L);
  writable_loc(L, f);
  dnn_h5_writer *w = f->w;
  f->w = NULL; /* commit frees it, whatever happens */
  if (dnn_h5_writer_commit(w) != DNN_OK) return h5_raise(L, f, false);
  return 0;
}

static int f_abort(lua_State *L) {
  h5file *f = checkfile(L);
  if (f->w) dnn_h5_writer_abort(f->w);
  f->w = NULL;
  if (f->file >= 0 && dnn_h5_close(f->file) != DNN_OK) {
    f->file = -1;
    return h5_raise(L, f, true);
  }
  f->file = -1;
  return 0;
}

static int f_path(lua_State *L) {
  h5file *f = checkfile(L);
  lua_pushstring(L, f->path ? f->path : "");
  return 1;
}

static int f_temp_path(lua_State *L) {
  h5file *f = checkfile(L);
  if (f->w) lua_pushstring(L, dnn_h5_writer_temp_path(f->w));
  else lua_pushnil(L);
  return 1;
}

static int f_create_group(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = writable_loc(L, f);
  dnn_h5_id g = dnn_h5_group_create(loc, checkname(L, f, 2, "the group path"));
  if (g < 0) return h5_raise(L, f, true);
  dnn_h5_object_close(g);
  return 0;
}

static int f_link(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = writable_loc(L, f);
  const char *target = checkname(L, f, 2, "the link target");
  const char *name = checkname(L, f, 3, "the link path");
  if (dnn_h5_link_hard(loc, target, name) != DNN_OK) return h5_raise(L, f, true);
  return 0;
}

static int f_write_tensor(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = writable_loc(L, f);
  const char *name = checkname(L, f, 2, "the dataset path");
  dnn_tensor *t = dnnL_totensor(L, 3);
  if (!t) luaL_error(L, "%s: write_tensor: expected a tensor, got %s", f->op, luaL_typename(L, 3));
  if (dnn_h5_write_tensor(loc, name, t) != DNN_OK) return h5_raise(L, f, true);
  return 0;
}

static int f_write_scalar(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = writable_loc(L, f);
  const char *name = checkname(L, f, 2, "the dataset path");
  dnn_status st;
  switch (lua_type(L, 3)) {
    case LUA_TNUMBER:
      st = lua_isinteger(L, 3) ? dnn_h5_write_int64(loc, name, lua_tointeger(L, 3))
                               : dnn_h5_write_double(loc, name, lua_tonumber(L, 3));
      break;
    case LUA_TBOOLEAN: st = dnn_h5_write_uint8(loc, name, (uint8_t)lua_toboolean(L, 3)); break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, 3, &len);
      st = dnn_h5_write_bytes(loc, name, s, len);
      break;
    }
    default:
      return luaL_error(L, "%s: write_scalar: expected a number, boolean or string, got %s",
                        f->op, luaL_typename(L, 3));
  }
  if (st != DNN_OK) return h5_raise(L, f, true);
  return 0;
}

/* ---------- attributes ---------- */

static dnn_h5_strkind strkind(lua_State *L, h5file *f, const char *kind) {
  if (!kind || strcmp(kind, "fixed") == 0) return DNN_H5_STR_FIXED;
  if (strcmp(kind, "vlen") == 0) return DNN_H5_STR_VLEN;
  luaL_error(L, "%s: set_attr: kind '%s' does not fit strings (use \"fixed\" or \"vlen\")", f->op,
             kind);
  return DNN_H5_STR_FIXED;
}

/* A table of strings or numbers as an array attribute.  Scratch buffers are
 * userdata, so an error raised midway leaks nothing. */
static dnn_status set_attr_array(lua_State *L, h5file *f, dnn_h5_id loc, const char *obj,
                                 const char *name, const char *kind) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, 4);
  int nstr = 0, nint = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, 4, i);
    if (t == LUA_TSTRING) nstr++;
    else if (t == LUA_TNUMBER) nint += lua_isinteger(L, -1);
    else luaL_error(L, "%s: set_attr '%s': element %d is a %s (strings or numbers only)", f->op,
                    name, (int)i, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  if (nstr && nstr != n)
    luaL_error(L, "%s: set_attr '%s': mixes strings and numbers", f->op, name);
  bool strings = nstr > 0 || (n == 0 && kind && (!strcmp(kind, "fixed") || !strcmp(kind, "vlen")));
  if (strings) {
    dnn_h5_strkind sk = strkind(L, f, kind);
    const char **s = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *s, 0);
    size_t *lens = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *lens, 0);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 4, i); /* the table keeps the string alive */
      s[i - 1] = lua_tolstring(L, -1, &lens[i - 1]);
      lua_pop(L, 1);
    }
    return dnn_h5_attr_write_strings(loc, obj, name, n, s, lens, sk);
  }
  bool as_int = kind ? strcmp(kind, "int64") == 0 : (n > 0 && nint == n);
  if (kind && !as_int && strcmp(kind, "float64") != 0)
    luaL_error(L, "%s: set_attr: kind '%s' does not fit numbers (use \"int64\" or \"float64\")",
               f->op, kind);
  if (as_int && nint != n)
    luaL_error(L, "%s: set_attr '%s': kind int64 needs integers", f->op, name);
  void *buf = lua_newuserdatauv(L, (size_t)(n ? n : 1) * 8, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 4, i);
    if (as_int) ((int64_t *)buf)[i - 1] = lua_tointeger(L, -1);
    else ((double *)buf)[i - 1] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return as_int ? dnn_h5_attr_write_int64s(loc, obj, name, n, buf, false)
                : dnn_h5_attr_write_doubles(loc, obj, name, n, buf, false);
}

static int f_set_attr(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = writable_loc(L, f);
  const char *obj = checkname(L, f, 2, "the object path");
  const char *name = checkname(L, f, 3, "the attribute name");
  const char *kind = luaL_optstring(L, 5, NULL);
  dnn_status st;
  switch (lua_type(L, 4)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, 4, &len);
      st = dnn_h5_attr_write_string(loc, obj, name, s, len, strkind(L, f, kind));
      break;
    }
    case LUA_TNUMBER: {
      bool as_int = kind ? strcmp(kind, "int64") == 0 : lua_isinteger(L, 4);
      if (as_int && !lua_isinteger(L, 4))
        luaL_error(L, "%s: set_attr '%s': kind int64 needs an integer", f->op, name);
      if (as_int) {
        int64_t v = lua_tointeger(L, 4);
        st = dnn_h5_attr_write_int64s(loc, obj, name, 1, &v, true);
      } else {
        double v = lua_tonumber(L, 4);
        st = dnn_h5_attr_write_doubles(loc, obj, name, 1, &v, true);
      }
      break;
    }
    case LUA_TTABLE: st = set_attr_array(L, f, loc, obj, name, kind); break;
    default:
      return luaL_error(L, "%s: set_attr '%s': expected a string, number or table, got %s", f->op,
                        name, luaL_typename(L, 4));
  }
  if (st != DNN_OK) return h5_raise(L, f, true);
  return 0;
}

/* Pushes l as a Lua array and frees it (strings are copied first, so a
 * memory error while pushing could only leak, never crash). */
static void push_strings(lua_State *L, dnn_h5_strings *l) {
  lua_createtable(L, (int)l->n, 0);
  for (int64_t i = 0; i < l->n; i++) {
    lua_pushlstring(L, l->s[i], l->len[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  dnn_h5_strings_free(l);
}

static int f_get_attr(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  const char *obj = checkname(L, f, 2, "the object path");
  const char *name = checkname(L, f, 3, "the attribute name");
  bool scalar = false;
  int64_t count = 0;
  dnn_h5_attr_class c = dnn_h5_attr_info(loc, obj, name, &count, &scalar);
  if (c == DNN_H5_ATTR_NONE) {
    lua_pushnil(L);
    return 1;
  }
  if (c == DNN_H5_ATTR_STRING) {
    dnn_h5_strings l;
    if (dnn_h5_attr_read_strings(loc, obj, name, &l) != DNN_OK) return h5_raise(L, f, true);
    if (scalar && l.n == 1) {
      lua_pushlstring(L, l.s[0], l.len[0]);
      dnn_h5_strings_free(&l);
    } else {
      push_strings(L, &l);
    }
    return 1;
  }
  dnn_h5_numbers nums; /* a non-numeric class fails here with its message */
  if (dnn_h5_attr_read_numbers(loc, obj, name, &nums) != DNN_OK) return h5_raise(L, f, true);
  if (!(nums.scalar && nums.n == 1)) lua_createtable(L, (int)nums.n, 0);
  for (int64_t i = 0; i < nums.n; i++) {
    if (nums.is_int) lua_pushinteger(L, (lua_Integer)nums.i[i]);
    else lua_pushnumber(L, nums.d[i]);
    if (!(nums.scalar && nums.n == 1)) lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  dnn_h5_numbers_free(&nums);
  return 1;
}

static int f_attrs(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  dnn_h5_strings l;
  if (dnn_h5_attr_names(loc, checkname(L, f, 2, "the object path"), &l) != DNN_OK)
    return h5_raise(L, f, true);
  push_strings(L, &l);
  return 1;
}

/* ---------- structure ---------- */

static int f_kind(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  dnn_h5_objkey key;
  dnn_h5_kind k = dnn_h5_kind_of(loc, checkname(L, f, 2, "the path"), &key);
  static const char *const names[] = {
      [DNN_H5_GROUP] = "group",
      [DNN_H5_DATASET] = "dataset",
      [DNN_H5_DATATYPE] = "datatype",
      [DNN_H5_SOFT_LINK] = "soft link",
      [DNN_H5_EXTERNAL_LINK] = "external link",
      [DNN_H5_OTHER] = "other",
  };
  if (k == DNN_H5_NONE) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, names[k]);
  if (k == DNN_H5_GROUP || k == DNN_H5_DATASET || k == DNN_H5_DATATYPE) {
    lua_pushlstring(L, (const char *)key.bytes, sizeof key.bytes);
    return 2;
  }
  return 1;
}

static int f_members(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  const char *path = checkname(L, f, 2, "the group path");
  static const char *const orders[] = {"auto", "creation", "name", NULL};
  dnn_h5_order order = (dnn_h5_order)luaL_checkoption(L, 3, "auto", orders);
  dnn_h5_strings l;
  if (dnn_h5_group_members(loc, path, order, &l) != DNN_OK) return h5_raise(L, f, true);
  push_strings(L, &l);
  return 1;
}

static int f_info(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  int ndim;
  int64_t shape[DNN_MAX_DIMS];
  dnn_dtype dt;
  if (dnn_h5_dataset_info(loc, checkname(L, f, 2, "the dataset path"), &ndim, shape, &dt) != DNN_OK)
    return h5_raise(L, f, true);
  dnnL_pushsize(L, ndim, shape);
  lua_pushstring(L, dnn_dtype_name(dt));
  return 2;
}

static int f_read_tensor(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  dnn_tensor *t = dnn_h5_read_tensor(loc, checkname(L, f, 2, "the dataset path"));
  if (!t) return h5_raise(L, f, true);
  return dnnL_push(L, t);
}

static int f_read_scalar(lua_State *L) {
  h5file *f = checkfile(L);
  dnn_h5_id loc = loc_of(L, f);
  dnn_h5_scalar v;
  if (dnn_h5_read_scalar(loc, checkname(L, f, 2, "the dataset path"), &v) != DNN_OK)
    return h5_raise(L, f, true);
  switch (v.kind) {
    case DNN_H5_SCALAR_INT: lua_pushinteger(L, (lua_Integer)v.i); break;
    case DNN_H5_SCALAR_FLOAT: lua_pushnumber(L, v.d); break;
    default: {
      /* copy into a Lua string before freeing; a memory error here only leaks */
      luaL_Buffer b;
      char *s = v.s;
      size_t len = v.len;
      luaL_buffinit(L, &b);
      luaL_addlstring(&b, s, len);
      free(s);
      luaL_pushresult(&b);
    }
  }
  return 1;
}

static int l_h5_open_objects(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)dnn_h5_open_objects());
  return 1;
}

static int f_tostring(lua_State *L) {
  h5file *f = checkfile(L);
  bool open = f->writing ? f->w != NULL : f->file >= 0;
  lua_pushfstring(L, "H5File(%s, %s%s)", f->path ? f->path : "?",
                  f->writing ? "writing" : "reading", open ? "" : ", closed");
  return 1;
}

void dnnL_open_h5(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"commit", f_commit},         {"abort", f_abort},
      {"close", f_abort},           {"path", f_path},
      {"temp_path", f_temp_path},   {"create_group", f_create_group},
      {"link", f_link},             {"write_tensor", f_write_tensor},
      {"write_scalar", f_write_scalar}, {"set_attr", f_set_attr},
      {"get_attr", f_get_attr},     {"attrs", f_attrs},
      {"kind", f_kind},             {"members", f_members},
      {"info", f_info},             {"read_tensor", f_read_tensor},
      {"read_scalar", f_read_scalar}, {NULL, NULL},
  };
  luaL_newmetatable(L, H5FILE_MT);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, f_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, f_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, f_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  /* A table of its own (dnn.h5 once init.lua copies the core), so these
   * low-level entry points stay out of the top-level dnn namespace. */
  static const luaL_Reg fns[] = {
      {"create", l_h5_create},
      {"open", l_h5_open},
      {"open_objects", l_h5_open_objects},
      {NULL, NULL},
  };
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dnnL_module_key);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "h5");
  lua_pop(L, 1);
}
