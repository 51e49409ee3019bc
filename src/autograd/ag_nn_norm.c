/* Differentiable batch and layer normalisation (Keras semantics).  Each
 * records one node whose backward is one kernel giving dx and the
 * gamma/beta gradients together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ops_nn.h"
#include "arena.h"

/* ---- batch norm ---- */

static dnn_status bn_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  bool need_p = n->edges[1].needs || n->edges[2].needs;
  dnn_tensor *dx = NULL, *dp = NULL;
  dnn_status st = dnn_batch_norm_backward(g, n->saved[0], n->saved[1], n->saved[2], n->dim, n->s0, n->flag,
                                          n->edges[0].needs ? &dx : NULL, need_p ? &dp : NULL);
  if (st != DNN_OK) return st;
  gin[0] = dx;
  if (dp) {
    if (n->edges[1].needs) gin[1] = dnn_select(dp, 0, 0);
    if (n->edges[2].needs) gin[2] = dnn_select(dp, 0, 1);
    dnn_tensor_release(dp);
    if ((n->edges[1].needs && !gin[1]) || (n->edges[2].needs && !gin[2])) {
      for (int i = 0; i < 3; i++) {
        dnn_tensor_release(gin[i]);
        gin[i] = NULL;
      }
      return dnn_error_code();
    }
  }
  return DNN_OK;
}

typedef struct {
  const dnn_tensor *x, *stats, *gamma;
  int axis;
  double eps;
  bool training;
} bn_setup_ctx;

static dnn_status bn_setup(dnn_node *n, void *vctx) {
  bn_setup_ctx *c = vctx;
  n->dim = c->axis;
  n->s0 = c->eps;
  n->flag = c->training;
  if (dnn_ag_save(n, 0, c->x) || dnn_ag_save(n, 1, c->stats)) return dnn_error_code();
  return c->gamma ? dnn_ag_save(n, 2, c->gamma) : DNN_OK;
}

/* moving = moving * momentum + batch * (1 - momentum), in place, unrecorded */
static dnn_status update_moving(dnn_tensor *moving, dnn_tensor *batch, double momentum) {
  dnn_no_grad_scope s = dnn_no_grad_begin();
  dnn_status st = dnn_binary_scalar_(DNN_OP_MUL, moving, momentum, false);
  dnn_tensor *part = st == DNN_OK ? dnn_binary_scalar(DNN_OP_MUL, batch, 1.0 - momentum, false, false) : NULL;
  if (st == DNN_OK) st = part ? dnn_binary_(DNN_OP_ADD, moving, part) : dnn_error_code();
  dnn_tensor_release(part);
  dnn_no_grad_end(s);
  return st;
}

static dnn_status bn_check(const dnn_tensor *x, const dnn_tensor *mm, const dnn_tensor *mv, const dnn_tensor *gamma,
                           const dnn_tensor *beta, int axis, double momentum, double eps, int *d) {
  const char *op = "batch_norm";
  char b0[200], against[260];
  DNN_RETURN_IF_ERR(nn_check_float(op, "the input", x));
  if (!mm || !mv) return dnn_error(DNN_ERR_ARG, "%s: moving_mean and moving_var are required", op);
  if (x->ndim < 2)
    return dnn_error(DNN_ERR_SHAPE, "%s: input %s needs a batch axis besides the feature axis (at least 2 dims)", op,
                     DNN_SHAPE_STR(x, b0));
  *d = dnn_wrap_dim(op, axis, x->ndim);
  if (*d < 0) return dnn_error_code();
  if (*d == 0)
    return dnn_error(DNN_ERR_ARG,
                     "%s: axis %d is the batch axis of input %s; the feature axis must be another one (dims are "
                     "1-based, -1 is the last)",
                     op, axis >= 0 ? axis + 1 : axis, DNN_SHAPE_STR(x, b0));
  if (!(eps > 0)) return dnn_error(DNN_ERR_ARG, "%s: epsilon must be > 0, got %g", op, eps);
  if (!(momentum >= 0 && momentum <= 1)) return dnn_error(DNN_ERR_ARG, "%s: momentum must be in [0, 1], got %g", op, momentum);
  int64_t C = x->shape[*d];
  snprintf(against, sizeof against, "the %lld features of input %s on axis %d", (long long)C, DNN_SHAPE_STR(x, b0),
           *d + 1);
  const char *names[4] = {"moving_mean", "moving_var", "gamma", "beta"};
  const dnn_tensor *ts[4] = {mm, mv, gamma, beta};
  for (int i = 0; i < 4; i++) {
    DNN_RETURN_IF_ERR(nn_check_like(op, names[i], ts[i], x));
    DNN_RETURN_IF_ERR(nn_check_vector(op, names[i], ts[i], C, against));
  }
  return DNN_OK;
}

