/* Front ends of sort, topk, bincount and unique.  Sort and topk hand the
 * kernels a contiguous (outer, R, inner) view and sort along R. */
#include <string.h>

#include "ops_index.h"

/* Contiguous copy (or t itself, retained) and its (outer, R, inner) header. */
static dnn_tensor *layout3(const dnn_tensor *t, int d, dnn_tensor *v3) {
  dnn_tensor *c = dnn_contiguous((dnn_tensor *)t);
  DNN_CHECK_NULL(c);
  int64_t outer = 1, inner = 1, R = t->ndim ? t->shape[d] : 1;
  for (int i = 0; i < t->ndim; i++) {
    if (i < d) outer *= t->shape[i];
    if (i > d) inner *= t->shape[i];
  }
  *v3 = *c;
  v3->ndim = 3;
  v3->shape[0] = outer, v3->shape[1] = R, v3->shape[2] = inner;
  v3->strides[0] = R * inner, v3->strides[1] = inner, v3->strides[2] = 1;
  return c;
}

/* (outer, len, inner) header over a fresh contiguous output. */
static void out3(const dnn_tensor *out, const dnn_tensor *in3, int64_t len, dnn_tensor *v3) {
  *v3 = *out;
  v3->ndim = 3;
  v3->shape[0] = in3->shape[0], v3->shape[1] = len, v3->shape[2] = in3->shape[2];
  v3->strides[0] = len * in3->shape[2], v3->strides[1] = in3->shape[2], v3->strides[2] = 1;
}

