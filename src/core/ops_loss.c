/* Front ends of the fused crossentropies: operand checks (before anything is
 * allocated), contiguous operands in y_pred's dtype, outputs, dispatch.  The
 * kernels (cpu/loss_xent.c) see y_pred as (outer, C, inner) rows. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

dnn_xent_opts dnn_xent_defaults(void) {
  dnn_xent_opts o = {.axis = -1};
  return o;
}

const char *dnn_xent_name(dnn_op op) {
  switch (op) {
    case DNN_OP_CATEGORICAL_CROSSENTROPY:
    case DNN_OP_CATEGORICAL_CROSSENTROPY_BACKWARD: return "categorical_crossentropy";
    case DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY:
    case DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD: return "sparse_categorical_crossentropy";
    default: return "binary_crossentropy";
  }
}

static bool is_sparse(dnn_op op) {
  return op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY;
}

static dnn_op backward_op(dnn_op op) {
  switch (op) {
    case DNN_OP_CATEGORICAL_CROSSENTROPY: return DNN_OP_CATEGORICAL_CROSSENTROPY_BACKWARD;
    case DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY: return DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD;
    default: return DNN_OP_BINARY_CROSSENTROPY_BACKWARD;
  }
}

/* y_pred's shape without the axis: the loss's shape. */
static int reduced_shape(const dnn_tensor *t, int axis, int64_t *shape) {
  int n = 0;
  for (int d = 0; d < t->ndim; d++)
    if (d != axis) shape[n++] = t->shape[d];
  return n;
}

/* Checks what the kernels rely on; returns the 0-based class axis or -1. */
static int check_operands(dnn_op op, const dnn_tensor *y_true, const dnn_tensor *y_pred, const dnn_xent_opts *o) {
  const char *name = dnn_xent_name(op);
  char b0[200], b1[200], b2[200], b3[200];
  if (!y_true || !y_pred) {
    dnn_error(DNN_ERR_ARG, "%s: y_true and y_pred are required", name);
    return -1;
  }
  if (!dnn_dtype_is_float((dnn_dtype)y_pred->dtype)) {
    dnn_error(DNN_ERR_DTYPE, "%s: y_pred must be float32 or float64, got %s (convert with :float())", name,
              dnn_dtype_name((dnn_dtype)y_pred->dtype));
    return -1;
  }
  if (y_pred->ndim == 0) {
    dnn_error(DNN_ERR_SHAPE, "%s: y_pred is a 0-d tensor; it needs an axis of classes (e.g. [batch, classes])",
              name);
    return -1;
  }
  int n = y_pred->ndim;
  if (o->axis < -n || o->axis >= n) {
    dnn_error(DNN_ERR_INDEX, "%s: axis %d out of range for y_pred %s (axes are 1..%d or -%d..-1)", name,
              o->axis >= 0 ? o->axis + 1 : o->axis, DNN_SHAPE_STR(y_pred, b0), n, n);
    return -1;
  }
  int axis = o->axis < 0 ? o->axis + n : o->axis;
  if (y_pred->shape[axis] == 0) {
    dnn_error(DNN_ERR_SHAPE, "%s: y_pred %s has no classes along axis %d", name, DNN_SHAPE_STR(y_pred, b0),
              axis + 1);
    return -1;
  }
  if (!is_sparse(op) && !(o->label_smoothing >= 0 && o->label_smoothing <= 1)) {
    dnn_error(DNN_ERR_ARG, "%s: label_smoothing must be in [0, 1], got %g", name, o->label_smoothing);
    return -1;
  }
  const dnn_tensor *ts[2] = {y_true, y_pred};
  if (dnn_check_same_device(name, 2, ts) != DNN_OK) return -1;
  if (!is_sparse(op)) {
    if (y_true->ndim != n || memcmp(y_true->shape, y_pred->shape, sizeof(int64_t) * (size_t)n) != 0) {
      dnn_error(DNN_ERR_SHAPE, "%s: y_true %s and y_pred %s must have the same shape", name,
                DNN_SHAPE_STR(y_true, b0), DNN_SHAPE_STR(y_pred, b1));
      return -1;
    }
    return axis;
  }
  /* labels: y_pred's shape without the class axis, or with a 1 in its place */
  int64_t want[DNN_MAX_DIMS], keep[DNN_MAX_DIMS];
  int nw = reduced_shape(y_pred, axis, want);
  memcpy(keep, y_pred->shape, sizeof(int64_t) * (size_t)n);
  keep[axis] = 1;
  bool fits = (y_true->ndim == nw && memcmp(y_true->shape, want, sizeof(int64_t) * (size_t)nw) == 0) ||
              (y_true->ndim == n && memcmp(y_true->shape, keep, sizeof(int64_t) * (size_t)n) == 0);
  if (!fits) {
    dnn_error(DNN_ERR_SHAPE,
              "%s: labels %s do not fit y_pred %s: expected one class id per sample, shape %s (or %s) "
              "for classes along axis %d",
              name, DNN_SHAPE_STR(y_true, b0), DNN_SHAPE_STR(y_pred, b1), dnn_shape_str(nw, want, b2),
              dnn_shape_str(n, keep, b3), axis + 1);
    return -1;
  }
  return axis;
}

