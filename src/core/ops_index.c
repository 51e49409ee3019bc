/* Front ends of indexing ops: gather, scatter, index_select, index_add,
 * masked_fill/select/scatter, one_hot, nonzero.  Every check (dtypes, shapes,
 * devices, index ranges) runs before the output is allocated; index ranges are
 * checked with min/max reductions so the check works on any device. */
#include <string.h>

#include "ops_index.h"

/* ---- shared helpers ---- */

dnn_status dnn_index_check_dtype(const char *op, const char *role, const dnn_tensor *t) {
  dnn_dtype dt = (dnn_dtype)t->dtype;
  if (dt == DNN_INT64 || dt == DNN_INT32 || dt == DNN_UINT8) return DNN_OK;
  return dnn_error(DNN_ERR_DTYPE, "%s: %s must be an integer tensor (int64, int32 or uint8), got %s", op,
                   role, dnn_dtype_name(dt));
}

dnn_status dnn_read_i64(const dnn_tensor *t, int64_t *v) {
  dnn_tensor *c = dnn_to_dtype((dnn_tensor *)t, DNN_INT64);
  if (!c) return dnn_error_code();
  dnn_device dev = dnn_tensor_device(c);
  const dnn_backend *b = dnn_backend_get(dev);
  dnn_status st = b ? b->memcpy_d2h(v, dnn_data_ptr(c), sizeof *v, dev)
                    : dnn_error(DNN_ERR_DEVICE, "read: device not available");
  dnn_tensor_release(c);
  return st;
}

static dnn_status reduce_i64(dnn_op op, const dnn_tensor *t, int64_t *v) {
  dnn_tensor *r = dnn_reduce(op, t, 0, NULL, false);
  if (!r) return dnn_error_code();
  dnn_status st = dnn_read_i64(r, v);
  dnn_tensor_release(r);
  return st;
}

dnn_status dnn_index_minmax(const dnn_tensor *t, int64_t *lo, int64_t *hi) {
  DNN_RETURN_IF_ERR(reduce_i64(DNN_OP_MIN, t, lo));
  return reduce_i64(DNN_OP_MAX, t, hi);
}

dnn_status dnn_index_check_range(const char *op, const dnn_tensor *idx, int dim, int64_t size) {
  if (dnn_numel(idx) == 0) return DNN_OK;
  int64_t lo, hi;
  DNN_RETURN_IF_ERR(dnn_index_minmax(idx, &lo, &hi));
  if (lo >= 0 && hi < size) return DNN_OK;
  int64_t bad = lo < 0 ? lo : hi;
  return dnn_error(DNN_ERR_INDEX, "%s: index %lld is out of range for dim %d of size %lld", op,
                   (long long)bad, dim + 1, (long long)size);
}

/* A (outer, len, inner) header over contiguous t split at dim d, with t's
 * dim d replaced by len (the header borrows t's storage). */
static void header3(dnn_tensor *v, const dnn_tensor *t, int d, int64_t len) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < t->ndim; i++) {
    if (i < d) outer *= t->shape[i];
    if (i > d) inner *= t->shape[i];
  }
  *v = *t;
  v->ndim = 3;
  v->shape[0] = outer, v->shape[1] = len, v->shape[2] = inner;
  v->strides[0] = len * inner, v->strides[1] = inner, v->strides[2] = 1;
}

static dnn_status check_mask(const char *op, const dnn_tensor *mask) {
  if (mask->dtype == DNN_BOOL) return DNN_OK;
  return dnn_error(DNN_ERR_DTYPE, "%s: mask must be a bool tensor, got %s (make one with a comparison, e.g. t:gt(0))",
                   op, dnn_dtype_name((dnn_dtype)mask->dtype));
}

