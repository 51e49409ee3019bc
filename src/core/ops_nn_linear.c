/* Front end of the fused dense layer: out = act(x @ kernel + bias). */
#include <string.h>

#include "ops_nn.h"

/* A (rows, cols) header over t's storage, on the caller's stack (borrowed). */
static void matrix_header(dnn_tensor *v, const dnn_tensor *t, int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  *v = *t;
  v->ndim = 2;
  v->shape[0] = rows, v->shape[1] = cols;
  v->strides[0] = sr, v->strides[1] = sc;
}

/* x as (M, K) with BLAS-usable strides: *own holds a copy when one was needed. */
static bool x_as_matrix(const dnn_tensor *x, dnn_tensor *v, dnn_tensor **own) {
  int64_t K = x->shape[x->ndim - 1], M = 1;
  for (int d = 0; d < x->ndim - 1; d++) M *= x->shape[d];
  bool t;
  int64_t ld;
  *own = NULL;
  if (x->ndim == 2 && dnn_blas_layout(M, K, x->strides[0], x->strides[1], &t, &ld)) {
    *v = *x;
    return true;
  }
  if (!dnn_is_contiguous(x)) {
    *own = dnn_contiguous((dnn_tensor *)x);
    if (!*own) return false;
    x = *own;
  }
  matrix_header(v, x, M, K, K, 1);
  return true;
}

dnn_status dnn_nn_linear_check(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias) {
  char b0[200], b1[200];
  const char *op = "linear";
  DNN_RETURN_IF_ERR(nn_check_float(op, "the input", x));
  DNN_RETURN_IF_ERR(nn_check_like(op, "the kernel", kernel, x));
  DNN_RETURN_IF_ERR(nn_check_like(op, "the bias", bias, x));
  if (kernel->ndim != 2)
    return dnn_error(DNN_ERR_SHAPE, "%s: the kernel must be 2-d (in, out), got %s", op, DNN_SHAPE_STR(kernel, b0));
  if (x->ndim < 1)
    return dnn_error(DNN_ERR_SHAPE, "%s: the input must have at least 1 dim, got a 0-d tensor", op);
  if (x->shape[x->ndim - 1] != kernel->shape[0])
    return dnn_error(DNN_ERR_SHAPE, "%s: input %s does not match kernel %s (the input's last dim %lld must equal "
                     "the kernel's first dim %lld)", op, DNN_SHAPE_STR(x, b0), DNN_SHAPE_STR(kernel, b1),
                     (long long)x->shape[x->ndim - 1], (long long)kernel->shape[0]);
  if (bias && !(bias->ndim == 1 && bias->shape[0] == kernel->shape[1]))
    return dnn_error(DNN_ERR_SHAPE, "%s: bias %s does not match kernel %s (expected [%lld])", op,
                     DNN_SHAPE_STR(bias, b0), DNN_SHAPE_STR(kernel, b1), (long long)kernel->shape[1]);
  return DNN_OK;
}

dnn_tensor *dnn_linear(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias, dnn_activation act,
                       double alpha) {
  if (dnn_nn_linear_check(x, kernel, bias) != DNN_OK) return NULL;
  if ((unsigned)act >= DNN_ACT_COUNT) {
    dnn_error(DNN_ERR_ARG, "linear: unknown activation code %d", (int)act);
    return NULL;
  }
  int64_t N = kernel->shape[1], shape[DNN_MAX_DIMS];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  shape[x->ndim - 1] = N;
  dnn_tensor xm, om, *xown = NULL, *kown = NULL, *bown = NULL, *out = NULL;
  bool tk;
  int64_t ld;
  if (!x_as_matrix(x, &xm, &xown)) return NULL;
  if (!dnn_blas_layout(kernel->shape[0], N, kernel->strides[0], kernel->strides[1], &tk, &ld)) {
    kown = dnn_contiguous((dnn_tensor *)kernel);
    if (!kown) goto done;
    kernel = kown;
  }
  if (bias && !dnn_is_contiguous(bias)) {
    bown = dnn_contiguous((dnn_tensor *)bias);
    if (!bown) goto done;
    bias = bown;
  }
  out = dnn_empty(x->ndim, shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  if (!out) goto done;
  matrix_header(&om, out, xm.shape[0], N, N, 1);
  dnn_op_args a = {.op = DNN_OP_LINEAR, .out = &om, .in = {&xm, kernel, bias}, .n_in = 3, .k = act, .s0 = alpha};
  if (dnn_dispatch(dnn_tensor_device(x), &a) != DNN_OK) {
    dnn_tensor_release(out);
    out = NULL;
  }
done:
  dnn_tensor_release(xown);
  dnn_tensor_release(kown);
  dnn_tensor_release(bown);
  return out;
}
