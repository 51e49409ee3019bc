/* Front ends of reductions: dim normalisation, output dtype and shape, and the
 * (outer, R, inner) contiguous layout the kernels expect. */
#include <string.h>

#include "internal.h"

static dnn_dtype reduce_out_dtype(dnn_op op, dnn_dtype in) {
  switch (op) {
    case DNN_OP_SUM: case DNN_OP_PROD: case DNN_OP_CUMSUM: case DNN_OP_CUMPROD:
      return dnn_dtype_is_float(in) ? in : DNN_INT64;
    case DNN_OP_MEAN: case DNN_OP_VAR: case DNN_OP_LOGSUMEXP:
      return dnn_dtype_is_float(in) ? in : DNN_FLOAT32;
    case DNN_OP_ARGMAX: case DNN_OP_ARGMIN:
      return DNN_INT64;
    case DNN_OP_ALL: case DNN_OP_ANY:
      return DNN_BOOL;
    default:
      return in;
  }
}

/* Marks reduced dims; returns how many, or -1 with an error. */
static int mark_dims(const char *op, const dnn_tensor *t, int ndims, const int *dims, bool *red) {
  memset(red, 0, sizeof(bool) * DNN_MAX_DIMS);
  if (ndims == 0 || (ndims == 1 && dims[0] == DNN_ALL_DIMS)) {
    for (int i = 0; i < t->ndim; i++) red[i] = true;
    return t->ndim;
  }
  int n = 0;
  for (int i = 0; i < ndims; i++) {
    int d = dnn_wrap_dim(op, dims[i], t->ndim);
    if (d < 0) return -1;
    if (t->ndim == 0) continue;
    if (red[d]) {
      dnn_error(DNN_ERR_ARG, "%s: dim %d appears twice", op, d + 1);
      return -1;
    }
    red[d] = true;
    n++;
  }
  return n;
}

/* Makes a contiguous (outer, R, inner) view of t for the reduced dims. */
static dnn_tensor *layout_3d(const dnn_tensor *t, const bool *red) {
  int first = -1, last = -1;
  for (int i = 0; i < t->ndim; i++)
    if (red[i]) {
      if (first < 0) first = i;
      last = i;
    }
  bool block = true;
  for (int i = first; i >= 0 && i <= last; i++)
    if (!red[i]) block = false;
  dnn_tensor *src;
  int64_t outer = 1, R = 1, inner = 1;
  if (first < 0) { /* nothing reduced (0-d input) */
    src = dnn_contiguous((dnn_tensor *)t);
    DNN_CHECK_NULL(src);
  } else if (block) {
    src = dnn_contiguous((dnn_tensor *)t);
    DNN_CHECK_NULL(src);
    for (int i = 0; i < t->ndim; i++) {
      if (i < first) outer *= t->shape[i];
      else if (i > last) inner *= t->shape[i];
      else R *= t->shape[i];
    }
  } else { /* move reduced dims to the end */
    int perm[DNN_MAX_DIMS], k = 0;
    for (int i = 0; i < t->ndim; i++)
      if (!red[i]) {
        perm[k++] = i;
        outer *= t->shape[i];
      }
    for (int i = 0; i < t->ndim; i++)
      if (red[i]) {
        perm[k++] = i;
        R *= t->shape[i];
      }
    dnn_tensor *p = dnn_permute((dnn_tensor *)t, perm);
    DNN_CHECK_NULL(p);
    src = dnn_contiguous(p);
    dnn_tensor_release(p);
    DNN_CHECK_NULL(src);
  }
  int64_t shape3[3] = {outer, R, inner}, strides3[3] = {R * inner, inner, 1};
  dnn_tensor *v = dnn_as_strided(src, 3, shape3, strides3, src->offset);
  dnn_tensor_release(src);
  return v;
}

static int out_shape(const dnn_tensor *t, const bool *red, bool keepdim, int64_t *shape) {
  int k = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (!red[i]) shape[k++] = t->shape[i];
    else if (keepdim) shape[k++] = 1;
  }
  return k;
}

