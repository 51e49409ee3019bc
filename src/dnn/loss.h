/* Engine API of the loss area (included at the end of dnn.h).
 *
 * Fused crossentropies with Keras 2.15 semantics (core/ops_loss.c, kernels in
 * cpu/loss_*.c, gradients in autograd/ag_loss.c).  y_pred is float32/float64
 * with the classes along `axis`; the result is y_pred's shape without that axis.
 *  - from_logits: y_pred holds logits; the kernels use log-sum-exp (softmax)
 *    or max(x,0) - x*z + log1p(exp(-|x|)) (sigmoid), stable for any finite x.
 *  - otherwise y_pred holds probabilities, clipped to [eps, 1-eps] with
 *    eps = 1e-7 as Keras does (categorical also divides by their sum first).
 *  - label_smoothing in [0, 1]: t*(1-ls) + ls/C (categorical), t*(1-ls) + ls/2
 *    (binary).
 * Regression losses are composed from tensor ops in lua/dnn/losses.lua. */
#ifndef DNN_LOSS_H
#define DNN_LOSS_H

#define DNN_LOSS_EPSILON 1e-7 /* Keras's backend.epsilon() */

typedef struct {
  int axis;               /* class axis, 0-based or negative (-1: the last) */
  bool from_logits;
  double label_smoothing; /* categorical and binary */
  bool has_ignore_class;  /* sparse: labels equal to ignore_class give 0 */
  int64_t ignore_class;
} dnn_xent_opts;

/* Defaults: axis -1, probabilities, no smoothing, no ignored class. */
dnn_xent_opts dnn_xent_defaults(void);

/* -sum(t * log p) along axis.  y_true has y_pred's shape (any numeric dtype;
 * converted to y_pred's). */
dnn_tensor *dnn_categorical_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                         const dnn_xent_opts *o);
/* labels: 0-based class ids (integer, or float holding integers) shaped as
 * y_pred without the class axis (a size-1 dim in its place is accepted).
 * An id outside [0, C) other than ignore_class is an error naming it. */
dnn_tensor *dnn_sparse_categorical_crossentropy(const dnn_tensor *labels, const dnn_tensor *y_pred,
                                                const dnn_xent_opts *o);
/* Mean over axis of the elementwise binary crossentropy; y_true as y_pred. */
dnn_tensor *dnn_binary_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                    const dnn_xent_opts *o);

/* "categorical_crossentropy", "sparse_categorical_crossentropy" or
 * "binary_crossentropy" for a forward or backward op of the family
 * (dnn_op_name keeps only 23 characters). */
const char *dnn_xent_name(dnn_op op);

/* The three above in one entry: op is DNN_OP_CATEGORICAL_CROSSENTROPY,
 * _SPARSE_CATEGORICAL_ or _BINARY_.  *aux (may be NULL) receives what the
 * backward reuses: the row's log-sum-exp (logits) or sum of probabilities. */
dnn_tensor *dnn_xent_forward(dnn_op op, const dnn_tensor *y_true, const dnn_tensor *y_pred,
                             const dnn_xent_opts *o, dnn_tensor **aux);
/* Gradients of sum(grad * loss): *d_pred (y_pred's shape) and, for the dense
 * families, *d_true (y_true's shape); pass NULL for one not wanted.  aux is
 * the forward's (NULL for binary). */
dnn_status dnn_xent_backward(dnn_op op, const dnn_tensor *grad, const dnn_tensor *y_true,
                             const dnn_tensor *y_pred, const dnn_tensor *aux, const dnn_xent_opts *o,
                             dnn_tensor **d_pred, dnn_tensor **d_true);

/* Differentiable forms (record on the tape when an input requires grad;
 * y_true may require grad in the dense families). */
dnn_tensor *dnn_ag_categorical_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                            const dnn_xent_opts *o);
dnn_tensor *dnn_ag_sparse_categorical_crossentropy(const dnn_tensor *labels, const dnn_tensor *y_pred,
                                                   const dnn_xent_opts *o);
dnn_tensor *dnn_ag_binary_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                       const dnn_xent_opts *o);

#endif
