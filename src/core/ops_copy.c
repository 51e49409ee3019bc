/* Front ends of copy-like ops: copy_, fill_, contiguous, clone, to(dtype), flip. */
#include <string.h>

#include "internal.h"

void dnn_expand_header(dnn_tensor *v, const dnn_tensor *t, int ndim, const int64_t *shape) {
  *v = *t;
  v->ndim = (int8_t)ndim;
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    v->shape[i] = shape[i];
    v->strides[i] = (j < 0 || t->shape[j] == 1) ? 0 : t->strides[j];
  }
}

dnn_status dnn_copy_(dnn_tensor *dst, const dnn_tensor *src) {
  char b0[200], b1[200];
  DNN_RETURN_IF_ERR(dnn_check_inplace("copy_", dst));
  int64_t shape[DNN_MAX_DIMS];
  int nd = dnn_broadcast_shape("copy_", dst->ndim, dst->shape, src->ndim, src->shape, shape);
  if (nd < 0) return dnn_error_code();
  if (nd != dst->ndim || memcmp(shape, dst->shape, sizeof(int64_t) * (size_t)nd) != 0)
    return dnn_error(DNN_ERR_SHAPE, "copy_: source of shape %s cannot be broadcast to destination %s",
                     DNN_SHAPE_STR(src, b0), DNN_SHAPE_STR(dst, b1));
  if (!dnn_device_eq(dnn_tensor_device(dst), dnn_tensor_device(src)))
    return dnn_error(DNN_ERR_DEVICE, "copy_: copies between devices need the CUDA backend");
  dnn_tensor *tmp = NULL;
  if (src->storage == dst->storage) { /* overlapping views: read from a snapshot */
    tmp = dnn_clone(src);
    if (!tmp) return dnn_error_code();
    src = tmp;
  }
  dnn_tensor v;
  dnn_expand_header(&v, src, dst->ndim, dst->shape);
  dnn_op_args a = {.op = DNN_OP_COPY, .out = dst, .in = {&v}, .n_in = 1};
  dnn_status st = dnn_dispatch(dnn_tensor_device(dst), &a);
  dnn_tensor_release(tmp);
  return st;
}

dnn_status dnn_fill_(dnn_tensor *t, double value) {
  DNN_RETURN_IF_ERR(dnn_check_inplace("fill_", t));
  dnn_op_args a = {.op = DNN_OP_FILL, .out = t, .s0 = value};
  return dnn_dispatch(dnn_tensor_device(t), &a);
}

dnn_status dnn_fill_int_(dnn_tensor *t, int64_t value) {
  DNN_RETURN_IF_ERR(dnn_check_inplace("fill_", t));
  dnn_op_args a = {.op = DNN_OP_FILL, .out = t, .s0 = (double)value, .has_s1 = true, .k = value};
  return dnn_dispatch(dnn_tensor_device(t), &a);
}

static dnn_tensor *copy_as(const dnn_tensor *t, dnn_dtype dt) {
  dnn_tensor *out = dnn_empty(t->ndim, t->shape, dt, dnn_tensor_device(t));
  DNN_CHECK_NULL(out);
  dnn_op_args a = {.op = DNN_OP_COPY, .out = out, .in = {t}, .n_in = 1};
  if (dnn_dispatch(dnn_tensor_device(t), &a) != DNN_OK) {
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

dnn_tensor *dnn_contiguous(dnn_tensor *t) {
  if (dnn_is_contiguous(t)) {
    dnn_tensor_retain(t);
    return t;
  }
  return copy_as(t, (dnn_dtype)t->dtype);
}

dnn_tensor *dnn_clone(const dnn_tensor *t) { return copy_as(t, (dnn_dtype)t->dtype); }

dnn_tensor *dnn_to_dtype(dnn_tensor *t, dnn_dtype dt) {
  if ((unsigned)dt >= DNN_DTYPE_COUNT) {
    dnn_error(DNN_ERR_DTYPE, "to: unknown dtype %d", (int)dt);
    return NULL;
  }
  if ((dnn_dtype)t->dtype == dt) {
    dnn_tensor_retain(t);
    return t;
  }
  return copy_as(t, dt);
}

dnn_tensor *dnn_flip(const dnn_tensor *t, int ndims, const int *dims) {
  dnn_tensor v = *t;
  bool seen[DNN_MAX_DIMS] = {0};
  for (int i = 0; i < ndims; i++) {
    int d = dnn_wrap_dim("flip", dims[i], t->ndim);
    if (d < 0) return NULL;
    if (seen[d]) {
      dnn_error(DNN_ERR_ARG, "flip: dim %d appears twice", d + 1);
      return NULL;
    }
    seen[d] = true;
    if (t->ndim == 0 || t->shape[d] == 0) continue;
    /* a reversed header: start at the last element, walk backwards */
    v.offset += (t->shape[d] - 1) * t->strides[d];
    v.strides[d] = -t->strides[d];
  }
  return copy_as(&v, (dnn_dtype)t->dtype);
}
