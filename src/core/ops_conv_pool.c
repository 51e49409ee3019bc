/* Pooling front end: checks, the window geometry (TensorFlow "valid"/"same",
 * PyTorch adaptive bins), the channels-first transposes, dispatch. */
#include <string.h>

#include "internal.h"

static dnn_status check_input(const char *op, const dnn_tensor *x, bool channels_first) {
  char bx[200];
  if (x->ndim != 4)
    return dnn_error(DNN_ERR_SHAPE, "%s: input must be 4-d %s, got %s", op,
                     channels_first ? "(batch, channels, height, width)" : "(batch, height, width, channels)",
                     DNN_SHAPE_STR(x, bx));
  if (x->dtype != DNN_FLOAT32 && x->dtype != DNN_FLOAT64 && !dnn_dtype_is_half((dnn_dtype)x->dtype))
    return dnn_error(DNN_ERR_DTYPE, "%s: input must be float32 or float64, got %s", op,
                     dnn_dtype_name((dnn_dtype)x->dtype));
  return DNN_OK;
}

static void plan_sizes(dnn_pool2d_plan *p, const dnn_tensor *x, bool channels_first) {
  p->n = x->shape[0];
  p->c = x->shape[channels_first ? 1 : 3];
  p->h = x->shape[channels_first ? 2 : 1];
  p->w = x->shape[channels_first ? 3 : 2];
}

dnn_status dnn_pool2d_plan_make(const char *op, const dnn_tensor *x, const dnn_pool2d_opts *o, dnn_pool2d_plan *p) {
  char bx[200];
  DNN_RETURN_IF_ERR(check_input(op, x, o->channels_first));
  memset(p, 0, sizeof *p);
  plan_sizes(p, x, o->channels_first);
  int64_t k[2] = {o->pool_size[0], o->pool_size[1]};
  int64_t s[2] = {o->strides[0] ? o->strides[0] : k[0], o->strides[1] ? o->strides[1] : k[1]};
  if (k[0] < 1 || k[1] < 1)
    return dnn_error(DNN_ERR_ARG, "%s: pool_size must be >= 1, got {%lld, %lld}", op, (long long)k[0],
                     (long long)k[1]);
  if (s[0] < 1 || s[1] < 1)
    return dnn_error(DNN_ERR_ARG, "%s: strides must be >= 1, got {%lld, %lld}", op, (long long)s[0],
                     (long long)s[1]);
  if (k[0] > INT32_MAX || k[1] > INT32_MAX || s[0] > INT32_MAX || s[1] > INT32_MAX)
    return dnn_error(DNN_ERR_ARG, "%s: pool_size {%lld, %lld} or strides {%lld, %lld} too large", op,
                     (long long)k[0], (long long)k[1], (long long)s[0], (long long)s[1]);
  if (o->padding != DNN_PADDING_VALID && o->padding != DNN_PADDING_SAME)
    return dnn_error(DNN_ERR_ARG, "%s: padding must be \"valid\" or \"same\"", op);
  int64_t in[2] = {p->h, p->w}, out[2], pad[2];
  for (int ax = 0; ax < 2; ax++) {
    if (o->padding == DNN_PADDING_SAME) {
      if (in[ax] == 0)
        return dnn_error(DNN_ERR_SHAPE, "%s: input %s has an empty spatial dimension", op, DNN_SHAPE_STR(x, bx));
      out[ax] = (in[ax] + s[ax] - 1) / s[ax];
      int64_t total = (out[ax] - 1) * s[ax] + k[ax] - in[ax];
      pad[ax] = total > 0 ? total / 2 : 0;
    } else {
      if (in[ax] < k[ax])
        return dnn_error(DNN_ERR_SHAPE,
                         "%s: pool_size %lldx%lld is larger than the input %lldx%lld (input %s, padding=\"valid\")",
                         op, (long long)k[0], (long long)k[1], (long long)p->h, (long long)p->w,
                         DNN_SHAPE_STR(x, bx));
      out[ax] = (in[ax] - k[ax]) / s[ax] + 1;
      pad[ax] = 0;
    }
  }
  p->oh = out[0], p->ow = out[1];
  p->dims[DNN_POOL_KH] = (int)k[0], p->dims[DNN_POOL_KW] = (int)k[1];
  p->dims[DNN_POOL_SH] = (int)s[0], p->dims[DNN_POOL_SW] = (int)s[1];
  p->dims[DNN_POOL_PT] = (int)pad[0], p->dims[DNN_POOL_PL] = (int)pad[1];
  p->dims[DNN_POOL_ADAPTIVE] = 0;
  return DNN_OK;
}

