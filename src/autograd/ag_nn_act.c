/* Differentiable activations and softmax: the backward of each is one fused
 * kernel (g * act'(.), or the softmax Jacobian-vector product). */
#include "../core/ops_nn.h"
#include "arena.h"

/* Activations whose derivative is exact and cheap from the output keep y;
 * the others keep x. */
static bool keeps_output(dnn_activation act) {
  return act == DNN_ACT_RELU || act == DNN_ACT_SIGMOID || act == DNN_ACT_TANH || act == DNN_ACT_EXPONENTIAL;
}

static dnn_status act_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  dnn_activation act = (dnn_activation)n->k;
  const dnn_tensor *x = keeps_output(act) ? NULL : n->saved[0], *y = keeps_output(act) ? n->saved[0] : NULL;
  const dnn_tensor *gx = ar_keep(ar, dnn_activate_backward(g, x, y, act, n->s0));
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

typedef struct {
  const dnn_tensor *saved;
  dnn_activation act;
  double alpha;
} act_setup_ctx;

static dnn_status act_setup(dnn_node *n, void *vctx) {
  act_setup_ctx *c = vctx;
  n->k = c->act;
  n->s0 = c->alpha;
  return dnn_ag_save(n, 0, c->saved);
}

dnn_tensor *dnn_ag_activate(const dnn_tensor *x, dnn_activation act, double alpha) {
  dnn_tensor *out = dnn_activate(x, act, alpha);
  act_setup_ctx c = {keeps_output(act) ? out : x, act, alpha};
  return dnn_ag_finish(out, dnn_activation_name(act), act_backward, 1, &x, act_setup, &c);
}

/* ---- softmax ---- */

static dnn_status softmax_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  const dnn_tensor *gx = ar_keep(ar, dnn_softmax_backward(g, n->saved[0], n->dim, n->flag));
  gin[0] = ar_grad_for(ar, n, 0, gx);
  return ar_end(ar, 1, gin);
}

typedef struct {
  const dnn_tensor *y;
  int dim;
  bool log;
} sm_setup_ctx;

static dnn_status softmax_setup(dnn_node *n, void *vctx) {
  sm_setup_ctx *c = vctx;
  n->dim = c->dim;
  n->flag = c->log;
  return dnn_ag_save(n, 0, c->y);
}

dnn_tensor *dnn_ag_softmax(const dnn_tensor *x, int dim, bool log) {
  dnn_tensor *out = dnn_softmax(x, dim, log);
  sm_setup_ctx c = {out, dim, log};
  return dnn_ag_finish(out, log ? "log_softmax" : "softmax", softmax_backward, 1, &x, softmax_setup, &c);
}
