/* cat and stack: no kernel of their own; the output is allocated once and
 * each input is copied (dtype converted) into a narrow/select view of it. */
#include <string.h>

#include "internal.h"

/* PyTorch still skips 1-d tensors of size 0 in cat, whatever their shape. */
static bool legacy_empty(const dnn_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

/* Common dtype and device checks over the inputs. */
static dnn_status check_inputs(const char *op, int n, dnn_tensor *const *ts, dnn_dtype *dt) {
  if (n <= 0 || !ts) return dnn_error(DNN_ERR_ARG, "%s: expected a non-empty list of tensors", op);
  for (int i = 0; i < n; i++)
    if (!ts[i]) return dnn_error(DNN_ERR_ARG, "%s: tensor %d is missing", op, i + 1);
  DNN_RETURN_IF_ERR(dnn_check_same_device(op, n, (const dnn_tensor *const *)ts));
  *dt = (dnn_dtype)ts[0]->dtype;
  for (int i = 1; i < n; i++) *dt = dnn_dtype_promote(*dt, (dnn_dtype)ts[i]->dtype);
  return DNN_OK;
}

dnn_tensor *dnn_cat(int n, dnn_tensor *const *ts, int dim) {
  const char *op = "cat";
  char b0[200], b1[200];
  dnn_dtype dt;
  if (check_inputs(op, n, ts, &dt)) return NULL;
  int ref = -1;
  for (int i = 0; i < n && ref < 0; i++)
    if (!legacy_empty(ts[i])) ref = i;
  if (ref < 0) ref = 0;
  for (int i = 0; i < n; i++)
    if (ts[i]->ndim == 0) {
      dnn_error(DNN_ERR_SHAPE, "%s: tensor %d is 0-d and cannot be concatenated (use stack, or unsqueeze it)", op, i + 1);
      return NULL;
    }
  const dnn_tensor *r = ts[ref];
  int d = dnn_wrap_dim(op, dim, r->ndim);
  if (d < 0) return NULL;
  int64_t shape[DNN_MAX_DIMS];
  memcpy(shape, r->shape, sizeof shape);
  shape[d] = 0;
  for (int i = 0; i < n; i++) {
    const dnn_tensor *t = ts[i];
    if (legacy_empty(t) && !(r->ndim == 1)) continue;
    if (t->ndim != r->ndim) {
      dnn_error(DNN_ERR_SHAPE, "%s: tensors must have the same number of dims: tensor %d is %s but tensor %d is %s",
                op, ref + 1, DNN_SHAPE_STR(r, b0), i + 1, DNN_SHAPE_STR(t, b1));
      return NULL;
    }
    for (int j = 0; j < r->ndim; j++)
      if (j != d && t->shape[j] != r->shape[j]) {
        dnn_error(DNN_ERR_SHAPE, "%s: sizes must match except in dim %d: tensor %d is %s but tensor %d is %s (dim %d differs)",
                  op, d + 1, ref + 1, DNN_SHAPE_STR(r, b0), i + 1, DNN_SHAPE_STR(t, b1), j + 1);
        return NULL;
      }
    shape[d] += t->shape[d];
  }
  if (dnn_check_shape(op, r->ndim, shape)) return NULL;
  dnn_tensor *out = dnn_empty(r->ndim, shape, dt, dnn_tensor_device(r));
  DNN_CHECK_NULL(out);
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    const dnn_tensor *t = ts[i];
    if (t->ndim != r->ndim || t->shape[d] == 0) continue;
    dnn_tensor *v = dnn_narrow(out, d, off, t->shape[d]);
    dnn_status st = v ? dnn_copy_(v, t) : dnn_error_code();
    dnn_tensor_release(v);
    if (st != DNN_OK) {
      dnn_tensor_release(out);
      return NULL;
    }
    off += t->shape[d];
  }
  return out;
}

dnn_tensor *dnn_stack(int n, dnn_tensor *const *ts, int dim) {
  const char *op = "stack";
  char b0[200], b1[200];
  dnn_dtype dt;
  if (check_inputs(op, n, ts, &dt)) return NULL;
  const dnn_tensor *r = ts[0];
  if (r->ndim + 1 > DNN_MAX_DIMS) {
    dnn_error(DNN_ERR_SHAPE, "%s: the result would have %d dims; at most %d are supported", op, r->ndim + 1, DNN_MAX_DIMS);
    return NULL;
  }
  int d = dnn_wrap_dim(op, dim, r->ndim + 1);
  if (d < 0) return NULL;
  for (int i = 1; i < n; i++)
    if (ts[i]->ndim != r->ndim || memcmp(ts[i]->shape, r->shape, sizeof(int64_t) * (size_t)r->ndim) != 0) {
      dnn_error(DNN_ERR_SHAPE, "%s: all tensors must have the same shape: tensor 1 is %s but tensor %d is %s", op,
                DNN_SHAPE_STR(r, b0), i + 1, DNN_SHAPE_STR(ts[i], b1));
      return NULL;
    }
  int64_t shape[DNN_MAX_DIMS];
  for (int i = 0, k = 0; i <= r->ndim; i++) shape[i] = i == d ? n : r->shape[k++];
  if (dnn_check_shape(op, r->ndim + 1, shape)) return NULL;
  dnn_tensor *out = dnn_empty(r->ndim + 1, shape, dt, dnn_tensor_device(r));
  DNN_CHECK_NULL(out);
  for (int i = 0; i < n; i++) {
    dnn_tensor *v = dnn_select(out, d, i);
    dnn_status st = v ? dnn_copy_(v, ts[i]) : dnn_error_code();
    dnn_tensor_release(v);
    if (st != DNN_OK) {
      dnn_tensor_release(out);
      return NULL;
    }
  }
  return out;
}
