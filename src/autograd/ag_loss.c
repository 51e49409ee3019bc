/* Differentiable fused crossentropies: the node saves y_pred, the target and
 * the forward's row statistics (log-sum-exp or sum of probabilities), so the
 * backward is one fused kernel (e.g. softmax - onehot for sparse logits). */
#include "arena.h"

/* Node fields: op = forward op, dim = axis, flag = from_logits,
 * s0 = label_smoothing, s1 = 1 when ignore_class is set, k = ignore_class. */
static dnn_xent_opts node_opts(const dnn_node *n) {
  dnn_xent_opts o = dnn_xent_defaults();
  o.axis = n->dim;
  o.from_logits = n->flag;
  o.label_smoothing = n->s0;
  o.has_ignore_class = n->s1 != 0;
  o.ignore_class = n->k;
  return o;
}

/* edges: 0 = y_pred, 1 = y_true (dense families only) */
static dnn_status xent_backward(dnn_node *n, const dnn_tensor *grad, dnn_tensor **gin) {
  ag_arena arv = {0}, *ar = &arv;
  dnn_xent_opts o = node_opts(n);
  bool want_pred = n->edges[0].needs, want_true = n->n_in > 1 && n->edges[1].needs;
  dnn_tensor *dp = NULL, *dt = NULL;
  dnn_status st = dnn_xent_backward(n->op, grad, n->saved[1], n->saved[0], n->saved[2], &o,
                                    want_pred ? &dp : NULL, want_true ? &dt : NULL);
  if (st != DNN_OK) return st;
  if (dp) ar_keep(ar, dp);
  if (dt) ar_keep(ar, dt);
  gin[0] = ar_grad_for(ar, n, 0, dp);
  if (n->n_in > 1) gin[1] = ar_grad_for(ar, n, 1, dt);
  return ar_end(ar, n->n_in, gin);
}

typedef struct {
  dnn_op op;
  const dnn_xent_opts *o;
  const dnn_tensor *y_true, *y_pred, *aux;
} xent_ctx;

static dnn_status xent_setup(dnn_node *n, void *vctx) {
  xent_ctx *c = vctx;
  n->op = c->op;
  n->dim = c->o->axis;
  n->flag = c->o->from_logits;
  n->s0 = c->o->label_smoothing;
  n->s1 = c->o->has_ignore_class ? 1 : 0;
  n->k = c->o->ignore_class;
  if (dnn_ag_save(n, 0, c->y_pred) != DNN_OK || dnn_ag_save(n, 1, c->y_true) != DNN_OK) return dnn_error_code();
  return c->aux ? dnn_ag_save(n, 2, c->aux) : DNN_OK;
}

static dnn_tensor *ag_xent(dnn_op op, const dnn_tensor *y_true, const dnn_tensor *y_pred, const dnn_xent_opts *o) {
  dnn_xent_opts def = dnn_xent_defaults();
  if (!o) o = &def;
  bool sparse = op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY;
  const dnn_tensor *inputs[2] = {y_pred, y_true};
  int n_in = sparse ? 1 : 2;
  bool record = y_pred && y_true && dnn_ag_should_record(n_in, inputs);
  dnn_tensor *aux = NULL;
  dnn_tensor *out = dnn_xent_forward(op, y_true, y_pred, o, record ? &aux : NULL);
  xent_ctx c = {op, o, y_true, y_pred, aux};
  out = dnn_ag_finish(out, dnn_xent_name(op), xent_backward, n_in, inputs, xent_setup, &c);
  dnn_tensor_release(aux); /* the node keeps its own alias */
  return out;
}

dnn_tensor *dnn_ag_categorical_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                            const dnn_xent_opts *o) {
  return ag_xent(DNN_OP_CATEGORICAL_CROSSENTROPY, y_true, y_pred, o);
}

dnn_tensor *dnn_ag_sparse_categorical_crossentropy(const dnn_tensor *labels, const dnn_tensor *y_pred,
                                                   const dnn_xent_opts *o) {
  return ag_xent(DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY, labels, y_pred, o);
}

dnn_tensor *dnn_ag_binary_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                       const dnn_xent_opts *o) {
  return ag_xent(DNN_OP_BINARY_CROSSENTROPY, y_true, y_pred, o);
}