dnn_status dnn_adaptive_pool2d_plan_make(const char *op, const dnn_tensor *x, int64_t oh, int64_t ow,
                                         bool channels_first, dnn_pool2d_plan *p) {
  char bx[200];
  DNN_RETURN_IF_ERR(check_input(op, x, channels_first));
  memset(p, 0, sizeof *p);
  plan_sizes(p, x, channels_first);
  if (oh < 1 || ow < 1)
    return dnn_error(DNN_ERR_ARG, "%s: output_size must be >= 1, got {%lld, %lld}", op, (long long)oh,
                     (long long)ow);
  if (p->h < 1 || p->w < 1)
    return dnn_error(DNN_ERR_SHAPE, "%s: input %s has an empty spatial dimension", op, DNN_SHAPE_STR(x, bx));
  /* bin bounds i*H/oh must not overflow */
  if (oh > INT32_MAX || ow > INT32_MAX || p->h > INT32_MAX || p->w > INT32_MAX)
    return dnn_error(DNN_ERR_ARG, "%s: output_size {%lld, %lld} or input %s too large", op, (long long)oh,
                     (long long)ow, DNN_SHAPE_STR(x, bx));
  p->oh = oh, p->ow = ow;
  p->dims[DNN_POOL_ADAPTIVE] = 1;
  return DNN_OK;
}