dnn_tensor *dnn_ag_batch_norm(const dnn_tensor *x, dnn_tensor *moving_mean, dnn_tensor *moving_var,
                              const dnn_tensor *gamma, const dnn_tensor *beta, int axis, bool training,
                              double momentum, double epsilon) {
  int d = 0;
  if (bn_check(x, moving_mean, moving_var, gamma, beta, axis, momentum, epsilon, &d) != DNN_OK) return NULL;
  dnn_tensor *mv[2] = {moving_mean, moving_var};
  /* inference: a snapshot of the moving stats, so later updates do not touch the graph */
  dnn_tensor *stats = training ? dnn_batch_norm_stats(x, d) : dnn_stack(2, mv, 0);
  DNN_CHECK_NULL(stats);
  dnn_tensor *y = dnn_batch_norm(x, stats, gamma, beta, d, epsilon);
  if (y && training) { /* the moving stats change only once the forward pass has worked */
    dnn_tensor *mean = dnn_select(stats, 0, 0), *var = mean ? dnn_select(stats, 0, 1) : NULL;
    dnn_status st = var ? update_moving(moving_mean, mean, momentum) : dnn_error_code();
    if (st == DNN_OK) st = update_moving(moving_var, var, momentum);
    dnn_tensor_release(mean);
    dnn_tensor_release(var);
    if (st != DNN_OK) {
      dnn_error_prefix("batch_norm");
      dnn_tensor_release(y);
      y = NULL;
    }
  }
  const dnn_tensor *ins[3] = {x, gamma, beta};
  bn_setup_ctx c = {x, stats, gamma, d, epsilon, training};
  y = dnn_ag_finish(y, "batch_norm", bn_backward, 3, ins, bn_setup, &c);
  dnn_tensor_release(stats);
  return y;
}

/* ---- layer norm ---- */

static dnn_status ln_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  bool need_p = n->edges[1].needs || n->edges[2].needs;
  dnn_tensor *dx = NULL, *dp = NULL;
  dnn_status st = dnn_layer_norm_backward(g, n->saved[0], n->saved[1], n->saved[2], n->k,
                                          n->edges[0].needs ? &dx : NULL, need_p ? &dp : NULL);
  if (st != DNN_OK) return st;
  gin[0] = dx;
  for (int i = 1; i <= 2 && dp; i++) {
    if (!n->edges[i].needs) continue;
    dnn_tensor *row = dnn_select(dp, 0, i == 1 ? 0 : 1);
    gin[i] = row ? dnn_view(row, n->edges[i].ndim, n->edges[i].shape) : NULL;
    dnn_tensor_release(row);
    if (!gin[i]) st = dnn_error_code();
  }
  dnn_tensor_release(dp);
  if (st != DNN_OK)
    for (int i = 0; i < 3; i++) {
      dnn_tensor_release(gin[i]);
      gin[i] = NULL;
    }
  return st;
}

typedef struct {
  const dnn_tensor *x, *stats, *gamma;
  int64_t D;
} ln_setup_ctx;