/* Runs the kernel; on failure releases out and returns NULL. */
static dnn_tensor *finish(dnn_tensor *out, const dnn_op_args *a) {
  if (dnn_dispatch(dnn_tensor_device(out), a) != DNN_OK) {
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

/* ---- gather / scatter ---- */

dnn_tensor *dnn_gather(const dnn_tensor *t, int dim, const dnn_tensor *index) {
  const char *op = "gather";
  char b0[200], b1[200];
  const dnn_tensor *ts[2] = {t, index};
  if (dnn_check_same_device(op, 2, ts) || dnn_index_check_dtype(op, "index", index)) return NULL;
  int d = dnn_wrap_dim(op, dim, t->ndim);
  if (d < 0) return NULL;
  if (index->ndim != t->ndim) {
    dnn_error(DNN_ERR_SHAPE, "%s: index %s must have as many dims as the input %s", op, DNN_SHAPE_STR(index, b0),
              DNN_SHAPE_STR(t, b1));
    return NULL;
  }
  for (int i = 0; i < t->ndim; i++)
    if (i != d && index->shape[i] > t->shape[i]) {
      dnn_error(DNN_ERR_SHAPE, "%s: index %s is larger than the input %s at dim %d (only dim %d may be larger)", op,
                DNN_SHAPE_STR(index, b0), DNN_SHAPE_STR(t, b1), i + 1, d + 1);
      return NULL;
    }
  if (dnn_index_check_range(op, index, d, t->ndim ? t->shape[d] : 1)) return NULL;
  dnn_tensor *idx = dnn_to_dtype((dnn_tensor *)index, DNN_INT64);
  DNN_CHECK_NULL(idx);
  dnn_tensor *out = dnn_empty(index->ndim, index->shape, (dnn_dtype)t->dtype, dnn_tensor_device(t));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_GATHER, .out = out, .in = {t, idx}, .n_in = 2, .dim = d};
    out = finish(out, &a);
  }
  dnn_tensor_release(idx);
  return out;
}

dnn_tensor *dnn_scatter(const dnn_tensor *t, int dim, const dnn_tensor *index, const dnn_tensor *src,
                        bool add) {
  const char *op = add ? "scatter_add" : "scatter";
  char b0[200], b1[200];
  const dnn_tensor *ts[3] = {t, index, src};
  if (dnn_check_same_device(op, 3, ts) || dnn_index_check_dtype(op, "index", index)) return NULL;
  int d = dnn_wrap_dim(op, dim, t->ndim);
  if (d < 0) return NULL;
  if (index->ndim != t->ndim) {
    dnn_error(DNN_ERR_SHAPE, "%s: index %s must have as many dims as the input %s", op, DNN_SHAPE_STR(index, b0),
              DNN_SHAPE_STR(t, b1));
    return NULL;
  }
  bool scalar_src = src->ndim == 0;
  if (!scalar_src && src->ndim != index->ndim) {
    dnn_error(DNN_ERR_SHAPE, "%s: src %s must have as many dims as the index %s", op, DNN_SHAPE_STR(src, b0),
              DNN_SHAPE_STR(index, b1));
    return NULL;
  }
  for (int i = 0; i < t->ndim; i++) {
    if (i != d && index->shape[i] > t->shape[i]) {
      dnn_error(DNN_ERR_SHAPE, "%s: index %s is larger than the input %s at dim %d (only dim %d may be larger)", op,
                DNN_SHAPE_STR(index, b0), DNN_SHAPE_STR(t, b1), i + 1, d + 1);
      return NULL;
    }
    if (!scalar_src && index->shape[i] > src->shape[i]) {
      dnn_error(DNN_ERR_SHAPE, "%s: index %s is larger than src %s at dim %d", op, DNN_SHAPE_STR(index, b0),
                DNN_SHAPE_STR(src, b1), i + 1);
      return NULL;
    }
  }
  if (dnn_index_check_range(op, index, d, t->ndim ? t->shape[d] : 1)) return NULL;
  dnn_tensor *idx = dnn_to_dtype((dnn_tensor *)index, DNN_INT64);
  dnn_tensor *s = idx ? dnn_to_dtype((dnn_tensor *)src, (dnn_dtype)t->dtype) : NULL;
  dnn_tensor *out = s ? dnn_clone(t) : NULL;
  if (out) {
    dnn_tensor sv = *s; /* a scalar src reads the same element everywhere */
    if (scalar_src) {
      sv.ndim = index->ndim;
      for (int i = 0; i < index->ndim; i++) sv.shape[i] = index->shape[i], sv.strides[i] = 0;
    }
    dnn_op_args a = {.op = add ? DNN_OP_SCATTER_ADD : DNN_OP_SCATTER, .out = out, .in = {idx, &sv}, .n_in = 2, .dim = d};
    out = finish(out, &a);
  }
  dnn_tensor_release(idx);
  dnn_tensor_release(s);
  return out;
}

