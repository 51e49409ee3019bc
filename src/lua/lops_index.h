/* Helpers shared by the indexing bindings (lops_index.c, lops_join.c,
 * lops_sort.c): call normalisation for the f(a, b, {k=v}) / f{a, b, k=v}
 * conventions, 1-based positions and dims. */
#ifndef DNN_LOPS_INDEX_H
#define DNN_LOPS_INDEX_H

#include "lutil.h"

/* Positional arguments from stack index `first` on, and the options table.
 * A single plain table at `first` is unpacked: its array part becomes the
 * positional arguments and the table itself the options. */
typedef struct {
  int first; /* stack index of positional 0 */
  int n;     /* positional count */
  int opts;  /* options table (stack index) or 0 */
} dnnL_call;

void dnnL_call_parse(lua_State *L, int first, dnnL_call *c);
/* Stack index of positional i (0-based), or 0 when absent or nil. */
int dnnL_call_arg(lua_State *L, const dnnL_call *c, int i);
/* Pushes positional i, else option `key` (then `alias` if not NULL), else nil;
 * returns the stack index of the pushed value (absolute). */
int dnnL_call_get(lua_State *L, const dnnL_call *c, int i, const char *key, const char *alias);

/* An integer argument (user dim, 1-based or negative) at idx -> engine dim. */
int dnnL_idx_dim(lua_State *L, int idx, int def, const char *fname);
/* A boolean at idx (nil -> def); anything else raises. */
bool dnnL_idx_bool(lua_State *L, int idx, bool def, const char *fname, const char *what);
/* An integer at idx (nil -> def); anything else raises. */
lua_Integer dnnL_idx_int(lua_State *L, int idx, lua_Integer def, const char *fname, const char *what);

/* The index tensor at idx holding 1-based positions (negatives count from
 * the end) along a dim of `size`: a 0-based int64 copy on `dev` (the indexed
 * tensor's device; a device index is checked on the host), left on the stack. */
dnn_tensor *dnnL_positions(lua_State *L, int idx, const char *fname, int dim, int64_t size, dnn_device dev);
/* Adds 1 to a fresh contiguous int64 CPU tensor (0-based -> 1-based). */
void dnnL_one_based(dnn_tensor *t);

void dnnL_open_ops_join(lua_State *L); /* lops_join.c: cat, stack, split, chunk */
void dnnL_open_ops_sort(lua_State *L); /* lops_sort.c: sort, topk, bincount, unique */

#endif