static dnn_status ln_setup(dnn_node *n, void *vctx) {
  ln_setup_ctx *c = vctx;
  n->k = c->D;
  if (dnn_ag_save(n, 0, c->x) || dnn_ag_save(n, 1, c->stats)) return dnn_error_code();
  return c->gamma ? dnn_ag_save(n, 2, c->gamma) : DNN_OK;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* gamma/beta must have the normalised axes' sizes (or be flat of that many) */
static dnn_status ln_check_param(const char *what, const dnn_tensor *p, int naxes, const int64_t *sizes, int64_t D) {
  char b0[200], b1[200];
  if (!p) return DNN_OK;
  bool ok = p->ndim == naxes && memcmp(p->shape, sizes, sizeof(int64_t) * (size_t)naxes) == 0;
  if (!ok && p->ndim == 1 && p->shape[0] == D) ok = true;
  if (ok) return DNN_OK;
  return dnn_error(DNN_ERR_SHAPE, "layer_norm: %s %s does not match the normalised axes' shape %s", what,
                   DNN_SHAPE_STR(p, b0), dnn_shape_str(naxes, sizes, b1));
}

dnn_tensor *dnn_ag_layer_norm(const dnn_tensor *x, const dnn_tensor *gamma, const dnn_tensor *beta, int naxes,
                              const int *axes, double epsilon) {
  const char *op = "layer_norm";
  if (nn_check_float(op, "the input", x) || nn_check_like(op, "gamma", gamma, x) || nn_check_like(op, "beta", beta, x))
    return NULL;
  if (naxes < 1 || naxes > x->ndim) {
    dnn_error(DNN_ERR_ARG, "layer_norm: give between 1 and %d axes for a %d-d input, got %d", x->ndim > 0 ? x->ndim : 1,
              x->ndim, naxes);
    return NULL;
  }
  int ax[DNN_MAX_DIMS];
  for (int i = 0; i < naxes; i++) {
    ax[i] = dnn_wrap_dim(op, axes[i], x->ndim);
    if (ax[i] < 0) return NULL;
  }
  qsort(ax, (size_t)naxes, sizeof ax[0], cmp_int);
  for (int i = 1; i < naxes; i++)
    if (ax[i] == ax[i - 1]) {
      dnn_error(DNN_ERR_ARG, "layer_norm: axis %d is given twice", ax[i] + 1);
      return NULL;
    }
  int64_t sizes[DNN_MAX_DIMS], D = 1;
  for (int i = 0; i < naxes; i++) D *= (sizes[i] = x->shape[ax[i]]);
  if (ln_check_param("gamma", gamma, naxes, sizes, D) || ln_check_param("beta", beta, naxes, sizes, D)) return NULL;
  if (D == 0) {
    dnn_error(DNN_ERR_SHAPE, "layer_norm: the normalised axes of the input are empty");
    return NULL;
  }
  /* the normalised axes go last (a permuted view, recorded) unless they already are */
  int perm[DNN_MAX_DIMS], inv[DNN_MAX_DIMS], np = 0;
  bool trailing = true;
  for (int i = 0; i < naxes; i++)
    if (ax[i] != x->ndim - naxes + i) trailing = false;
  dnn_tensor *xp;
  if (trailing) {
    dnn_tensor_retain((dnn_tensor *)x);
    xp = (dnn_tensor *)x;
  } else {
    for (int d = 0, k = 0; d < x->ndim; d++) {
      if (k < naxes && ax[k] == d) { k++; continue; }
      perm[np++] = d;
    }
    for (int i = 0; i < naxes; i++) perm[np++] = ax[i];
    for (int i = 0; i < x->ndim; i++) inv[perm[i]] = i;
    xp = dnn_ag_permute((dnn_tensor *)x, perm);
    DNN_CHECK_NULL(xp);
  }
  dnn_tensor *y = NULL, *stats = NULL;
  if (dnn_layer_norm(xp, D, gamma, beta, epsilon, &y, &stats) == DNN_OK) {
    const dnn_tensor *ins[3] = {xp, gamma, beta};
    ln_setup_ctx c = {xp, stats, gamma, D};
    y = dnn_ag_finish(y, "layer_norm", ln_backward, 3, ins, ln_setup, &c);
  }
  dnn_tensor_release(stats);
  dnn_tensor_release(xp);
  if (y && !trailing) { /* back to the input's layout, contiguous for what follows */
    dnn_tensor *back = dnn_ag_permute(y, inv);
    dnn_tensor_release(y);
    y = back ? dnn_ag_contiguous(back) : NULL;
    dnn_tensor_release(back);
  }
  return y;
}
