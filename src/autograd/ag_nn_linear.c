/* The differentiable dense layer.  Backward, with gz = g * act'(y):
 *   grad_x = gz @ kernel^T, grad_kernel = x^T @ gz (x flattened to (M, in)),
 *   grad_bias = column sums of gz,
 * where gz and grad_bias come out of one pass over g (LINEAR_BACKWARD), and
 * the two products are single GEMMs (grad_kernel by LINEAR_KERNEL_GRAD, which
 * reads x as it is stored; grad_x by matmul on a transposed view).  An
 * input that needs no gradient (the data, usually) costs nothing. */
#include "../core/ops_nn.h"
#include "arena.h"

#define X_SAVED(n) ((n)->saved[0])
#define K_SAVED(n) ((n)->saved[1])
#define Y_SAVED(n) ((n)->saved[2])

static dnn_status linear_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *x = X_SAVED(n), *kernel = K_SAVED(n), *y = Y_SAVED(n);
  dnn_activation act = (dnn_activation)n->k;
  int64_t K = kernel->shape[0], N = kernel->shape[1], M = 1;
  for (int d = 0; d < x->ndim - 1; d++) M *= x->shape[d];
  bool need_x = n->edges[0].needs, need_k = n->edges[1].needs, need_b = n->n_in > 2 && n->edges[2].needs;
  int64_t mn[2] = {M, N}, mk[2] = {M, K};
  dnn_tensor *gc = ar_keep(ar, dnn_contiguous((dnn_tensor *)g));
  dnn_tensor *gz = gc, *gb = NULL;
  if (gc && (act != DNN_ACT_LINEAR || need_b)) {
    if (act != DNN_ACT_LINEAR) gz = ar_keep(ar, dnn_empty(g->ndim, g->shape, (dnn_dtype)g->dtype, dnn_tensor_device(g)));
    if (need_b) gb = dnn_empty(1, &N, (dnn_dtype)g->dtype, dnn_tensor_device(g));
    if (!gz || (need_b && !gb)) {
      ar->failed = true;
    } else {
      dnn_op_args a = {.op = DNN_OP_LINEAR_BACKWARD, .out = act != DNN_ACT_LINEAR ? gz : NULL, .out2 = gb,
                       .in = {gc, act != DNN_ACT_LINEAR ? y : NULL}, .n_in = 2, .k = act, .s0 = n->s0};
      if (dnn_dispatch(dnn_tensor_device(g), &a) != DNN_OK) ar->failed = true;
    }
  }
  dnn_tensor *gz2 = (need_x || need_k) && gz ? ar_keep(ar, dnn_view(gz, 2, mn)) : NULL;
  if (need_x && gz2) {
    dnn_tensor *kt = ar_keep(ar, dnn_transpose((dnn_tensor *)kernel, 0, 1));
    dnn_tensor *gx = kt ? ar_keep(ar, dnn_matmul(gz2, kt)) : NULL;
    if (gx) gin[0] = dnn_view(gx, x->ndim, x->shape);
    if (!gin[0]) ar->failed = true;
  }
  if (need_k && gz2) { /* x^T @ gz through the dense layer's own kernel */
    dnn_tensor *x2 = ar_keep(ar, dnn_reshape((dnn_tensor *)x, 2, mk));
    dnn_tensor *gk = x2 ? dnn_empty(2, kernel->shape, (dnn_dtype)g->dtype, dnn_tensor_device(g)) : NULL;
    if (gk && !(x2->shape[0] > 1 && x2->shape[1] > 1) && !dnn_is_contiguous(x2)) {
      /* degenerate strides of a 1-row or 1-column view: give the kernel a plain copy */
      x2 = ar_keep(ar, dnn_contiguous(x2));
    }
    if (gk && x2) {
      dnn_op_args a = {.op = DNN_OP_LINEAR_KERNEL_GRAD, .out = gk, .in = {x2, gz2}, .n_in = 2};
      if (dnn_dispatch(dnn_tensor_device(g), &a) != DNN_OK) {
        dnn_tensor_release(gk);
        gk = NULL;
      }
    }
    gin[1] = gk;
    if (!gin[1]) ar->failed = true;
  }
  if (need_b) gin[2] = gb;
  else dnn_tensor_release(gb);
  return ar_end(ar, n->n_in, gin);
}

typedef struct {
  const dnn_tensor *x, *kernel, *y;
  dnn_activation act;
  double alpha;
} lin_setup_ctx;

static dnn_status linear_setup(dnn_node *n, void *vctx) {
  lin_setup_ctx *c = vctx;
  n->k = c->act;
  n->s0 = c->alpha;
  if (dnn_ag_save(n, 0, c->x) || dnn_ag_save(n, 1, c->kernel)) return dnn_error_code();
  return c->act != DNN_ACT_LINEAR ? dnn_ag_save(n, 2, c->y) : DNN_OK;
}

dnn_tensor *dnn_ag_linear(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias, dnn_activation act,
                          double alpha) {
  const dnn_tensor *ins[3] = {x, kernel, bias};
  int n_in = bias ? 3 : 2;
  if ((unsigned)act < DNN_ACT_COUNT && !dnn_activation_grad_from_output(act, alpha) &&
      dnn_ag_should_record(n_in, ins)) {
    /* the derivative needs the pre-activation: keep it as its own node */
    dnn_tensor *z = dnn_ag_linear(x, kernel, bias, DNN_ACT_LINEAR, 0);
    if (!z) return NULL;
    dnn_tensor *out = dnn_ag_activate(z, act, alpha);
    dnn_tensor_release(z);
    return out;
  }
  dnn_tensor *out = dnn_linear(x, kernel, bias, act, alpha);
  lin_setup_ctx c = {x, kernel, out, act, alpha};
  return dnn_ag_finish(out, "linear", linear_backward, n_in, ins, linear_setup, &c);
}
