/* Views: new headers over the same storage.  Every function checks first,
 * then allocates the header. */
#include <string.h>

#include "internal.h"

dnn_tensor *dnn_as_strided(dnn_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                           int64_t offset) {
  return dnn_tensor_wrap(t->storage, (dnn_dtype)t->dtype, ndim, shape, strides, offset);
}

dnn_tensor *dnn_alias(dnn_tensor *t) {
  return dnn_as_strided(t, t->ndim, t->shape, t->strides, t->offset);
}

/* Resolves a single -1 in shape against numel; error names op. */
static dnn_status infer_shape(const char *op, const dnn_tensor *t, int ndim, const int64_t *in,
                              int64_t *out) {
  char b0[200], b1[200];
  if (ndim > DNN_MAX_DIMS)
    return dnn_error(DNN_ERR_SHAPE, "%s: %d dims requested, at most %d are supported", op, ndim,
                     DNN_MAX_DIMS);
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++) {
    out[i] = in[i];
    if (in[i] == -1) {
      if (infer >= 0)
        return dnn_error(DNN_ERR_SHAPE, "%s: only one dimension can be -1, got %s", op,
                         dnn_shape_str(ndim, in, b0));
      infer = i;
    } else if (in[i] < 0) {
      return dnn_error(DNN_ERR_SHAPE, "%s: negative size %lld in shape %s", op, (long long)in[i],
                       dnn_shape_str(ndim, in, b0));
    } else {
      known *= in[i];
    }
  }
  int64_t n = dnn_numel(t);
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      return dnn_error(DNN_ERR_SHAPE, "%s: shape %s is invalid for input of shape %s (%lld elements)",
                       op, dnn_shape_str(ndim, in, b0), DNN_SHAPE_STR(t, b1), (long long)n);
    out[infer] = n / known;
  } else if (known != n) {
    return dnn_error(DNN_ERR_SHAPE, "%s: shape %s is invalid for input of shape %s (%lld elements)",
                     op, dnn_shape_str(ndim, in, b0), DNN_SHAPE_STR(t, b1), (long long)n);
  }
  return DNN_OK;
}

/* Strides for viewing t as `shape` without copying, as PyTorch's computeStride:
 * false when the memory layout does not allow it. */