/* Shared by sort and topk: k < 0 means the whole dim (sort). */
static dnn_status sort_like(dnn_op op, const dnn_tensor *t, int64_t k, int dim, bool flag, dnn_tensor **values,
                            dnn_tensor **indices) {
  const char *name = dnn_op_name(op);
  if (!values || !indices) return dnn_error(DNN_ERR_ARG, "%s: values and indices must not be NULL", name);
  *values = *indices = NULL;
  int d = dnn_wrap_dim(name, dim, t->ndim);
  if (d < 0) return dnn_error_code();
  int64_t R = t->ndim ? t->shape[d] : 1;
  if (k >= 0 && (k > R || (t->ndim == 0 && k != 1))) {
    char b0[200];
    return dnn_error(DNN_ERR_INDEX, "%s: k = %lld is out of range for dim %d of size %lld (input %s)", name,
                     (long long)k, d + 1, (long long)R, DNN_SHAPE_STR(t, b0));
  }
  if (k < 0) k = R;
  int64_t shape[DNN_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  if (t->ndim) shape[d] = k;
  dnn_tensor v3;
  dnn_tensor *c = layout3(t, d, &v3);
  if (!c) return dnn_error_code();
  dnn_device dev = dnn_tensor_device(t);
  dnn_tensor *vals = dnn_empty(t->ndim, shape, (dnn_dtype)t->dtype, dev);
  dnn_tensor *idx = vals ? dnn_empty(t->ndim, shape, DNN_INT64, dev) : NULL;
  dnn_status st = idx ? DNN_OK : dnn_error_code();
  if (st == DNN_OK) {
    dnn_tensor o3, i3;
    out3(vals, &v3, k, &o3);
    out3(idx, &v3, k, &i3);
    dnn_op_args a = {.op = op, .out = &o3, .out2 = &i3, .in = {&v3}, .n_in = 1, .dim = 1, .k = k, .flag = flag};
    st = dnn_dispatch(dev, &a);
  }
  dnn_tensor_release(c);
  if (st != DNN_OK) {
    dnn_tensor_release(vals);
    dnn_tensor_release(idx);
    return st;
  }
  *values = vals;
  *indices = idx;
  return DNN_OK;
}

dnn_status dnn_sort(const dnn_tensor *t, int dim, bool descending, dnn_tensor **values, dnn_tensor **indices) {
  return sort_like(DNN_OP_SORT, t, -1, dim, descending, values, indices);
}

dnn_status dnn_topk(const dnn_tensor *t, int64_t k, int dim, bool largest, dnn_tensor **values,
                    dnn_tensor **indices) {
  if (k < 0) {
    if (values) *values = NULL;
    if (indices) *indices = NULL;
    return dnn_error(DNN_ERR_ARG, "topk: k must be >= 0, got %lld", (long long)k);
  }
  return sort_like(DNN_OP_TOPK, t, k, dim, largest, values, indices);
}

dnn_tensor *dnn_bincount(const dnn_tensor *t, const dnn_tensor *weights, int64_t minlength) {
  const char *op = "bincount";
  char b0[200], b1[200];
  if (dnn_index_check_dtype(op, "input", t)) return NULL;
  if (t->ndim != 1) {
    dnn_error(DNN_ERR_SHAPE, "%s: input must be 1-d, got %s", op, DNN_SHAPE_STR(t, b0));
    return NULL;
  }
  if (minlength < 0) {
    dnn_error(DNN_ERR_ARG, "%s: minlength must be >= 0, got %lld", op, (long long)minlength);
    return NULL;
  }
  dnn_dtype odt = DNN_INT64;
  if (weights) {
    const dnn_tensor *ts[2] = {t, weights};
    if (dnn_check_same_device(op, 2, ts)) return NULL;
    if (weights->ndim != 1 || weights->shape[0] != t->shape[0]) {
      dnn_error(DNN_ERR_SHAPE, "%s: weights %s must have the input's shape %s", op, DNN_SHAPE_STR(weights, b0),
                DNN_SHAPE_STR(t, b1));
      return NULL;
    }
    odt = weights->dtype == DNN_FLOAT32 ? DNN_FLOAT32 : DNN_FLOAT64; /* as PyTorch */
  }
  int64_t lo = 0, hi = -1;
  if (dnn_numel(t) > 0) {
    if (dnn_index_minmax(t, &lo, &hi)) return NULL;
    if (lo < 0) {
      dnn_error(DNN_ERR_ARG, "%s: values must be non-negative, found %lld", op, (long long)lo);
      return NULL;
    }
  }
  int64_t len = hi + 1 > minlength ? hi + 1 : minlength;
  dnn_tensor *cast = dnn_to_dtype((dnn_tensor *)t, DNN_INT64);
  dnn_tensor *v = cast ? dnn_contiguous(cast) : NULL;
  dnn_tensor *wcast = v && weights ? dnn_to_dtype((dnn_tensor *)weights, odt) : NULL;
  dnn_tensor *w = wcast ? dnn_contiguous(wcast) : NULL;
  dnn_tensor *out = v && (!weights || w) ? dnn_zeros(1, &len, odt, dnn_tensor_device(t)) : NULL;
  if (!out && v && (!weights || w)) /* a huge value asks for a huge result */
    dnn_error(DNN_ERR_MEMORY, "%s: cannot allocate %lld bins (the largest value is %lld)", op, (long long)len,
              (long long)hi);
  if (out) {
    dnn_op_args a = {.op = DNN_OP_BINCOUNT, .out = out, .in = {v, w}, .n_in = w ? 2 : 1};
    if (dnn_dispatch(dnn_tensor_device(t), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(cast);
  dnn_tensor_release(v);
  dnn_tensor_release(wcast);
  dnn_tensor_release(w);
  return out;
}

/* Contiguous copy of narrow(t, 0, start, len): results must not keep the
 * kernel's full-size scratch storage alive. */
static dnn_tensor *copy_range(dnn_tensor *t, int64_t start, int64_t len) {
  dnn_tensor *v = dnn_narrow(t, 0, start, len);
  DNN_CHECK_NULL(v);
  dnn_tensor *c = dnn_clone(v);
  dnn_tensor_release(v);
  return c;
}

/* The UNIQUE kernel gets the flat input (n) and writes the sorted distinct
 * values into out (n) and, into the int64 aux (2n + 1): inverse [0, n),
 * counts [n, 2n) and the number of distinct values at [2n]. */
dnn_status dnn_unique(const dnn_tensor *t, dnn_tensor **values, dnn_tensor **inverse, dnn_tensor **counts) {
  if (!values) return dnn_error(DNN_ERR_ARG, "unique: values must not be NULL");
  *values = NULL;
  if (inverse) *inverse = NULL;
  if (counts) *counts = NULL;
  int64_t n = dnn_numel(t), flat_shape[1] = {n}, aux_len = 2 * n + 1;
  dnn_tensor *c = dnn_contiguous((dnn_tensor *)t);
  if (!c) return dnn_error_code();
  dnn_tensor flat = *c;
  flat.ndim = 1, flat.shape[0] = n, flat.strides[0] = 1;
  dnn_device dev = dnn_tensor_device(t);
  dnn_tensor *buf = dnn_empty(1, flat_shape, (dnn_dtype)t->dtype, dev);
  dnn_tensor *aux = buf ? dnn_empty(1, &aux_len, DNN_INT64, dev) : NULL;
  dnn_status st = aux ? DNN_OK : dnn_error_code();
  if (st == DNN_OK) {
    dnn_op_args a = {.op = DNN_OP_UNIQUE, .out = buf, .out2 = aux, .in = {&flat}, .n_in = 1};
    st = dnn_dispatch(dev, &a);
  }
  dnn_tensor_release(c);
  int64_t u = 0;
  if (st == DNN_OK) {
    dnn_tensor *last = dnn_narrow(aux, 0, 2 * n, 1);
    st = last ? dnn_read_i64(last, &u) : dnn_error_code();
    dnn_tensor_release(last);
  }
  dnn_tensor *vals = st == DNN_OK ? copy_range(buf, 0, u) : NULL;
  dnn_tensor *cnt = vals && counts ? copy_range(aux, n, u) : NULL;
  dnn_tensor *inv = NULL;
  if (vals && inverse) {
    dnn_tensor *flat_inv = copy_range(aux, 0, n);
    inv = flat_inv ? dnn_view(flat_inv, t->ndim, t->shape) : NULL;
    dnn_tensor_release(flat_inv);
  }
  dnn_tensor_release(buf);
  dnn_tensor_release(aux);
  if (st == DNN_OK && (!vals || (counts && !cnt) || (inverse && !inv))) st = dnn_error_code();
  if (st != DNN_OK) {
    dnn_tensor_release(vals);
    dnn_tensor_release(cnt);
    dnn_tensor_release(inv);
    return st;
  }
  *values = vals;
  if (counts) *counts = cnt;
  if (inverse) *inverse = inv;
  return DNN_OK;
}