dnn_tensor *dnn_pool2d_run(const char *op, const dnn_tensor *x, const dnn_pool2d_plan *p, bool is_max,
                           dnn_tensor **argmax) {
  if (argmax) *argmax = NULL;
  int64_t shape[4] = {p->n, p->oh, p->ow, p->c};
  if (dnn_check_shape(op, 4, shape) != DNN_OK) return NULL;
  if (p->h * p->w > INT32_MAX) {
    dnn_error(DNN_ERR_SHAPE, "%s: images of more than 2^31 pixels are not supported", op);
    return NULL;
  }
  dnn_tensor *xc = dnn_contiguous((dnn_tensor *)x);
  DNN_CHECK_NULL(xc);
  dnn_tensor *y = dnn_empty(4, shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  dnn_tensor *ix = y && is_max && argmax ? dnn_empty(4, shape, DNN_INT32, dnn_tensor_device(x)) : NULL;
  if (!y || (is_max && argmax && !ix)) dnn_error_prefix(op);
  if (y && (!is_max || !argmax || ix)) {
    dnn_op_args a = {.op = DNN_OP_POOL2D, .out = y, .out2 = ix, .in = {xc}, .n_in = 1, .flag = is_max, .ndims = 7};
    memcpy(a.dims, p->dims, sizeof p->dims);
    if (dnn_dispatch(dnn_tensor_device(x), &a) != DNN_OK) {
      dnn_error_prefix(op);
      dnn_tensor_release(ix);
      dnn_tensor_release(y);
      y = ix = NULL;
    }
  } else {
    dnn_tensor_release(y);
    y = NULL;
  }
  dnn_tensor_release(xc);
  if (argmax) *argmax = ix;
  return y;
}

dnn_tensor *dnn_pool2d_backward(const char *op, const dnn_tensor *grad, const dnn_tensor *argmax,
                                const dnn_pool2d_plan *p) {
  int64_t gshape[4] = {p->n, p->oh, p->ow, p->c}, xshape[4] = {p->n, p->h, p->w, p->c};
  if (grad->ndim != 4 || memcmp(grad->shape, gshape, sizeof gshape) != 0) {
    char bg[200], bw[200];
    dnn_error(DNN_ERR_SHAPE, "%s: gradient %s does not match the output shape %s", op, DNN_SHAPE_STR(grad, bg),
              dnn_shape_str(4, gshape, bw));
    return NULL;
  }
  dnn_tensor *gc = dnn_contiguous((dnn_tensor *)grad);
  DNN_CHECK_NULL(gc);
  dnn_tensor *ic = argmax ? dnn_contiguous((dnn_tensor *)argmax) : NULL;
  dnn_tensor *dx = !argmax || ic ? dnn_empty(4, xshape, (dnn_dtype)grad->dtype, dnn_tensor_device(grad)) : NULL;
  if (dx) {
    dnn_op_args a = {.op = DNN_OP_POOL2D_BACKWARD, .out = dx, .in = {gc, ic}, .n_in = 2, .flag = argmax != NULL,
                     .ndims = 7};
    memcpy(a.dims, p->dims, sizeof p->dims);
    if (dnn_dispatch(dnn_tensor_device(grad), &a) != DNN_OK) {
      dnn_error_prefix(op);
      dnn_tensor_release(dx);
      dx = NULL;
    }
  }
  dnn_tensor_release(gc);
  dnn_tensor_release(ic);
  return dx;
}

static const char *pool_name(dnn_pool_kind kind, bool adaptive) {
  if (adaptive) return kind == DNN_POOL_MAX ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
  return kind == DNN_POOL_MAX ? "max_pool2d" : "avg_pool2d";
}

/* Runs a plan on x in its own layout. */
static dnn_tensor *run_in_layout(const char *op, const dnn_tensor *x, const dnn_pool2d_plan *p, bool is_max,
                                 bool channels_first, dnn_tensor **argmax) {
  if (!channels_first) return dnn_pool2d_run(op, x, p, is_max, argmax);
  static const int to_last[4] = {0, 2, 3, 1}, to_first[4] = {0, 3, 1, 2};
  dnn_tensor *xl = dnn_permute((dnn_tensor *)x, to_last);
  DNN_CHECK_NULL(xl);
  dnn_tensor *yl = dnn_pool2d_run(op, xl, p, is_max, argmax);
  dnn_tensor_release(xl);
  DNN_CHECK_NULL(yl);
  dnn_tensor *yf = dnn_permute(yl, to_first);
  dnn_tensor_release(yl);
  DNN_CHECK_NULL(yf);
  dnn_tensor *y = dnn_contiguous(yf);
  dnn_tensor_release(yf);
  if (!y && argmax) {
    dnn_tensor_release(*argmax);
    *argmax = NULL;
  }
  return y;
}

dnn_tensor *dnn_pool2d(dnn_pool_kind kind, const dnn_tensor *x, const dnn_pool2d_opts *o, dnn_tensor **argmax) {
  const char *op = pool_name(kind, false);
  dnn_pool2d_plan p;
  if (argmax) *argmax = NULL;
  if (dnn_pool2d_plan_make(op, x, o, &p) != DNN_OK) return NULL;
  return run_in_layout(op, x, &p, kind == DNN_POOL_MAX, o->channels_first, argmax);
}

dnn_tensor *dnn_adaptive_pool2d(dnn_pool_kind kind, const dnn_tensor *x, int64_t oh, int64_t ow,
                                bool channels_first, dnn_tensor **argmax) {
  const char *op = pool_name(kind, true);
  dnn_pool2d_plan p;
  if (argmax) *argmax = NULL;
  if (dnn_adaptive_pool2d_plan_make(op, x, oh, ow, channels_first, &p) != DNN_OK) return NULL;
  return run_in_layout(op, x, &p, kind == DNN_POOL_MAX, channels_first, argmax);
}