static bool view_strides(const dnn_tensor *t, int ndim, const int64_t *shape, int64_t *strides) {
  if (dnn_numel(t) == 0 || dnn_is_contiguous(t)) {
    dnn_contiguous_strides(ndim, shape, strides);
    return true;
  }
  int view_d = ndim - 1;
  int64_t chunk_base_stride = t->ndim ? t->strides[t->ndim - 1] : 1;
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    tensor_numel *= t->shape[d];
    if (d == 0 || (t->shape[d - 1] != 1 && t->strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = t->strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

dnn_tensor *dnn_view(dnn_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  if (infer_shape("view", t, ndim, shape, sh) != DNN_OK) return NULL;
  if (!view_strides(t, ndim, sh, st)) {
    char b0[200], b1[200];
    dnn_error(DNN_ERR_SHAPE,
              "view: shape %s is not compatible with the strides of input %s (not contiguous); "
              "use reshape or contiguous",
              dnn_shape_str(ndim, sh, b0), DNN_SHAPE_STR(t, b1));
    return NULL;
  }
  return dnn_as_strided(t, ndim, sh, st, t->offset);
}

dnn_tensor *dnn_reshape(dnn_tensor *t, int ndim, const int64_t *shape) {
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  if (infer_shape("reshape", t, ndim, shape, sh) != DNN_OK) return NULL;
  if (view_strides(t, ndim, sh, st)) return dnn_as_strided(t, ndim, sh, st, t->offset);
  dnn_tensor *c = dnn_contiguous(t);
  DNN_CHECK_NULL(c);
  dnn_contiguous_strides(ndim, sh, st);
  dnn_tensor *r = dnn_as_strided(c, ndim, sh, st, c->offset);
  dnn_tensor_release(c);
  return r;
}

dnn_tensor *dnn_permute(dnn_tensor *t, const int *perm) {
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  bool seen[DNN_MAX_DIMS] = {0};
  for (int i = 0; i < t->ndim; i++) {
    int p = dnn_wrap_dim("permute", perm[i], t->ndim);
    if (p < 0) return NULL;
    if (seen[p]) {
      dnn_error(DNN_ERR_ARG, "permute: dim %d appears twice", p + 1);
      return NULL;
    }
    seen[p] = true;
    sh[i] = t->shape[p];
    st[i] = t->strides[p];
  }
  return dnn_as_strided(t, t->ndim, sh, st, t->offset);
}

dnn_tensor *dnn_transpose(dnn_tensor *t, int d0, int d1) {
  if (t->ndim == 0) return dnn_alias(t);
  int a = dnn_wrap_dim("transpose", d0, t->ndim), b = dnn_wrap_dim("transpose", d1, t->ndim);
  if (a < 0 || b < 0) return NULL;
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  memcpy(sh, t->shape, sizeof sh);
  memcpy(st, t->strides, sizeof st);
  sh[a] = t->shape[b], sh[b] = t->shape[a];
  st[a] = t->strides[b], st[b] = t->strides[a];
  return dnn_as_strided(t, t->ndim, sh, st, t->offset);
}

dnn_tensor *dnn_slice(dnn_tensor *t, int dim, int64_t start, int64_t stop, int64_t step) {
  char buf[200];
  if (t->ndim == 0) {
    dnn_error(DNN_ERR_SHAPE, "slice: cannot slice a 0-d tensor");
    return NULL;
  }
  int d = dnn_wrap_dim("slice", dim, t->ndim);
  if (d < 0) return NULL;
  if (step <= 0) {
    dnn_error(DNN_ERR_ARG, "slice: step must be positive, got %lld", (long long)step);
    return NULL;
  }
  int64_t n = t->shape[d];
  if (start < 0 || start > n || stop < start || stop > n) {
    dnn_error(DNN_ERR_INDEX, "slice: range %lld..%lld is out of bounds for dim %d of size %lld (shape %s)",
              (long long)start + 1, (long long)stop, d + 1, (long long)n, DNN_SHAPE_STR(t, buf));
    return NULL;
  }
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  memcpy(sh, t->shape, sizeof sh);
  memcpy(st, t->strides, sizeof st);
  sh[d] = (stop - start + step - 1) / step;
  st[d] = t->strides[d] * step;
  return dnn_as_strided(t, t->ndim, sh, st, t->offset + start * t->strides[d]);
}

dnn_tensor *dnn_narrow(dnn_tensor *t, int dim, int64_t start, int64_t length) {
  if (length < 0) {
    dnn_error(DNN_ERR_ARG, "narrow: negative length %lld", (long long)length);
    return NULL;
  }
  return dnn_slice(t, dim, start, start + length, 1);
}

dnn_tensor *dnn_select(dnn_tensor *t, int dim, int64_t index) {
  char buf[200];
  if (t->ndim == 0) {
    dnn_error(DNN_ERR_INDEX, "select: cannot index a 0-d tensor");
    return NULL;
  }
  int d = dnn_wrap_dim("select", dim, t->ndim);
  if (d < 0) return NULL;
  int64_t n = t->shape[d];
  if (index < -n || index >= n) {
    dnn_error(DNN_ERR_INDEX, "index %lld is out of range for dim %d of size %lld (shape %s)",
              (long long)(index >= 0 ? index + 1 : index), d + 1, (long long)n, DNN_SHAPE_STR(t, buf));
    return NULL;
  }
  if (index < 0) index += n;
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (i == d) continue;
    sh[k] = t->shape[i];
    st[k++] = t->strides[i];
  }
  return dnn_as_strided(t, k, sh, st, t->offset + index * t->strides[d]);
}

dnn_tensor *dnn_squeeze(dnn_tensor *t, int dim) {
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  int k = 0, d = -1;
  if (dim != DNN_ALL_DIMS) {
    d = dnn_wrap_dim("squeeze", dim, t->ndim);
    if (d < 0) return NULL;
  }
  for (int i = 0; i < t->ndim; i++) {
    bool drop = t->shape[i] == 1 && (d < 0 || i == d);
    if (drop) continue;
    sh[k] = t->shape[i];
    st[k++] = t->strides[i];
  }
  return dnn_as_strided(t, k, sh, st, t->offset);
}

dnn_tensor *dnn_unsqueeze(dnn_tensor *t, int dim) {
  if (t->ndim >= DNN_MAX_DIMS) {
    dnn_error(DNN_ERR_SHAPE, "unsqueeze: tensor already has %d dims (the maximum)", DNN_MAX_DIMS);
    return NULL;
  }
  int d = dnn_wrap_dim("unsqueeze", dim, t->ndim + 1);
  if (d < 0) return NULL;
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  int k = 0;
  for (int i = 0; i <= t->ndim; i++) {
    if (i == d) {
      sh[k] = 1;
      st[k++] = (i < t->ndim) ? t->strides[i] * t->shape[i] : 1;
    }
    if (i < t->ndim) {
      sh[k] = t->shape[i];
      st[k++] = t->strides[i];
    }
  }
  return dnn_as_strided(t, t->ndim + 1, sh, st, t->offset);
}

dnn_tensor *dnn_expand(dnn_tensor *t, int ndim, const int64_t *shape) {
  char b0[200], b1[200];
  if (ndim < t->ndim || ndim > DNN_MAX_DIMS) {
    dnn_error(DNN_ERR_SHAPE, "expand: cannot expand shape %s to %s", DNN_SHAPE_STR(t, b0),
              dnn_shape_str(ndim, shape, b1));
    return NULL;
  }
  int64_t sh[DNN_MAX_DIMS], st[DNN_MAX_DIMS];
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    int64_t want = shape[i];
    if (j < 0) {
      if (want < 0) {
        dnn_error(DNN_ERR_SHAPE, "expand: -1 is not allowed for a new leading dim (target %s)",
                  dnn_shape_str(ndim, shape, b1));
        return NULL;
      }
      sh[i] = want;
      st[i] = 0;
    } else if (want == -1 || want == t->shape[j]) {
      sh[i] = t->shape[j];
      st[i] = t->strides[j];
    } else if (t->shape[j] == 1 && want >= 0) {
      sh[i] = want;
      st[i] = 0;
    } else {
      dnn_error(DNN_ERR_SHAPE, "expand: cannot expand shape %s to %s (dim %d has size %lld, not 1)",
                DNN_SHAPE_STR(t, b0), dnn_shape_str(ndim, shape, b1), j + 1, (long long)t->shape[j]);
      return NULL;
    }
  }
  return dnn_as_strided(t, ndim, sh, st, t->offset);
}
