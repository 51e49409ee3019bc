/* Front ends of batch and layer normalisation: check, allocate, dispatch. */
#include "ops_nn.h"

static dnn_status run(const dnn_tensor *dev_of, dnn_op_args *a) { return dnn_dispatch(dnn_tensor_device(dev_of), a); }

static dnn_status check_axis(const char *op, const dnn_tensor *x, int axis, int *out) {
  DNN_RETURN_IF_ERR(nn_check_float(op, "the input", x));
  if (x->ndim < 1) return dnn_error(DNN_ERR_SHAPE, "%s: needs at least 1 dim, got a 0-d tensor", op);
  int d = dnn_wrap_dim(op, axis, x->ndim);
  if (d < 0) return dnn_error_code();
  *out = d;
  return DNN_OK;
}

/* stats is (2, C) with x's dtype. */
static dnn_status check_stats(const char *op, const dnn_tensor *stats, const dnn_tensor *x, int64_t C) {
  char b0[200];
  DNN_RETURN_IF_ERR(nn_check_like(op, "stats", stats, x));
  if (stats->ndim != 2 || stats->shape[0] != 2 || stats->shape[1] != C)
    return dnn_error(DNN_ERR_SHAPE, "%s: stats %s must be [2,%lld] (mean; variance)", op, DNN_SHAPE_STR(stats, b0),
                     (long long)C);
  return DNN_OK;
}

