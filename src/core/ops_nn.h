/* Helpers shared by the nn area's front ends (core/ops_nn_*.c and
 * autograd/ag_nn_*.c): dtype checks that name the op, and contiguous
 * operands for kernels that want them. */
#ifndef DNN_CORE_OPS_NN_H
#define DNN_CORE_OPS_NN_H

#include "internal.h"

/* "<op>: <what> must be float32 or float64, got int64".  float16/bfloat16 pass:
 * the kernels see float32 copies (core/backend.c) and results are rounded back. */
static inline dnn_status nn_check_float(const char *op, const char *what, const dnn_tensor *t) {
  if (t->dtype == DNN_FLOAT32 || t->dtype == DNN_FLOAT64 || dnn_dtype_is_half((dnn_dtype)t->dtype)) return DNN_OK;
  return dnn_error(DNN_ERR_DTYPE, "%s: %s must be float32 or float64, got %s", op, what,
                   dnn_dtype_name((dnn_dtype)t->dtype));
}

/* t (if given) has x's dtype and device. */
static inline dnn_status nn_check_like(const char *op, const char *what, const dnn_tensor *t, const dnn_tensor *x) {
  if (!t) return DNN_OK;
  if (t->dtype != x->dtype)
    return dnn_error(DNN_ERR_DTYPE, "%s: %s is %s but the input is %s; convert one with :to()", op, what,
                     dnn_dtype_name((dnn_dtype)t->dtype), dnn_dtype_name((dnn_dtype)x->dtype));
  if (!dnn_device_eq(dnn_tensor_device(t), dnn_tensor_device(x)))
    return dnn_error(DNN_ERR_DEVICE, "%s: %s and the input are on different devices", op, what);
  return DNN_OK;
}

/* t is a vector of n elements (or NULL): "<op>: <what> [5] does not match ..." */
static inline dnn_status nn_check_vector(const char *op, const char *what, const dnn_tensor *t, int64_t n,
                                         const char *against) {
  char b0[200];
  if (!t || (t->ndim == 1 && t->shape[0] == n)) return DNN_OK;
  return dnn_error(DNN_ERR_SHAPE, "%s: %s %s does not match %s (expected [%lld])", op, what, DNN_SHAPE_STR(t, b0),
                   against, (long long)n);
}

/* A contiguous version of t (a new reference; t itself retained when it already is). */
static inline dnn_tensor *nn_contig(const dnn_tensor *t) { return t ? dnn_contiguous((dnn_tensor *)t) : NULL; }

/* Shape/dtype checks of linear (core/ops_nn_linear.c), shared with its autograd form. */
dnn_status dnn_nn_linear_check(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias);
/* Dtype and rate checks of dropout (core/ops_nn_misc.c). */
dnn_status dnn_nn_dropout_check(const dnn_tensor *x, double rate);

#endif