/* ---- index_select / index_add ---- */

/* Checks shared by index_select and index_add; returns the wrapped dim or -1. */
static int check_index_op(const char *op, const dnn_tensor *t, int dim, const dnn_tensor *index) {
  char b0[200];
  if (dnn_index_check_dtype(op, "index", index)) return -1;
  if (t->ndim == 0) {
    dnn_error(DNN_ERR_SHAPE, "%s: the input must have at least 1 dim, got a 0-d tensor", op);
    return -1;
  }
  int d = dnn_wrap_dim(op, dim, t->ndim);
  if (d < 0) return -1;
  if (index->ndim > 1) {
    dnn_error(DNN_ERR_SHAPE, "%s: index must be 1-d, got %s", op, DNN_SHAPE_STR(index, b0));
    return -1;
  }
  if (dnn_index_check_range(op, index, d, t->shape[d])) return -1;
  return d;
}

dnn_tensor *dnn_index_select(const dnn_tensor *t, int dim, const dnn_tensor *index) {
  const dnn_tensor *ts[2] = {t, index};
  if (dnn_check_same_device("index_select", 2, ts)) return NULL;
  int d = check_index_op("index_select", t, dim, index);
  if (d < 0) return NULL;
  int64_t n = dnn_numel(index), shape[DNN_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[d] = n;
  dnn_tensor *idx = dnn_to_dtype((dnn_tensor *)index, DNN_INT64);
  dnn_tensor *c = idx ? dnn_contiguous((dnn_tensor *)t) : NULL;
  dnn_tensor *out = c ? dnn_empty(t->ndim, shape, (dnn_dtype)t->dtype, dnn_tensor_device(t)) : NULL;
  if (out) {
    dnn_tensor in3, out3;
    header3(&in3, c, d, t->shape[d]);
    header3(&out3, out, d, n);
    dnn_op_args a = {.op = DNN_OP_INDEX_SELECT, .out = &out3, .in = {&in3, idx}, .n_in = 2, .dim = 1};
    out = finish(out, &a);
  }
  dnn_tensor_release(idx);
  dnn_tensor_release(c);
  return out;
}

dnn_tensor *dnn_index_add(const dnn_tensor *t, int dim, const dnn_tensor *index, const dnn_tensor *src) {
  const char *op = "index_add";
  char b0[200], b1[200];
  const dnn_tensor *ts[3] = {t, index, src};
  if (dnn_check_same_device(op, 3, ts)) return NULL;
  int d = check_index_op(op, t, dim, index);
  if (d < 0) return NULL;
  int64_t n = dnn_numel(index);
  bool ok = src->ndim == t->ndim;
  for (int i = 0; ok && i < t->ndim; i++) ok = src->shape[i] == (i == d ? n : t->shape[i]);
  if (!ok) {
    int64_t want[DNN_MAX_DIMS];
    memcpy(want, t->shape, sizeof want);
    want[d] = n;
    dnn_error(DNN_ERR_SHAPE, "%s: src %s must have shape %s (the input's shape with dim %d = %lld, the index length)",
              op, DNN_SHAPE_STR(src, b0), dnn_shape_str(t->ndim, want, b1), d + 1, (long long)n);
    return NULL;
  }
  dnn_tensor *idx = dnn_to_dtype((dnn_tensor *)index, DNN_INT64);
  dnn_tensor *cast = idx ? dnn_to_dtype((dnn_tensor *)src, (dnn_dtype)t->dtype) : NULL;
  dnn_tensor *s = cast ? dnn_contiguous(cast) : NULL;
  dnn_tensor *out = s ? dnn_clone(t) : NULL;
  if (out) {
    dnn_tensor out3, src3;
    header3(&out3, out, d, t->shape[d]);
    header3(&src3, s, d, n);
    dnn_op_args a = {.op = DNN_OP_INDEX_ADD, .out = &out3, .in = {idx, &src3}, .n_in = 2, .dim = 1};
    out = finish(out, &a);
  }
  dnn_tensor_release(idx);
  dnn_tensor_release(cast);
  dnn_tensor_release(s);
  return out;
}

/* ---- masks ---- */

/* Broadcast shape of t and mask (checked) into shape; returns ndim or -1. */
static int mask_shape(const char *op, const dnn_tensor *t, const dnn_tensor *mask, int64_t *shape) {
  const dnn_tensor *ts[2] = {t, mask};
  if (dnn_check_same_device(op, 2, ts) || check_mask(op, mask)) return -1;
  return dnn_broadcast_shape(op, t->ndim, t->shape, mask->ndim, mask->shape, shape);
}

/* How many true values mask has once broadcast to a shape of numel n. */
static dnn_status mask_count(const dnn_tensor *mask, int64_t n, int64_t *count) {
  int64_t m = dnn_numel(mask);
  if (m == 0 || n == 0) {
    *count = 0;
    return DNN_OK;
  }
  DNN_RETURN_IF_ERR(reduce_i64(DNN_OP_SUM, mask, count));
  *count *= n / m; /* broadcasting repeats every mask element equally */
  return DNN_OK;
}

/* A new tensor of shape with t broadcast into it. */
static dnn_tensor *broadcast_copy(const dnn_tensor *t, int nd, const int64_t *shape) {
  dnn_tensor *out = dnn_empty(nd, shape, (dnn_dtype)t->dtype, dnn_tensor_device(t));
  DNN_CHECK_NULL(out);
  if (dnn_copy_(out, t) != DNN_OK) {
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

dnn_tensor *dnn_masked_fill(const dnn_tensor *t, const dnn_tensor *mask, double value) {
  int64_t shape[DNN_MAX_DIMS];
  int nd = mask_shape("masked_fill", t, mask, shape);
  if (nd < 0) return NULL;
  dnn_tensor *out = broadcast_copy(t, nd, shape);
  DNN_CHECK_NULL(out);
  dnn_tensor mv;
  dnn_expand_header(&mv, mask, nd, shape);
  dnn_op_args a = {.op = DNN_OP_MASKED_FILL, .out = out, .in = {&mv}, .n_in = 1, .s0 = value};
  return finish(out, &a);
}

dnn_status dnn_masked_fill_(dnn_tensor *t, const dnn_tensor *mask, double value) {
  const char *op = "masked_fill_";
  char b0[200], b1[200];
  int64_t shape[DNN_MAX_DIMS];
  int nd = mask_shape(op, t, mask, shape);
  if (nd < 0) return dnn_error_code();
  if (nd != t->ndim || memcmp(shape, t->shape, sizeof(int64_t) * (size_t)nd) != 0)
    return dnn_error(DNN_ERR_SHAPE, "%s: mask %s cannot be broadcast to the tensor's shape %s", op,
                     DNN_SHAPE_STR(mask, b0), DNN_SHAPE_STR(t, b1));
  DNN_RETURN_IF_ERR(dnn_check_inplace(op, t));
  dnn_tensor *snap = NULL; /* a mask that is a view of t is read before it is overwritten */
  if (mask->storage == t->storage) {
    snap = dnn_clone(mask);
    if (!snap) return dnn_error_code();
    mask = snap;
  }
  dnn_tensor mv;
  dnn_expand_header(&mv, mask, nd, shape);
  dnn_op_args a = {.op = DNN_OP_MASKED_FILL, .out = t, .in = {&mv}, .n_in = 1, .s0 = value};
  dnn_status st = dnn_dispatch(dnn_tensor_device(t), &a);
  dnn_tensor_release(snap);
  return st;
}

static int64_t shape_numel(int nd, const int64_t *shape) {
  int64_t n = 1;
  for (int i = 0; i < nd; i++) n *= shape[i];
  return n;
}

dnn_tensor *dnn_masked_select(const dnn_tensor *t, const dnn_tensor *mask) {
  int64_t shape[DNN_MAX_DIMS], count;
  int nd = mask_shape("masked_select", t, mask, shape);
  if (nd < 0 || mask_count(mask, shape_numel(nd, shape), &count)) return NULL;
  dnn_tensor *out = dnn_empty(1, &count, (dnn_dtype)t->dtype, dnn_tensor_device(t));
  DNN_CHECK_NULL(out);
  dnn_tensor tv, mv;
  dnn_expand_header(&tv, t, nd, shape);
  dnn_expand_header(&mv, mask, nd, shape);
  dnn_op_args a = {.op = DNN_OP_MASKED_SELECT, .out = out, .in = {&tv, &mv}, .n_in = 2};
  return finish(out, &a);
}

dnn_tensor *dnn_masked_scatter(const dnn_tensor *t, const dnn_tensor *mask, const dnn_tensor *source) {
  const char *op = "masked_scatter";
  int64_t shape[DNN_MAX_DIMS], count;
  int nd = mask_shape(op, t, mask, shape);
  if (nd < 0) return NULL;
  const dnn_tensor *ts[2] = {t, source};
  if (dnn_check_same_device(op, 2, ts) || mask_count(mask, shape_numel(nd, shape), &count)) return NULL;
  if (dnn_numel(source) < count) {
    char b0[200];
    dnn_error(DNN_ERR_SHAPE, "%s: source %s has %lld elements but the mask selects %lld", op,
              DNN_SHAPE_STR(source, b0), (long long)dnn_numel(source), (long long)count);
    return NULL;
  }
  dnn_tensor *cast = dnn_to_dtype((dnn_tensor *)source, (dnn_dtype)t->dtype);
  dnn_tensor *src = cast ? dnn_contiguous(cast) : NULL;
  dnn_tensor *out = src ? broadcast_copy(t, nd, shape) : NULL;
  if (out) {
    dnn_tensor mv;
    dnn_expand_header(&mv, mask, nd, shape);
    dnn_op_args a = {.op = DNN_OP_MASKED_SCATTER, .out = out, .in = {&mv, src}, .n_in = 2};
    out = finish(out, &a);
  }
  dnn_tensor_release(cast);
  dnn_tensor_release(src);
  return out;
}

/* ---- one_hot, nonzero ---- */

dnn_tensor *dnn_one_hot(const dnn_tensor *labels, int64_t num_classes) {
  const char *op = "one_hot";
  if (dnn_index_check_dtype(op, "labels", labels)) return NULL;
  if (labels->ndim + 1 > DNN_MAX_DIMS) {
    dnn_error(DNN_ERR_SHAPE, "%s: labels have %d dims; the result would exceed %d", op, labels->ndim, DNN_MAX_DIMS);
    return NULL;
  }
  int64_t lo = 0, hi = -1;
  if (dnn_numel(labels) > 0) {
    if (dnn_index_minmax(labels, &lo, &hi)) return NULL;
    if (lo < 0) {
      dnn_error(DNN_ERR_INDEX, "%s: class id %lld is negative (class ids are 0-based)", op, (long long)lo);
      return NULL;
    }
  }
  if (num_classes < 0) {
    if (dnn_numel(labels) == 0) {
      dnn_error(DNN_ERR_ARG, "%s: cannot infer the number of classes from empty labels; give num_classes", op);
      return NULL;
    }
    num_classes = hi + 1;
  } else if (hi >= num_classes) {
    dnn_error(DNN_ERR_INDEX, "%s: class id %lld is out of range for %lld classes (class ids are 0..%lld)", op,
              (long long)hi, (long long)num_classes, (long long)num_classes - 1);
    return NULL;
  }
  int64_t shape[DNN_MAX_DIMS];
  memcpy(shape, labels->shape, sizeof(int64_t) * (size_t)labels->ndim);
  shape[labels->ndim] = num_classes;
  if (dnn_check_shape(op, labels->ndim + 1, shape)) return NULL;
  dnn_tensor *cast = dnn_to_dtype((dnn_tensor *)labels, DNN_INT64);
  dnn_tensor *lab = cast ? dnn_contiguous(cast) : NULL;
  dnn_tensor *out = lab ? dnn_zeros(labels->ndim + 1, shape, DNN_INT64, dnn_tensor_device(labels)) : NULL;
  if (lab && !out) dnn_error_prefix(op); /* num_classes can ask for a huge result */
  if (out) {
    dnn_op_args a = {.op = DNN_OP_ONE_HOT, .out = out, .in = {lab}, .n_in = 1, .k = num_classes};
    out = finish(out, &a);
  }
  dnn_tensor_release(cast);
  dnn_tensor_release(lab);
  return out;
}

/* Column d of the result is masked_select of "coordinate along d" (an arange
 * broadcast over t's shape) by t != 0, so no kernel of its own is needed. */
/* 0..n-1 as int64 on dev: made on the CPU, copied to a device. */
static dnn_tensor *arange_on(int64_t n, dnn_device dev) {
  dnn_tensor *ar = dnn_arange(0, (double)n, 1, DNN_INT64);
  if (!ar || dev.type == DNN_DEVICE_CPU) return ar;
  const dnn_backend *b = dnn_backend_get(dev);
  dnn_tensor *d = b && b->memcpy_h2d ? dnn_empty(1, &n, DNN_INT64, dev) : NULL;
  if (!b || !b->memcpy_h2d) dnn_error(DNN_ERR_DEVICE, "nonzero: no copies to this device");
  if (d && n > 0 && b->memcpy_h2d(dnn_data_ptr(d), dnn_data_ptr(ar), (size_t)n * sizeof(int64_t), dev) != DNN_OK) {
    dnn_tensor_release(d);
    d = NULL;
  }
  dnn_tensor_release(ar);
  return d;
}

dnn_tensor *dnn_nonzero(const dnn_tensor *t) {
  dnn_tensor *mask = dnn_binary_scalar(DNN_OP_NE, t, 0, true, false);
  DNN_CHECK_NULL(mask);
  int64_t count, shape[2];
  dnn_tensor *out = NULL;
  if (mask_count(mask, dnn_numel(t), &count) == DNN_OK) {
    shape[0] = count, shape[1] = t->ndim;
    out = dnn_empty(2, shape, DNN_INT64, dnn_tensor_device(t));
  }
  for (int d = 0; out && d < t->ndim; d++) {
    dnn_tensor *ar = arange_on(t->shape[d], dnn_tensor_device(t));
    dnn_tensor *col = ar ? dnn_select(out, 1, d) : NULL;
    if (col) {
      dnn_tensor cv = *ar; /* ar along dim d, stride 0 elsewhere */
      cv.ndim = t->ndim;
      for (int i = 0; i < t->ndim; i++) cv.shape[i] = t->shape[i], cv.strides[i] = i == d;
      dnn_op_args a = {.op = DNN_OP_MASKED_SELECT, .out = col, .in = {&cv, mask}, .n_in = 2};
      if (dnn_dispatch(dnn_tensor_device(t), &a) != DNN_OK) {
        dnn_tensor_release(out);
        out = NULL;
      }
    } else {
      dnn_tensor_release(out);
      out = NULL;
    }
    dnn_tensor_release(col);
    dnn_tensor_release(ar);
  }
  dnn_tensor_release(mask);
  return out;
}
