/* Differentiable indexing and joining. */
#include <string.h>

#include "arena.h"

static dnn_tensor *zeros_for(ag_arena *ar, const dnn_edge *e, const dnn_tensor *like) {
  return ar_keep(ar, dnn_zeros(e->ndim, e->shape, (dnn_dtype)like->dtype, dnn_tensor_device(like)));
}

/* gather: scatter-add g back to the gathered positions */
static dnn_status gather_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  dnn_tensor *z = zeros_for(ar, &n->edges[0], g);
  dnn_tensor *gx = z ? ar_keep(ar, dnn_scatter(z, n->dim, n->saved[0], g, true)) : NULL;
  if (!gx) ar->failed = true;
  gin[0] = ar_grad_for(ar, n, 0, gx);
  gin[1] = NULL;
  return ar_end(ar, 2, gin);
}

static dnn_status save_index(dnn_node *n, void *vctx) {
  const void **c = vctx;
  n->dim = *(const int *)c[1];
  return dnn_ag_save(n, 0, (const dnn_tensor *)c[0]);
}

dnn_tensor *dnn_ag_gather(const dnn_tensor *t, int dim, const dnn_tensor *index) {
  dnn_tensor *out = dnn_gather(t, dim, index);
  int d = out ? dnn_wrap_dim("gather", dim, t->ndim) : 0;
  const void *c[2] = {index, &d};
  const dnn_tensor *ins[2] = {t, index};
  return dnn_ag_finish(out, "gather", gather_backward, 2, ins, save_index, (void *)c);
}

static dnn_status index_select_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  dnn_tensor *z = zeros_for(ar, &n->edges[0], g);
  dnn_tensor *gx = z ? ar_keep(ar, dnn_index_add(z, n->dim, n->saved[0], g)) : NULL;
  if (!gx) ar->failed = true;
  gin[0] = ar_grad_for(ar, n, 0, gx);
  gin[1] = NULL;
  return ar_end(ar, 2, gin);
}

dnn_tensor *dnn_ag_index_select(const dnn_tensor *t, int dim, const dnn_tensor *index) {
  dnn_tensor *out = dnn_index_select(t, dim, index);
  int d = out ? dnn_wrap_dim("index_select", dim, t->ndim) : 0;
  const void *c[2] = {index, &d};
  const dnn_tensor *ins[2] = {t, index};
  return dnn_ag_finish(out, "index_select", index_select_backward, 2, ins, save_index, (void *)c);
}

static dnn_status masked_fill_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  dnn_tensor *gx = ar_keep(ar, dnn_masked_fill(g, n->saved[0], 0.0));
  gin[0] = ar_grad_for(ar, n, 0, gx);
  gin[1] = NULL;
  return ar_end(ar, 2, gin);
}

static dnn_status save_mask(dnn_node *n, void *vctx) { return dnn_ag_save(n, 0, (const dnn_tensor *)vctx); }

dnn_tensor *dnn_ag_masked_fill(const dnn_tensor *t, const dnn_tensor *mask, double value) {
  dnn_tensor *out = dnn_masked_fill(t, mask, value);
  const dnn_tensor *ins[2] = {t, mask};
  return dnn_ag_finish(out, "masked_fill", masked_fill_backward, 2, ins, save_mask, (void *)mask);
}

static dnn_status masked_select_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  dnn_tensor *z = zeros_for(ar, &n->edges[0], g);
  dnn_tensor *gx = z ? ar_keep(ar, dnn_masked_scatter(z, n->saved[0], g)) : NULL;
  if (!gx) ar->failed = true;
  gin[0] = ar_grad_for(ar, n, 0, gx);
  gin[1] = NULL;
  return ar_end(ar, 2, gin);
}

dnn_tensor *dnn_ag_masked_select(const dnn_tensor *t, const dnn_tensor *mask) {
  dnn_tensor *out = dnn_masked_select(t, mask);
  const dnn_tensor *ins[2] = {t, mask};
  return dnn_ag_finish(out, "masked_select", masked_select_backward, 2, ins, save_mask, (void *)mask);
}

