/* Differentiable views and copies: the gradient is g mapped back through the
 * view's geometry (reshape, inverse permutation, or g written into zeros at
 * the viewed region). */
#include <string.h>

#include "arena.h"

typedef enum { V_RESHAPE, V_PERMUTE, V_TRANSPOSE, V_SLICE, V_SELECT, V_IDENTITY, V_FLIP } view_kind;

static dnn_status view_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_edge *e = &n->edges[0];
  dnn_tensor *gx = NULL, *gg = (dnn_tensor *)g;
  switch ((view_kind)n->k) {
    case V_RESHAPE: gx = ar_keep(ar, dnn_reshape(gg, e->ndim, e->shape)); break;
    case V_PERMUTE: { /* dims[i] = source dim of output dim i; invert */
      int inv[DNN_MAX_DIMS];
      for (int i = 0; i < n->ndims; i++) inv[n->dims[i]] = i;
      gx = ar_keep(ar, dnn_permute(gg, inv));
      break;
    }
    case V_TRANSPOSE: gx = ar_keep(ar, dnn_transpose(gg, n->dims[0], n->dims[1])); break;
    case V_SLICE:
    case V_SELECT: {
      dnn_tensor *z = ar_keep(ar, dnn_zeros(e->ndim, e->shape, (dnn_dtype)g->dtype, dnn_tensor_device(g)));
      dnn_tensor *region = NULL;
      if (z && n->k == V_SLICE) region = ar_keep(ar, dnn_slice(z, n->dim, (int64_t)n->s0, (int64_t)n->s1, n->shape[0]));
      if (z && n->k == V_SELECT) region = ar_keep(ar, dnn_select(z, n->dim, (int64_t)n->s0));
      if (region && dnn_copy_(region, g) == DNN_OK) gx = z;
      else ar->failed = true;
      break;
    }
    case V_FLIP: gx = ar_keep(ar, dnn_flip(gg, n->ndims, n->dims)); break;
    case V_IDENTITY: gx = gg; break;
  }
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

typedef struct {
  view_kind kind;
  int dim, ndims;
  const int *dims;
  int64_t a, b, step;
} view_ctx;

static dnn_status view_setup(dnn_node *n, void *vctx) {
  view_ctx *c = vctx;
  n->k = c->kind;
  n->dim = c->dim;
  n->ndims = c->ndims;
  if (c->ndims) memcpy(n->dims, c->dims, sizeof(int) * (size_t)c->ndims);
  n->s0 = (double)c->a;
  n->s1 = (double)c->b;
  n->shape[0] = c->step;
  return DNN_OK;
}

static dnn_tensor *finish(dnn_tensor *out, const char *name, const dnn_tensor *in, view_ctx *c) {
  return dnn_ag_finish(out, name, view_backward, 1, &in, view_setup, c);
}

dnn_tensor *dnn_ag_view(dnn_tensor *t, int ndim, const int64_t *shape) {
  view_ctx c = {V_RESHAPE, 0, 0, NULL, 0, 0, 0};
  return finish(dnn_view(t, ndim, shape), "view", t, &c);
}

dnn_tensor *dnn_ag_reshape(dnn_tensor *t, int ndim, const int64_t *shape) {
  view_ctx c = {V_RESHAPE, 0, 0, NULL, 0, 0, 0};
  return finish(dnn_reshape(t, ndim, shape), "reshape", t, &c);
}

dnn_tensor *dnn_ag_squeeze(dnn_tensor *t, int dim) {
  view_ctx c = {V_RESHAPE, 0, 0, NULL, 0, 0, 0};
  return finish(dnn_squeeze(t, dim), "squeeze", t, &c);
}

dnn_tensor *dnn_ag_unsqueeze(dnn_tensor *t, int dim) {
  view_ctx c = {V_RESHAPE, 0, 0, NULL, 0, 0, 0};
  return finish(dnn_unsqueeze(t, dim), "unsqueeze", t, &c);
}

dnn_tensor *dnn_ag_permute(dnn_tensor *t, const int *perm) {
  int p[DNN_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) {
    p[i] = dnn_wrap_dim("permute", perm[i], t->ndim);
    if (p[i] < 0) return NULL;
  }
  view_ctx c = {V_PERMUTE, 0, t->ndim, p, 0, 0, 0};
  return finish(dnn_permute(t, perm), "permute", t, &c);
}

dnn_tensor *dnn_ag_transpose(dnn_tensor *t, int d0, int d1) {
  int dd[2] = {d0, d1};
  view_ctx c = {V_TRANSPOSE, 0, 2, dd, 0, 0, 0};
  return finish(dnn_transpose(t, d0, d1), "transpose", t, &c);
}

dnn_tensor *dnn_ag_slice(dnn_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  dnn_tensor *out = dnn_slice(t, dim, start, stop, step);
  view_ctx c = {V_SLICE, out ? dnn_wrap_dim("slice", dim, t->ndim) : 0, 0, NULL, start, stop, step};
  return finish(out, "slice", t, &c);
}

dnn_tensor *dnn_ag_select(dnn_tensor *t, int dim, int64_t index) {
  dnn_tensor *out = dnn_select(t, dim, index);
  int d = out ? dnn_wrap_dim("select", dim, t->ndim) : 0;
  if (out && index < 0) index += t->shape[d];
  view_ctx c = {V_SELECT, d, 0, NULL, index, 0, 0};
  return finish(out, "select", t, &c);
}

dnn_tensor *dnn_ag_expand(dnn_tensor *t, int ndim, const int64_t *shape) {
  view_ctx c = {V_IDENTITY, 0, 0, NULL, 0, 0, 0}; /* ar_grad_for sums the expanded dims */
  return finish(dnn_expand(t, ndim, shape), "expand", t, &c);
}

dnn_tensor *dnn_ag_flip(const dnn_tensor *t, int ndims, const int *dims) {
  view_ctx c = {V_FLIP, 0, ndims, dims, 0, 0, 0};
  return finish(dnn_flip(t, ndims, dims), "flip", t, &c);
}

dnn_tensor *dnn_ag_contiguous(dnn_tensor *t) {
  if (dnn_is_contiguous(t)) {
    dnn_tensor_retain(t);
    return t;
  }
  view_ctx c = {V_IDENTITY, 0, 0, NULL, 0, 0, 0};
  return finish(dnn_contiguous(t), "contiguous", t, &c);
}

dnn_tensor *dnn_ag_clone(const dnn_tensor *t) {
  view_ctx c = {V_IDENTITY, 0, 0, NULL, 0, 0, 0};
  return finish(dnn_clone(t), "clone", t, &c);
}

dnn_tensor *dnn_ag_to_dtype(dnn_tensor *t, dnn_dtype dt) {
  if ((dnn_dtype)t->dtype == dt) {
    dnn_tensor_retain(t);
    return t;
  }
  view_ctx c = {V_IDENTITY, 0, 0, NULL, 0, 0, 0}; /* ar_grad_for casts back */
  return finish(dnn_to_dtype(t, dt), "to", t, &c);
}
