/* Shared helpers of the Lua bindings: tensor userdata, errors, dims, dtypes,
 * shapes and option tables.  Only src/lua/ and src/cli/ include lua.h. */
#ifndef DNN_LUTIL_H
#define DNN_LUTIL_H

#include <lauxlib.h>
#include <lua.h>

#include "dnn.h"

#define DNN_TENSOR_MT "dnn.Tensor"
#define DNN_TENSOR_MAGIC 0x746e7364746e7344ull /* marks our userdata */

typedef struct {
  uint64_t magic;
  dnn_tensor *t; /* NULL once closed */
} dnnL_tensor;

/* Registry keys (addresses) of the shared tables. */
extern char dnnL_methods_key; /* tensor methods table */
extern char dnnL_module_key;  /* the dnn.core table */
extern char dnnL_tensor_mt_key; /* the tensor metatable (also registry["dnn.Tensor"]) */

/* The tensor at idx, or NULL when idx is not a tensor.  Raises if closed. */
dnn_tensor *dnnL_totensor(lua_State *L, int idx);
/* The tensor at idx, or raises "<fn>: argument #idx: expected a tensor, got <type>". */
dnn_tensor *dnnL_checktensor(lua_State *L, int idx);
/* Pushes t (taking its reference).  t == NULL raises the engine's error. */
int dnnL_push(lua_State *L, dnn_tensor *t);
/* Raises the engine's last error as a Lua error (does not return). */
int dnnL_error(lua_State *L);
/* Raises unless st == DNN_OK. */
void dnnL_check(lua_State *L, dnn_status st);
/* Tells the Lua GC about bytes allocated outside it. */
void dnnL_account(lua_State *L, size_t nbytes);

/* 1-based (or negative) user dim at idx -> engine dim (0-based or negative). */
int dnnL_checkdim(lua_State *L, int idx, const char *fname);
int dnnL_dim_from_lua(lua_State *L, lua_Integer d, const char *fname);
int dnnL_optdim(lua_State *L, int idx, int def, const char *fname);
/* dtype name or nil at idx. */
dnn_dtype dnnL_checkdtype(lua_State *L, int idx);
dnn_dtype dnnL_optdtype(lua_State *L, int idx, dnn_dtype def);

/* Shape from integers at [idx..top] or a table at idx (its array part), or a
 * size table returned by :size().  Returns ndim; *next is the first index
 * after the shape arguments. */
int dnnL_checkshape(lua_State *L, int idx, int64_t *shape, int *next, const char *fname);

/* The options table for a call: the last argument when it is a plain table
 * (not a tensor), else 0. */
int dnnL_optstable(lua_State *L, int first);
/* Pushes field k of the options table (nil when opts == 0). */
int dnnL_getopt(lua_State *L, int opts, const char *k);
lua_Number dnnL_optnumber_field(lua_State *L, int opts, const char *k, lua_Number def);
lua_Integer dnnL_optinteger_field(lua_State *L, int opts, const char *k, lua_Integer def);
int dnnL_optboolean_field(lua_State *L, int opts, const char *k, int def);
dnn_dtype dnnL_optdtype_field(lua_State *L, int opts, dnn_dtype def);

/* Fresh table {d1, d2, ...} with the size metatable (prints as [2, 3]). */
void dnnL_pushsize(lua_State *L, int ndim, const int64_t *shape);

/* Registration hooks, one per binding file (called by lmodule.c). */
void dnnL_open_tensor(lua_State *L);   /* ltensor.c: metatable, views, conversion */
void dnnL_open_index(lua_State *L);    /* lindex.c: t[i], t[{...}] read/write */
void dnnL_open_create(lua_State *L);   /* lcreate.c: tensor(), zeros, rand, ... */
void dnnL_open_math(lua_State *L);     /* lmath.c: elementwise, reductions, matmul */
void dnnL_open_ops_index(lua_State *L); /* lops_index.c: gather, cat, sort, ... */
void dnnL_open_io(lua_State *L);       /* lio.c: read_idx, ... */
void dnnL_open_sys(lua_State *L);      /* lsys.c: threads, memory stats, version */
void dnnL_open_autograd(lua_State *L); /* lautograd.c: backward, grad, grad mode */
void dnnL_open_conv(lua_State *L);     /* lconv.c: conv2d, pooling */
void dnnL_open_nn(lua_State *L);       /* lnn.c: linear, norms, dropout, softmax, activations */
void dnnL_open_loss(lua_State *L);     /* lloss.c: fused losses */
void dnnL_open_optim(lua_State *L);    /* loptim.c: fused optimizer updates */
void dnnL_open_h5(lua_State *L);       /* lh5.c: dnn.save / dnn.load */
void dnnL_open_dist(lua_State *L);     /* ldist.c: dnn.core._dist (MPI / NCCL collectives) */
void dnnL_open_augment(lua_State *L);  /* laugment.c: image transforms */
void dnnL_open_tfevents(lua_State *L); /* ltfevents.c: TensorBoard event files */
void dnnL_open_io_data(lua_State *L);  /* lio_data.c: CSV, PNG, resizing, image pools */
void dnnL_open_cuda(lua_State *L);     /* lcuda.c: dnn.cuda, t:cuda(), t:to(device) */

/* A contiguous copy of t on dev (NULL with the engine's error); lcuda.c. */
dnn_tensor *dnnL_copy_to_device(dnn_tensor *t, dnn_device dev);
/* The value at index of t as a double (and as an integer in *iv when iv is
 * not NULL), read through a host copy when t lives on a device (a direct
 * read there would dereference device memory); raises the engine's error
 * prefixed with op.  lcuda.c. */
double dnnL_read_element(lua_State *L, const char *op, dnn_tensor *t, const int64_t *index, int64_t *iv);
int dnnL_autograd_field(lua_State *L, dnn_tensor *t, const char *k);
int dnnL_autograd_setfield(lua_State *L, dnn_tensor *t, const char *k);

/* Adds functions to the methods table (at the top of stack: nothing). */
void dnnL_add_methods(lua_State *L, const luaL_Reg *fns);
/* Adds functions to the module table. */
void dnnL_add_functions(lua_State *L, const luaL_Reg *fns);

#endif