dnn_tensor *dnn_batch_norm_stats(const dnn_tensor *x, int axis) {
  int d = 0;
  if (check_axis("batch_norm", x, axis, &d)) return NULL;
  int64_t shape[2] = {2, x->shape[d]};
  dnn_tensor *xc = nn_contig(x);
  DNN_CHECK_NULL(xc);
  dnn_tensor *out = dnn_empty(2, shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_BATCH_NORM_STATS, .out = out, .in = {xc}, .n_in = 1, .dim = d};
    if (run(x, &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(xc);
  return out;
}

dnn_tensor *dnn_batch_norm(const dnn_tensor *x, const dnn_tensor *stats, const dnn_tensor *gamma,
                           const dnn_tensor *beta, int axis, double epsilon) {
  const char *op = "batch_norm";
  int d = 0;
  if (check_axis(op, x, axis, &d)) return NULL;
  int64_t C = x->shape[d];
  if (check_stats(op, stats, x, C) || nn_check_like(op, "gamma", gamma, x) || nn_check_like(op, "beta", beta, x) ||
      nn_check_vector(op, "gamma", gamma, C, "the features of the input") ||
      nn_check_vector(op, "beta", beta, C, "the features of the input"))
    return NULL;
  dnn_tensor *xc = nn_contig(x), *sc = nn_contig(stats), *gc = nn_contig(gamma), *bc = nn_contig(beta), *out = NULL;
  if (xc && sc && (gc || !gamma) && (bc || !beta))
    out = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_BATCH_NORM, .out = out, .in = {xc, sc, gc, bc}, .n_in = 4, .dim = d, .s0 = epsilon};
    if (run(x, &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(xc);
  dnn_tensor_release(sc);
  dnn_tensor_release(gc);
  dnn_tensor_release(bc);
  return out;
}

static dnn_status same_shape(const char *op, const dnn_tensor *g, const dnn_tensor *x) {
  char b0[200], b1[200];
  if (g->ndim == x->ndim) {
    int i = 0;
    while (i < g->ndim && g->shape[i] == x->shape[i]) i++;
    if (i == g->ndim) return DNN_OK;
  }
  return dnn_error(DNN_ERR_SHAPE, "%s backward: gradient %s does not match input %s", op, DNN_SHAPE_STR(g, b0),
                   DNN_SHAPE_STR(x, b1));
}

dnn_status dnn_batch_norm_backward(const dnn_tensor *g, const dnn_tensor *x, const dnn_tensor *stats,
                                   const dnn_tensor *gamma, int axis, double epsilon, bool training,
                                   dnn_tensor **dx, dnn_tensor **dparams) {
  const char *op = "batch_norm";
  int d = 0;
  if (dx) *dx = NULL;
  if (dparams) *dparams = NULL;
  DNN_RETURN_IF_ERR(check_axis(op, x, axis, &d));
  int64_t C = x->shape[d];
  DNN_RETURN_IF_ERR(check_stats(op, stats, x, C));
  DNN_RETURN_IF_ERR(nn_check_like(op, "the gradient", g, x));
  DNN_RETURN_IF_ERR(same_shape(op, g, x));
  DNN_RETURN_IF_ERR(nn_check_like(op, "gamma", gamma, x));
  DNN_RETURN_IF_ERR(nn_check_vector(op, "gamma", gamma, C, "the features of the input"));
  if (!dx && !dparams) return DNN_OK;
  dnn_status st = DNN_ERR_MEMORY;
  int64_t pshape[2] = {2, C};
  dnn_tensor *gc = nn_contig(g), *xc = nn_contig(x), *sc = nn_contig(stats), *mc = nn_contig(gamma);
  dnn_tensor *ox = NULL, *op2 = NULL;
  if (!gc || !xc || !sc || (gamma && !mc)) goto done;
  if (dx && !(ox = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x)))) goto done;
  if (dparams && !(op2 = dnn_empty(2, pshape, (dnn_dtype)x->dtype, dnn_tensor_device(x)))) goto done;
  dnn_op_args a = {.op = DNN_OP_BATCH_NORM_BACKWARD, .out = ox, .out2 = op2, .in = {gc, xc, sc, mc}, .n_in = 4,
                   .dim = d, .s0 = epsilon, .flag = training};
  st = run(x, &a);
done:
  if (st != DNN_OK) {
    if (st == DNN_ERR_MEMORY && !dnn_error_code()) dnn_error(DNN_ERR_MEMORY, "%s backward: out of memory", op);
    st = dnn_error_code() ? dnn_error_code() : st;
    dnn_tensor_release(ox);
    dnn_tensor_release(op2);
    ox = op2 = NULL;
  }
  if (dx) *dx = ox;
  if (dparams) *dparams = op2;
  dnn_tensor_release(gc);
  dnn_tensor_release(xc);
  dnn_tensor_release(sc);
  dnn_tensor_release(mc);
  return st;
}

/* ---- layer norm: x as (rows, D) ---- */

static dnn_status check_ln(const char *op, const dnn_tensor *x, int64_t D, const dnn_tensor *gamma,
                           const dnn_tensor *beta) {
  char b0[200];
  DNN_RETURN_IF_ERR(nn_check_float(op, "the input", x));
  int64_t n = dnn_numel(x);
  if (D <= 0 || n % D != 0)
    return dnn_error(DNN_ERR_SHAPE, "%s: input %s cannot be split into rows of %lld normalised values", op,
                     DNN_SHAPE_STR(x, b0), (long long)D);
  DNN_RETURN_IF_ERR(nn_check_like(op, "gamma", gamma, x));
  DNN_RETURN_IF_ERR(nn_check_like(op, "beta", beta, x));
  if (gamma && dnn_numel(gamma) != D)
    return dnn_error(DNN_ERR_SHAPE, "%s: gamma %s does not have the %lld normalised values", op,
                     DNN_SHAPE_STR(gamma, b0), (long long)D);
  if (beta && dnn_numel(beta) != D)
    return dnn_error(DNN_ERR_SHAPE, "%s: beta %s does not have the %lld normalised values", op,
                     DNN_SHAPE_STR(beta, b0), (long long)D);
  return DNN_OK;
}

/* Contiguous (rows, D) header of t (borrowed; t must be contiguous). */
static void rows_header(dnn_tensor *v, const dnn_tensor *t, int64_t D) {
  *v = *t;
  v->ndim = 2;
  v->shape[0] = dnn_numel(t) / D, v->shape[1] = D;
  v->strides[0] = D, v->strides[1] = 1;
}

dnn_status dnn_layer_norm(const dnn_tensor *x, int64_t D, const dnn_tensor *gamma, const dnn_tensor *beta,
                          double epsilon, dnn_tensor **y, dnn_tensor **stats) {
  const char *op = "layer_norm";
  *y = NULL;
  if (stats) *stats = NULL;
  DNN_RETURN_IF_ERR(check_ln(op, x, D, gamma, beta));
  int64_t rows = dnn_numel(x) / D, sshape[2] = {rows, 2};
  dnn_tensor *xc = nn_contig(x), *gc = nn_contig(gamma), *bc = nn_contig(beta), *out = NULL, *st = NULL;
  dnn_status s = DNN_OK;
  if (!xc || (gamma && !gc) || (beta && !bc) ||
      !(out = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x))) ||
      !(st = dnn_empty(2, sshape, (dnn_dtype)x->dtype, dnn_tensor_device(x)))) {
    s = dnn_error_code() ? dnn_error_code() : DNN_ERR_MEMORY;
  } else {
    dnn_tensor xv, ov;
    rows_header(&xv, xc, D);
    rows_header(&ov, out, D);
    dnn_op_args a = {.op = DNN_OP_LAYER_NORM, .out = &ov, .out2 = st, .in = {&xv, gc, bc}, .n_in = 3, .s0 = epsilon};
    s = run(x, &a);
  }
  if (s != DNN_OK) {
    dnn_tensor_release(out);
    dnn_tensor_release(st);
    out = st = NULL;
  }
  *y = out;
  if (stats) *stats = st;
  else dnn_tensor_release(st);
  dnn_tensor_release(xc);
  dnn_tensor_release(gc);
  dnn_tensor_release(bc);
  return s;
}