/* y_true in y_pred's dtype (dense) or as given (labels), contiguous. */
static dnn_tensor *prepared_target(dnn_op op, const dnn_tensor *y_true, const dnn_tensor *y_pred) {
  if (is_sparse(op)) return dnn_contiguous((dnn_tensor *)y_true);
  dnn_tensor *c = dnn_to_dtype((dnn_tensor *)y_true, (dnn_dtype)y_pred->dtype);
  DNN_CHECK_NULL(c);
  dnn_tensor *r = dnn_contiguous(c);
  dnn_tensor_release(c);
  return r;
}

static void fill_args(dnn_op_args *a, dnn_op op, int axis, const dnn_xent_opts *o) {
  memset(a, 0, sizeof *a);
  a->op = op;
  a->dim = axis;
  a->flag = o->from_logits;
  a->s0 = o->label_smoothing;
  a->has_s1 = o->has_ignore_class;
  a->k = o->ignore_class;
}

dnn_tensor *dnn_xent_forward(dnn_op op, const dnn_tensor *y_true, const dnn_tensor *y_pred,
                             const dnn_xent_opts *o, dnn_tensor **aux) {
  if (aux) *aux = NULL;
  dnn_xent_opts def = dnn_xent_defaults();
  if (!o) o = &def;
  int axis = check_operands(op, y_true, y_pred, o);
  if (axis < 0) return NULL;
  int64_t shape[DNN_MAX_DIMS];
  int nd = reduced_shape(y_pred, axis, shape);
  dnn_tensor *pred = dnn_contiguous((dnn_tensor *)y_pred);
  dnn_tensor *tgt = pred ? prepared_target(op, y_true, pred) : NULL;
  dnn_tensor *out = tgt ? dnn_empty(nd, shape, (dnn_dtype)pred->dtype, dnn_tensor_device(pred)) : NULL;
  bool want_aux = aux && op != DNN_OP_BINARY_CROSSENTROPY;
  dnn_tensor *ax = out && want_aux ? dnn_empty(nd, shape, (dnn_dtype)pred->dtype, dnn_tensor_device(pred)) : NULL;
  dnn_status st = DNN_ERR_MEMORY;
  if (out && (ax || !want_aux)) {
    dnn_op_args a;
    fill_args(&a, op, axis, o);
    a.out = out;
    a.out2 = ax;
    a.in[0] = pred;
    a.in[1] = tgt;
    a.n_in = 2;
    st = dnn_dispatch(dnn_tensor_device(pred), &a);
  }
  dnn_tensor_release(pred);
  dnn_tensor_release(tgt);
  if (st != DNN_OK) {
    dnn_tensor_release(out);
    dnn_tensor_release(ax);
    return NULL;
  }
  if (aux) *aux = ax;
  return out;
}