static dnn_status run_reduce(dnn_op op, const dnn_tensor *t, int ndims, const int *dims, bool keepdim,
                             int64_t correction, bool want_indices, dnn_tensor **values,
                             dnn_tensor **indices) {
  const char *name = dnn_op_name(op);
  bool red[DNN_MAX_DIMS];
  if (mark_dims(name, t, ndims, dims, red) < 0) return dnn_error_code();
  int64_t R = 1;
  for (int i = 0; i < t->ndim; i++)
    if (red[i]) R *= t->shape[i];
  bool needs_values = op == DNN_OP_MAX || op == DNN_OP_MIN || op == DNN_OP_ARGMAX || op == DNN_OP_ARGMIN;
  if (R == 0 && needs_values) {
    char buf[200];
    return dnn_error(DNN_ERR_SHAPE, "%s: cannot reduce over zero elements (input shape %s)", name,
                     DNN_SHAPE_STR(t, buf));
  }
  int64_t shape[DNN_MAX_DIMS];
  int nd = out_shape(t, red, keepdim, shape);
  dnn_tensor *cast = NULL;
  const dnn_tensor *src = t;
  if ((op == DNN_OP_MEAN || op == DNN_OP_VAR || op == DNN_OP_LOGSUMEXP) && !dnn_dtype_is_float((dnn_dtype)t->dtype)) {
    cast = dnn_to_dtype((dnn_tensor *)t, DNN_FLOAT32);
    if (!cast) return dnn_error_code();
    src = cast;
  }
  dnn_tensor *v3 = layout_3d(src, red);
  dnn_tensor_release(cast);
  if (!v3) return dnn_error_code();
  dnn_tensor *out = dnn_empty(nd, shape, reduce_out_dtype(op, (dnn_dtype)v3->dtype), dnn_tensor_device(t));
  dnn_tensor *idx = (out && want_indices) ? dnn_empty(nd, shape, DNN_INT64, dnn_tensor_device(t)) : NULL;
  dnn_status st = DNN_OK;
  if (!out || (want_indices && !idx)) {
    st = dnn_error_code();
  } else {
    dnn_op_args a = {.op = op, .out = out, .out2 = idx, .in = {v3}, .n_in = 1, .k = correction, .keepdim = keepdim};
    st = dnn_dispatch(dnn_tensor_device(t), &a);
  }
  dnn_tensor_release(v3);
  if (st != DNN_OK) {
    dnn_tensor_release(out);
    dnn_tensor_release(idx);
    return st;
  }
  *values = out;
  if (indices) *indices = idx;
  return DNN_OK;
}

dnn_tensor *dnn_reduce(dnn_op op, const dnn_tensor *t, int ndims, const int *dims, bool keepdim) {
  if (op < DNN_OP_SUM || op > DNN_OP_LOGSUMEXP) {
    dnn_error(DNN_ERR_ARG, "%s is not a reduction", dnn_op_name(op));
    return NULL;
  }
  if ((op == DNN_OP_ARGMAX || op == DNN_OP_ARGMIN) && ndims > 1) {
    dnn_error(DNN_ERR_ARG, "%s: takes one dim or none", dnn_op_name(op));
    return NULL;
  }
  dnn_tensor *out = NULL;
  if (run_reduce(op, t, ndims, dims, keepdim, 1, false, &out, NULL) != DNN_OK) return NULL;
  return out;
}

dnn_status dnn_reduce_with_indices(dnn_op op, const dnn_tensor *t, int dim, bool keepdim,
                                   dnn_tensor **values, dnn_tensor **indices) {
  if (op != DNN_OP_MAX && op != DNN_OP_MIN)
    return dnn_error(DNN_ERR_ARG, "%s: has no indices form", dnn_op_name(op));
  return run_reduce(op, t, 1, &dim, keepdim, 1, true, values, indices);
}

dnn_tensor *dnn_var(const dnn_tensor *t, int ndims, const int *dims, int64_t correction, bool keepdim) {
  dnn_tensor *out = NULL;
  if (run_reduce(DNN_OP_VAR, t, ndims, dims, keepdim, correction, false, &out, NULL) != DNN_OK) return NULL;
  return out;
}

dnn_tensor *dnn_cumulative(dnn_op op, const dnn_tensor *t, int dim) {
  const char *name = dnn_op_name(op);
  int d = dnn_wrap_dim(name, dim, t->ndim);
  if (d < 0) return NULL;
  dnn_tensor *c = dnn_contiguous((dnn_tensor *)t);
  DNN_CHECK_NULL(c);
  int64_t outer = 1, R = t->ndim ? t->shape[d] : 1, inner = 1;
  for (int i = 0; i < t->ndim; i++) {
    if (i < d) outer *= t->shape[i];
    if (i > d) inner *= t->shape[i];
  }
  int64_t shape3[3] = {outer, R, inner}, strides3[3] = {R * inner, inner, 1};
  dnn_tensor *v3 = dnn_as_strided(c, 3, shape3, strides3, c->offset);
  dnn_tensor_release(c);
  DNN_CHECK_NULL(v3);
  dnn_tensor *out = dnn_empty(t->ndim, t->shape, reduce_out_dtype(op, (dnn_dtype)t->dtype), dnn_tensor_device(t));
  if (out) {
    dnn_op_args a = {.op = op, .out = out, .in = {v3}, .n_in = 1};
    if (dnn_dispatch(dnn_tensor_device(t), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(v3);
  return out;
}
