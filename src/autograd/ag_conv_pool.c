/* Differentiable pooling: max (the gradient goes to the saved argmax, the
 * first maximum of each window), average (spread over the window's cells
 * inside the input), their adaptive forms and the global poolings.  The node
 * keeps the channels-last plan; channels_first inputs are transposed through
 * the graph around it. */
#include <string.h>

#include "arena.h"

static void plan_to_node(dnn_node *n, const dnn_pool2d_plan *p) {
  memcpy(n->dims, p->dims, sizeof p->dims);
  n->ndims = 7;
  n->shape[0] = p->n, n->shape[1] = p->h, n->shape[2] = p->w;
  n->shape[3] = p->c, n->shape[4] = p->oh, n->shape[5] = p->ow;
}

static dnn_pool2d_plan plan_from_node(const dnn_node *n) {
  dnn_pool2d_plan p;
  memcpy(p.dims, n->dims, sizeof p.dims);
  p.n = n->shape[0], p.h = n->shape[1], p.w = n->shape[2];
  p.c = n->shape[3], p.oh = n->shape[4], p.ow = n->shape[5];
  return p;
}

static dnn_status pool_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  dnn_pool2d_plan p = plan_from_node(n);
  gin[0] = dnn_pool2d_backward(n->name, g, n->flag ? n->saved[0] : NULL, &p);
  return gin[0] ? DNN_OK : dnn_error_code();
}

typedef struct {
  const dnn_pool2d_plan *p;
  const dnn_tensor *argmax;
  bool is_max;
} pool_setup_ctx;

static dnn_status pool_setup(dnn_node *n, void *vctx) {
  pool_setup_ctx *c = vctx;
  plan_to_node(n, c->p);
  n->flag = c->is_max;
  return c->argmax ? dnn_ag_save(n, 0, c->argmax) : DNN_OK;
}

/* Pools x (in its own layout) by a plan made for it, recording when needed. */
static dnn_tensor *ag_pool(const char *op, const dnn_tensor *x, const dnn_pool2d_plan *p, bool is_max,
                           bool channels_first) {
  const dnn_tensor *ins[1] = {x};
  bool record = dnn_ag_should_record(1, ins);
  if (!record && !channels_first) return dnn_pool2d_run(op, x, p, is_max, NULL);
  if (channels_first) { /* the plan is in channels-last terms: it fits the transposed input */
    static const int to_last[4] = {0, 2, 3, 1}, to_first[4] = {0, 3, 1, 2};
    dnn_tensor *xl = dnn_ag_permute((dnn_tensor *)x, to_last);
    dnn_tensor *yl = xl ? ag_pool(op, xl, p, is_max, false) : NULL;
    dnn_tensor_release(xl);
    dnn_tensor *yf = yl ? dnn_ag_permute(yl, to_first) : NULL;
    dnn_tensor_release(yl);
    dnn_tensor *y = yf ? dnn_ag_contiguous(yf) : NULL;
    dnn_tensor_release(yf);
    return y;
  }
  dnn_tensor *argmax = NULL;
  dnn_tensor *y = dnn_pool2d_run(op, x, p, is_max, is_max ? &argmax : NULL);
  pool_setup_ctx c = {p, argmax, is_max};
  y = dnn_ag_finish(y, op, pool_backward, 1, ins, pool_setup, &c);
  dnn_tensor_release(argmax);
  return y;
}

dnn_tensor *dnn_ag_pool2d(dnn_pool_kind kind, const dnn_tensor *x, const dnn_pool2d_opts *o) {
  const char *op = kind == DNN_POOL_MAX ? "max_pool2d" : "avg_pool2d";
  dnn_pool2d_plan p;
  if (dnn_pool2d_plan_make(op, x, o, &p) != DNN_OK) return NULL;
  return ag_pool(op, x, &p, kind == DNN_POOL_MAX, o->channels_first);
}

dnn_tensor *dnn_ag_adaptive_pool2d(dnn_pool_kind kind, const dnn_tensor *x, int64_t oh, int64_t ow,
                                   bool channels_first) {
  const char *op = kind == DNN_POOL_MAX ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
  dnn_pool2d_plan p;
  if (dnn_adaptive_pool2d_plan_make(op, x, oh, ow, channels_first, &p) != DNN_OK) return NULL;
  return ag_pool(op, x, &p, kind == DNN_POOL_MAX, channels_first);
}

/* One adaptive bin over the whole image; then (N, C) unless keepdims. */
dnn_tensor *dnn_ag_global_pool2d(dnn_pool_kind kind, const dnn_tensor *x, bool keepdims, bool channels_first) {
  const char *op = kind == DNN_POOL_MAX ? "global_max_pool2d" : "global_avg_pool2d";
  dnn_pool2d_plan p;
  if (dnn_adaptive_pool2d_plan_make(op, x, 1, 1, channels_first, &p) != DNN_OK) return NULL;
  dnn_tensor *y = ag_pool(op, x, &p, kind == DNN_POOL_MAX, channels_first);
  if (!y || keepdims) return y;
  int64_t shape[2] = {p.n, p.c};
  dnn_tensor *v = dnn_ag_view(y, 2, shape);
  dnn_tensor_release(y);
  return v;
}
