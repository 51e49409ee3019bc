/* Differentiable reductions.  Backward broadcasts the output gradient back
 * over the reduced dims (a view, no copy) and applies each op's local rule. */
#include <math.h>
#include <string.h>

#include "arena.h"

/* Reduced dims (0-based, sorted) into n->dims; n->ndims. */
static dnn_status note_dims(dnn_node *n, const dnn_tensor *t, int ndims, const int *dims, bool keepdim) {
  bool red[DNN_MAX_DIMS] = {0};
  if (ndims == 0 || (ndims == 1 && dims[0] == DNN_ALL_DIMS)) {
    for (int i = 0; i < t->ndim; i++) red[i] = true;
  } else {
    for (int i = 0; i < ndims; i++) {
      int d = dnn_wrap_dim("reduce", dims[i], t->ndim);
      if (d < 0) return dnn_error_code();
      if (t->ndim) red[d] = true;
    }
  }
  n->ndims = 0;
  for (int i = 0; i < t->ndim; i++)
    if (red[i]) n->dims[n->ndims++] = i;
  n->keepdim = keepdim;
  return DNN_OK;
}

/* g (the output's shape) as a view broadcast to the input's shape. */
static dnn_tensor *expand_back(ag_arena *ar, const dnn_node *n, const dnn_tensor *g) {
  if (!g) return NULL;
  const dnn_edge *e = &n->edges[0];
  int64_t kshape[DNN_MAX_DIMS];
  memcpy(kshape, e->shape, sizeof(int64_t) * (size_t)e->ndim);
  for (int i = 0; i < n->ndims; i++) kshape[n->dims[i]] = 1;
  dnn_tensor *k = ar_keep(ar, dnn_reshape((dnn_tensor *)g, e->ndim, kshape));
  if (!k) return NULL;
  return ar_keep(ar, dnn_expand(k, e->ndim, e->shape));
}

static double reduced_count(const dnn_node *n) {
  double r = 1;
  for (int i = 0; i < n->ndims; i++) r *= (double)n->edges[0].shape[n->dims[i]];
  return r;
}

static dnn_status reduce_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *x = n->saved[0], *out = n->saved[1], *gx = NULL;
  const dnn_tensor *ge = expand_back(ar, n, g);
  switch (n->op) {
    case DNN_OP_SUM: gx = ge; break;
    case DNN_OP_MEAN: gx = AR_MULS(ge, 1.0 / reduced_count(n)); break;
    case DNN_OP_PROD: gx = AR_DIV(AR_MUL(ge, expand_back(ar, n, out)), x); break; /* x != 0 */
    case DNN_OP_MAX:
    case DNN_OP_MIN: { /* ties share the gradient evenly, as amax does */
      const dnn_tensor *mask = ar_sc(ar, DNN_OP_ADD, ar_bin(ar, DNN_OP_EQ, x, expand_back(ar, n, out)), 0.0);
      dnn_tensor *cnt = mask ? ar_keep(ar, dnn_reduce(DNN_OP_SUM, mask, n->ndims, n->dims, true)) : NULL;
      gx = AR_DIV(AR_MUL(ge, mask), cnt);
      break;
    }
    case DNN_OP_VAR: { /* 2 (x - mean) / (R - correction) */
      dnn_tensor *mean = ar_keep(ar, dnn_reduce(DNN_OP_MEAN, x, n->ndims, n->dims, true));
      gx = AR_MULS(AR_MUL(ge, AR_SUB(x, mean)), 2.0 / (reduced_count(n) - (double)n->k));
      break;
    }
    case DNN_OP_LOGSUMEXP: gx = AR_MUL(ge, ar_un(ar, DNN_OP_EXP, AR_SUB(x, expand_back(ar, n, out)))); break;
    default: break;
  }
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

typedef struct {
  const dnn_tensor *x, *out;
  dnn_op op;
  int ndims;
  const int *dims;
  bool keepdim;
  int64_t correction;
} red_ctx;

static dnn_status red_setup(dnn_node *n, void *vctx) {
  red_ctx *c = vctx;
  n->op = c->op;
  n->k = c->correction;
  DNN_RETURN_IF_ERR(note_dims(n, c->x, c->ndims, c->dims, c->keepdim));
  if (dnn_ag_save(n, 0, c->x)) return dnn_error_code();
  return dnn_ag_save(n, 1, c->out);
}