dnn_status dnn_layer_norm_backward(const dnn_tensor *g, const dnn_tensor *x, const dnn_tensor *stats,
                                   const dnn_tensor *gamma, int64_t D, dnn_tensor **dx, dnn_tensor **dparams) {
  const char *op = "layer_norm";
  char b0[200];
  if (dx) *dx = NULL;
  if (dparams) *dparams = NULL;
  DNN_RETURN_IF_ERR(check_ln(op, x, D, gamma, NULL));
  DNN_RETURN_IF_ERR(nn_check_like(op, "the gradient", g, x));
  DNN_RETURN_IF_ERR(same_shape(op, g, x));
  int64_t rows = dnn_numel(x) / D;
  DNN_RETURN_IF_ERR(nn_check_like(op, "stats", stats, x));
  if (stats->ndim != 2 || stats->shape[0] != rows || stats->shape[1] != 2)
    return dnn_error(DNN_ERR_SHAPE, "%s backward: stats %s must be [%lld,2]", op, DNN_SHAPE_STR(stats, b0),
                     (long long)rows);
  if (!dx && !dparams) return DNN_OK;
  int64_t pshape[2] = {2, D};
  dnn_tensor *gc = nn_contig(g), *xc = nn_contig(x), *sc = nn_contig(stats), *mc = nn_contig(gamma);
  dnn_tensor *ox = NULL, *op2 = NULL;
  dnn_status s = DNN_OK;
  if (!gc || !xc || !sc || (gamma && !mc) ||
      (dx && !(ox = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x)))) ||
      (dparams && !(op2 = dnn_empty(2, pshape, (dnn_dtype)x->dtype, dnn_tensor_device(x))))) {
    s = dnn_error_code() ? dnn_error_code() : DNN_ERR_MEMORY;
  } else {
    dnn_tensor gv, xv, ov;
    rows_header(&gv, gc, D);
    rows_header(&xv, xc, D);
    if (ox) rows_header(&ov, ox, D);
    dnn_op_args a = {.op = DNN_OP_LAYER_NORM_BACKWARD, .out = ox ? &ov : NULL, .out2 = op2,
                     .in = {&gv, &xv, sc, mc}, .n_in = 4};
    s = run(x, &a);
  }
  if (s != DNN_OK) {
    dnn_tensor_release(ox);
    dnn_tensor_release(op2);
    ox = op2 = NULL;
  }
  if (dx) *dx = ox;
  if (dparams) *dparams = op2;
  dnn_tensor_release(gc);
  dnn_tensor_release(xc);
  dnn_tensor_release(sc);
  dnn_tensor_release(mc);
  return s;
}
