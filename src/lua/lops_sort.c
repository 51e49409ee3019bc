/* Sorting and counting from Lua: sort, argsort, topk, bincount, unique.
 * Indices returned are 1-based int64 positions.
 *   t:sort(), t:sort(2, true), t:sort{2, descending=true}, t:sort(2, {descending=true})
 *   t:topk(3), t:topk(3, 1, false), t:topk{3, dim=1, largest=false}
 *   t:bincount(), t:bincount(weights, 5), t:bincount{minlength=5}
 *   t:unique{return_inverse=true, return_counts=true} */
#include "lops_index.h"

static int push_pair(lua_State *L, dnn_status st, dnn_tensor *values, dnn_tensor *indices, bool want_values) {
  if (st != DNN_OK) return dnnL_error(L);
  dnnL_one_based(indices);
  if (!want_values) {
    dnn_tensor_release(values);
    return dnnL_push(L, indices);
  }
  dnnL_push(L, values);
  dnnL_push(L, indices);
  return 2;
}

static int sort(lua_State *L, bool want_values) {
  const char *fname = want_values ? "sort" : "argsort";
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_call c;
  dnnL_call_parse(L, 2, &c);
  int d = dnnL_idx_dim(L, dnnL_call_get(L, &c, 0, "dim", "axis"), -1, fname);
  bool desc = dnnL_idx_bool(L, dnnL_call_get(L, &c, 1, "descending", NULL), false, fname, "descending");
  /* {stable=} is accepted: the sort is always stable */
  dnnL_idx_bool(L, dnnL_call_get(L, &c, 2, "stable", NULL), true, fname, "stable");
  dnn_tensor *values = NULL, *indices = NULL;
  dnn_status st = dnn_sort(t, d, desc, &values, &indices);
  return push_pair(L, st, values, indices, want_values);
}
static int m_sort(lua_State *L) { return sort(L, true); }
static int m_argsort(lua_State *L) { return sort(L, false); }

static int m_topk(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_call c;
  dnnL_call_parse(L, 2, &c);
  int ki = dnnL_call_get(L, &c, 0, "k", NULL);
  if (lua_isnil(L, ki)) return luaL_error(L, "topk: give k, the number of values to keep");
  lua_Integer k = dnnL_idx_int(L, ki, 0, "topk", "k");
  int d = dnnL_idx_dim(L, dnnL_call_get(L, &c, 1, "dim", "axis"), -1, "topk");
  bool largest = dnnL_idx_bool(L, dnnL_call_get(L, &c, 2, "largest", NULL), true, "topk", "largest");
  /* sorted=false allows any order; the values always come sorted */
  dnnL_idx_bool(L, dnnL_call_get(L, &c, 3, "sorted", NULL), true, "topk", "sorted");
  dnn_tensor *values = NULL, *indices = NULL;
  dnn_status st = dnn_topk(t, k, d, largest, &values, &indices);
  return push_pair(L, st, values, indices, true);
}

static int m_bincount(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_call c;
  dnnL_call_parse(L, 2, &c);
  int wi = dnnL_call_get(L, &c, 0, "weights", NULL);
  dnn_tensor *w = NULL;
  if (!lua_isnil(L, wi) && !(w = dnnL_totensor(L, wi)))
    return luaL_error(L, "bincount: weights must be a tensor, got %s", luaL_typename(L, wi));
  lua_Integer minlength = dnnL_idx_int(L, dnnL_call_get(L, &c, 1, "minlength", NULL), 0, "bincount", "minlength");
  return dnnL_push(L, dnn_bincount(t, w, minlength));
}

/* t:unique([sorted[, return_inverse[, return_counts]]]) or with an options table. */
static int m_unique(lua_State *L) {
  dnn_tensor *t = dnnL_checktensor(L, 1);
  dnnL_call c;
  dnnL_call_parse(L, 2, &c);
  dnnL_idx_bool(L, dnnL_call_get(L, &c, 0, "sorted", NULL), true, "unique", "sorted"); /* always sorted */
  bool inv = dnnL_idx_bool(L, dnnL_call_get(L, &c, 1, "return_inverse", NULL), false, "unique", "return_inverse");
  bool cnt = dnnL_idx_bool(L, dnnL_call_get(L, &c, 2, "return_counts", NULL), false, "unique", "return_counts");
  int di = dnnL_call_get(L, &c, 3, "dim", "axis");
  if (!lua_isnil(L, di)) return luaL_error(L, "unique: the dim option is not supported; unique works on all elements");
  dnn_tensor *values = NULL, *inverse = NULL, *counts = NULL;
  dnnL_check(L, dnn_unique(t, &values, inv ? &inverse : NULL, cnt ? &counts : NULL));
  int n = 1;
  dnnL_push(L, values);
  if (inv) {
    dnnL_one_based(inverse);
    dnnL_push(L, inverse);
    n++;
  }
  if (cnt) {
    dnnL_push(L, counts);
    n++;
  }
  return n;
}

void dnnL_open_ops_sort(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"sort", m_sort}, {"argsort", m_argsort}, {"topk", m_topk},
      {"bincount", m_bincount}, {"unique", m_unique}, {NULL, NULL},
  };
  dnnL_add_methods(L, methods);
}