dnn_tensor *dnn_ag_reduce(dnn_op op, const dnn_tensor *t, int ndims, const int *dims, bool keepdim) {
  dnn_tensor *out = dnn_reduce(op, t, ndims, dims, keepdim);
  red_ctx c = {t, out, op, ndims, dims, keepdim, 0};
  return dnn_ag_finish(out, dnn_op_name(op), reduce_backward, 1, &t, red_setup, &c);
}

dnn_tensor *dnn_ag_var(const dnn_tensor *t, int ndims, const int *dims, int64_t correction, bool keepdim) {
  dnn_tensor *out = dnn_var(t, ndims, dims, correction, keepdim);
  red_ctx c = {t, out, DNN_OP_VAR, ndims, dims, keepdim, correction};
  return dnn_ag_finish(out, "var", reduce_backward, 1, &t, red_setup, &c);
}

/* max/min along a dim with indices: the gradient goes to the chosen position. */
static dnn_status indexed_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_edge *e = &n->edges[0];
  const dnn_tensor *idx = n->saved[0];
  int d = n->dims[0];
  dnn_tensor *gk = (dnn_tensor *)g, *ik = (dnn_tensor *)idx;
  if (!n->keepdim) {
    gk = ar_keep(ar, dnn_unsqueeze((dnn_tensor *)g, d));
    ik = ar_keep(ar, dnn_unsqueeze((dnn_tensor *)idx, d));
  }
  dnn_tensor *zeros = ar_keep(ar, dnn_zeros(e->ndim, e->shape, (dnn_dtype)g->dtype, dnn_tensor_device(g)));
  dnn_tensor *gx = (gk && ik && zeros) ? ar_keep(ar, dnn_scatter(zeros, d, ik, gk, true)) : NULL;
  if (!gx) ar->failed = true;
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

typedef struct {
  const dnn_tensor *t, *idx;
  int dim;
  bool keepdim;
} idx_ctx;

static dnn_status idx_setup(dnn_node *n, void *vctx) {
  idx_ctx *c = vctx;
  int d = dnn_wrap_dim("max", c->dim, c->t->ndim);
  if (d < 0) return dnn_error_code();
  n->dims[0] = d;
  n->ndims = 1;
  n->keepdim = c->keepdim;
  return dnn_ag_save(n, 0, c->idx);
}

dnn_status dnn_ag_reduce_with_indices(dnn_op op, const dnn_tensor *t, int dim, bool keepdim,
                                      dnn_tensor **values, dnn_tensor **indices) {
  DNN_RETURN_IF_ERR(dnn_reduce_with_indices(op, t, dim, keepdim, values, indices));
  idx_ctx c = {t, *indices, dim, keepdim};
  *values = dnn_ag_finish(*values, dnn_op_name(op), indexed_backward, 1, &t, idx_setup, &c);
  if (!*values) {
    dnn_tensor_release(*indices);
    *indices = NULL;
    return dnn_error_code();
  }
  return DNN_OK;
}

/* cumsum: the gradient is a reversed cumulative sum; cumprod: the same of
 * g * out, divided by x (inputs without zeros). */
static dnn_status cumulative_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  int d = n->dim;
  const dnn_tensor *src = g;
  if (n->op == DNN_OP_CUMPROD) src = AR_MUL(g, n->saved[1]);
  dnn_tensor *f = src ? ar_keep(ar, dnn_flip(src, 1, &d)) : NULL;
  dnn_tensor *c = f ? ar_keep(ar, dnn_cumulative(DNN_OP_CUMSUM, f, d)) : NULL;
  const dnn_tensor *gx = c ? ar_keep(ar, dnn_flip(c, 1, &d)) : NULL;
  if (!gx) ar->failed = true;
  if (n->op == DNN_OP_CUMPROD) gx = AR_DIV(gx, n->saved[0]);
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

dnn_tensor *dnn_ag_cumulative(dnn_op op, const dnn_tensor *t, int dim) {
  dnn_tensor *out = dnn_cumulative(op, t, dim);
  if (!out || !dnn_ag_should_record(1, &t) || !dnn_dtype_is_float((dnn_dtype)out->dtype)) return out;
  dnn_node *n = dnn_ag_record(dnn_op_name(op), cumulative_backward, out, 1, &t);
  if (!n) goto fail;
  n->op = op;
  n->dim = dnn_wrap_dim(dnn_op_name(op), dim, t->ndim);
  if (dnn_ag_save(n, 0, t) || dnn_ag_save(n, 1, out)) goto fail;
  return out;
fail:
  dnn_tensor_release(out);
  return NULL;
}