/* scatter: t's overwritten positions get no gradient (scatter_add: all do);
 * src gets g gathered at the indices. */
static dnn_status scatter_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *idx = n->saved[0];
  dnn_tensor *gt = NULL, *gs = NULL;
  if (n->edges[0].needs) {
    if (n->flag) {
      gt = (dnn_tensor *)g;
    } else {
      dnn_tensor *z = ar_keep(ar, dnn_zeros(idx->ndim, idx->shape, (dnn_dtype)g->dtype, dnn_tensor_device(g)));
      gt = z ? ar_keep(ar, dnn_scatter(g, n->dim, idx, z, false)) : NULL;
      if (!gt) ar->failed = true;
    }
  }
  if (n->edges[2].needs) {
    gs = ar_keep(ar, dnn_gather(g, n->dim, idx));
  }
  gin[0] = ar_grad_for(ar, n, 0, gt);
  gin[1] = NULL;
  gin[2] = ar_grad_for(ar, n, 2, gs);
  return ar_end(ar, 3, gin);
}

typedef struct {
  const dnn_tensor *idx;
  int dim;
  bool add;
} scatter_ctx;

static dnn_status scatter_setup(dnn_node *n, void *vctx) {
  scatter_ctx *c = vctx;
  n->dim = c->dim;
  n->flag = c->add;
  return dnn_ag_save(n, 0, c->idx);
}

dnn_tensor *dnn_ag_scatter(const dnn_tensor *t, int dim, const dnn_tensor *index, const dnn_tensor *src, bool add) {
  dnn_tensor *out = dnn_scatter(t, dim, index, src, add);
  scatter_ctx c = {index, out ? dnn_wrap_dim("scatter", dim, t->ndim) : 0, add};
  const dnn_tensor *ins[3] = {t, index, src};
  return dnn_ag_finish(out, add ? "scatter_add" : "scatter", scatter_backward, 3, ins, scatter_setup, &c);
}

/* cat: each input gets its slice of g; stack: its index along the new dim */
static dnn_status join_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  int64_t offset = 0;
  for (int i = 0; i < n->n_in; i++) {
    const dnn_edge *e = &n->edges[i];
    dnn_tensor *part;
    if (n->flag) { /* stack */
      part = e->needs ? ar_keep(ar, dnn_select((dnn_tensor *)g, n->dim, i)) : NULL;
    } else {
      int64_t size = n->dim < e->ndim ? e->shape[n->dim] : 0; /* legacy empty [0] inputs */
      part = e->needs ? ar_keep(ar, dnn_narrow((dnn_tensor *)g, n->dim, offset, size)) : NULL;
      offset += size;
    }
    gin[i] = ar_grad_for(ar, n, i, part);
  }
  return ar_end(ar, n->n_in, gin);
}

static dnn_status join_setup(dnn_node *n, void *vctx) {
  const int *c = vctx;
  n->dim = c[0];
  n->flag = c[1];
  return DNN_OK;
}

static dnn_tensor *join(int n, dnn_tensor *const *ts, int dim, bool stack) {
  dnn_tensor *out = stack ? dnn_stack(n, ts, dim) : dnn_cat(n, ts, dim);
  if (!out) return NULL;
  int c[2] = {dnn_wrap_dim(stack ? "stack" : "cat", dim, stack ? out->ndim : ts[0]->ndim), stack};
  if (c[0] < 0) {
    dnn_tensor_release(out);
    return NULL;
  }
  return dnn_ag_finish(out, stack ? "stack" : "cat", join_backward, n, (const dnn_tensor *const *)ts, join_setup, c);
}

dnn_tensor *dnn_ag_cat(int n, dnn_tensor *const *ts, int dim) { return join(n, ts, dim, false); }
dnn_tensor *dnn_ag_stack(int n, dnn_tensor *const *ts, int dim) { return join(n, ts, dim, true); }
