/* Gradients of broadcast inputs are summed back to the input's shape. */
#include <string.h>

#include "autograd.h"

dnn_tensor *dnn_sum_to_shape(const dnn_tensor *grad, int ndim, const int64_t *shape) {
  if (grad->ndim == ndim && memcmp(grad->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0) {
    dnn_tensor_retain((dnn_tensor *)grad);
    return (dnn_tensor *)grad;
  }
  int lead = grad->ndim - ndim;
  if (lead < 0) { /* cannot happen for broadcasting; guard anyway */
    char b0[200], b1[200];
    dnn_error(DNN_ERR_SHAPE, "sum_to_shape: gradient %s has fewer dims than input %s", DNN_SHAPE_STR(grad, b0),
              dnn_shape_str(ndim, shape, b1));
    return NULL;
  }
  int dims[DNN_MAX_DIMS], nd = 0;
  for (int i = 0; i < grad->ndim; i++) {
    int j = i - lead;
    if (j < 0 || (shape[j] == 1 && grad->shape[i] != 1)) dims[nd++] = i;
  }
  dnn_tensor *s = nd ? dnn_reduce(DNN_OP_SUM, grad, nd, dims, true) : dnn_alias((dnn_tensor *)grad);
  if (!s) return NULL;
  dnn_tensor *r = dnn_reshape(s, ndim, shape);
  dnn_tensor_release(s);
  return r;
}