dnn_status dnn_xent_backward(dnn_op op, const dnn_tensor *grad, const dnn_tensor *y_true,
                             const dnn_tensor *y_pred, const dnn_tensor *aux, const dnn_xent_opts *o,
                             dnn_tensor **d_pred, dnn_tensor **d_true) {
  if (d_pred) *d_pred = NULL;
  if (d_true) *d_true = NULL;
  dnn_xent_opts def = dnn_xent_defaults();
  if (!o) o = &def;
  const char *name = dnn_xent_name(op);
  int axis = check_operands(op, y_true, y_pred, o);
  if (axis < 0) return dnn_error_code();
  if (is_sparse(op)) d_true = NULL; /* class ids have no gradient */
  int64_t shape[DNN_MAX_DIMS];
  int nd = reduced_shape(y_pred, axis, shape);
  char b0[200], b1[200];
  if (!grad || grad->ndim != nd || memcmp(grad->shape, shape, sizeof(int64_t) * (size_t)nd) != 0)
    return dnn_error(DNN_ERR_SHAPE, "%s backward: gradient %s does not match the loss %s", name,
                     grad ? DNN_SHAPE_STR(grad, b0) : "(none)", dnn_shape_str(nd, shape, b1));
  bool need_aux = op != DNN_OP_BINARY_CROSSENTROPY;
  if (need_aux && (!aux || aux->ndim != nd || memcmp(aux->shape, shape, sizeof(int64_t) * (size_t)nd) != 0))
    return dnn_error(DNN_ERR_ARG, "%s backward: the forward's saved row statistics are missing", name);
  dnn_dtype dt = (dnn_dtype)y_pred->dtype;
  dnn_tensor *pred = dnn_contiguous((dnn_tensor *)y_pred);
  dnn_tensor *tgt = pred ? prepared_target(op, y_true, pred) : NULL;
  dnn_tensor *g0 = tgt ? dnn_to_dtype((dnn_tensor *)grad, dt) : NULL;
  dnn_tensor *g = g0 ? dnn_contiguous(g0) : NULL;
  dnn_tensor *a0 = g && need_aux ? dnn_to_dtype((dnn_tensor *)aux, dt) : NULL;
  dnn_tensor *ax = a0 ? dnn_contiguous(a0) : NULL;
  bool ok = g && (ax || !need_aux);
  dnn_tensor *dx = ok && d_pred ? dnn_empty(y_pred->ndim, y_pred->shape, dt, dnn_tensor_device(pred)) : NULL;
  dnn_tensor *dtt = ok && d_true ? dnn_empty(y_pred->ndim, y_pred->shape, dt, dnn_tensor_device(pred)) : NULL;
  dnn_status st = DNN_ERR_MEMORY;
  if (ok && (dx || !d_pred) && (dtt || !d_true)) {
    st = DNN_OK;
    if (dx || dtt) {
      dnn_op_args a;
      fill_args(&a, backward_op(op), axis, o);
      a.out = dx;
      a.out2 = dtt;
      a.in[0] = g;
      a.in[1] = pred;
      a.in[2] = tgt;
      a.in[3] = ax;
      a.n_in = 4;
      st = dnn_dispatch(dnn_tensor_device(pred), &a);
    }
  }
  dnn_tensor_release(pred);
  dnn_tensor_release(tgt);
  dnn_tensor_release(g0);
  dnn_tensor_release(g);
  dnn_tensor_release(a0);
  dnn_tensor_release(ax);
  if (st != DNN_OK) {
    dnn_tensor_release(dx);
    dnn_tensor_release(dtt);
    return dnn_error_code() ? dnn_error_code() : st;
  }
  if (d_pred) *d_pred = dx;
  if (d_true) *d_true = dtt;
  return DNN_OK;
}

dnn_tensor *dnn_categorical_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                         const dnn_xent_opts *o) {
  return dnn_xent_forward(DNN_OP_CATEGORICAL_CROSSENTROPY, y_true, y_pred, o, NULL);
}

dnn_tensor *dnn_sparse_categorical_crossentropy(const dnn_tensor *labels, const dnn_tensor *y_pred,
                                                const dnn_xent_opts *o) {
  return dnn_xent_forward(DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY, labels, y_pred, o, NULL);
}

dnn_tensor *dnn_binary_crossentropy(const dnn_tensor *y_true, const dnn_tensor *y_pred,
                                    const dnn_xent_opts *o) {
  return dnn_xent_forward(DNN_OP_BINARY_CROSSENTROPY, y_true, y_pred, o, NULL);
}
