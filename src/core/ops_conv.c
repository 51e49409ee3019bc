/* 2-d convolution front end: argument checks (messages name the op and the
 * shapes as the user passed them), TensorFlow padding, the channels-first
 * transposes, allocation, dispatch.  The kernels see channels-last,
 * contiguous tensors only. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

dnn_conv2d_opts dnn_conv2d_default_opts(void) {
  dnn_conv2d_opts o = {.strides = {1, 1}, .dilation = {1, 1}, .padding = DNN_PADDING_VALID, .groups = 1};
  return o;
}

typedef struct {
  int64_t n, h, w, c;     /* input, channels-last order */
  int64_t kh, kw, cout;
  int64_t oh, ow;
  int64_t pt, pl;         /* padding at the top and left */
} conv_shape;

static const char *padding_name(const dnn_conv2d_opts *o, char *buf) {
  if (o->padding == DNN_PADDING_VALID) return "\"valid\"";
  if (o->padding == DNN_PADDING_SAME) return "\"same\"";
  snprintf(buf, 64, "{%lld, %lld}", (long long)o->pad[0], (long long)o->pad[1]);
  return buf;
}

/* Output size and leading pad along one axis; -1 when the kernel does not fit. */
static int64_t out_size(const dnn_conv2d_opts *o, int ax, int64_t in, int64_t k, int64_t *pad_lo) {
  int64_t s = o->strides[ax], d = o->dilation[ax], ek = (k - 1) * d + 1;
  if (o->padding == DNN_PADDING_SAME) {
    int64_t out = (in + s - 1) / s;
    int64_t total = (out - 1) * s + ek - in;
    if (total < 0) total = 0;
    *pad_lo = total / 2;
    return out;
  }
  int64_t p = o->padding == DNN_PADDING_EXPLICIT ? o->pad[ax] : 0;
  *pad_lo = p;
  if (in + 2 * p < ek) return -1;
  return (in + 2 * p - ek) / s + 1;
}

static dnn_status check_float(const char *op, const char *what, const dnn_tensor *t) {
  dnn_dtype dt = (dnn_dtype)t->dtype;
  if (dt != DNN_FLOAT32 && dt != DNN_FLOAT64 && !dnn_dtype_is_half(dt)) /* half: float32 kernels (backend.c) */
    return dnn_error(DNN_ERR_DTYPE, "%s: %s must be float32 or float64, got %s", op, what, dnn_dtype_name(dt));
  return DNN_OK;
}

static dnn_status check_int_range(const char *op, const dnn_conv2d_opts *o) {
  for (int ax = 0; ax < 2; ax++)
    if (o->strides[ax] > INT32_MAX || o->dilation[ax] > INT32_MAX || o->pad[ax] > INT32_MAX / 4)
      return dnn_error(DNN_ERR_ARG, "%s: strides, dilation_rate or padding too large", op);
  if (o->groups > INT32_MAX) return dnn_error(DNN_ERR_ARG, "%s: groups too large", op);
  return DNN_OK;
}

static dnn_status check_conv(const char *op, const dnn_tensor *x, const dnn_tensor *k, const dnn_tensor *b,
                             const dnn_conv2d_opts *o, conv_shape *s) {
  char bx[200], bk[200], bb[200], bp[64];
  const char *layout = o->channels_first ? "(batch, channels, height, width)" : "(batch, height, width, channels)";
  if (x->ndim != 4)
    return dnn_error(DNN_ERR_SHAPE, "%s: input must be 4-d %s, got %s", op, layout, DNN_SHAPE_STR(x, bx));
  if (k->ndim != 4)
    return dnn_error(DNN_ERR_SHAPE, "%s: kernel must be 4-d (kh, kw, in_channels/groups, out_channels), got %s", op,
                     DNN_SHAPE_STR(k, bk));
  const dnn_tensor *ts[3] = {x, k, b};
  DNN_RETURN_IF_ERR(dnn_check_same_device(op, b ? 3 : 2, ts));
  DNN_RETURN_IF_ERR(check_float(op, "the input", x));
  if (k->dtype != x->dtype || (b && b->dtype != x->dtype))
    return dnn_error(DNN_ERR_DTYPE, "%s: input, kernel and bias dtypes differ (%s, %s%s%s)", op,
                     dnn_dtype_name((dnn_dtype)x->dtype), dnn_dtype_name((dnn_dtype)k->dtype), b ? ", " : "",
                     b ? dnn_dtype_name((dnn_dtype)b->dtype) : "");
  for (int ax = 0; ax < 2; ax++) {
    if (o->strides[ax] < 1)
      return dnn_error(DNN_ERR_ARG, "%s: strides must be >= 1, got {%lld, %lld}", op, (long long)o->strides[0],
                       (long long)o->strides[1]);
    if (o->dilation[ax] < 1)
      return dnn_error(DNN_ERR_ARG, "%s: dilation_rate must be >= 1, got {%lld, %lld}", op,
                       (long long)o->dilation[0], (long long)o->dilation[1]);
    if (o->padding == DNN_PADDING_EXPLICIT && o->pad[ax] < 0)
      return dnn_error(DNN_ERR_ARG, "%s: padding must be >= 0, got {%lld, %lld}", op, (long long)o->pad[0],
                       (long long)o->pad[1]);
  }
  if (o->groups < 1) return dnn_error(DNN_ERR_ARG, "%s: groups must be >= 1, got %lld", op, (long long)o->groups);
  DNN_RETURN_IF_ERR(check_int_range(op, o));
  s->n = x->shape[0];
  s->c = x->shape[o->channels_first ? 1 : 3];
  s->h = x->shape[o->channels_first ? 2 : 1];
  s->w = x->shape[o->channels_first ? 3 : 2];
  s->kh = k->shape[0], s->kw = k->shape[1], s->cout = k->shape[3];
  if (s->kh < 1 || s->kw < 1 || k->shape[2] < 1 || s->cout < 1)
    return dnn_error(DNN_ERR_SHAPE, "%s: kernel %s has an empty dimension", op, DNN_SHAPE_STR(k, bk));
  if (s->kh > (1 << 20) / s->kw)
    return dnn_error(DNN_ERR_SHAPE, "%s: kernel %s has more than 2^20 taps (kh*kw)", op, DNN_SHAPE_STR(k, bk));
  if (s->c % o->groups != 0)
    return dnn_error(DNN_ERR_SHAPE, "%s: groups=%lld does not divide the %lld input channels of input %s", op,
                     (long long)o->groups, (long long)s->c, DNN_SHAPE_STR(x, bx));
  if (s->cout % o->groups != 0)
    return dnn_error(DNN_ERR_SHAPE, "%s: groups=%lld does not divide the %lld output channels of kernel %s", op,
                     (long long)o->groups, (long long)s->cout, DNN_SHAPE_STR(k, bk));
  if (k->shape[2] * o->groups != s->c) {
    if (o->groups == 1)
      return dnn_error(DNN_ERR_SHAPE, "%s: input %s has %lld channels but the kernel %s expects %lld", op,
                       DNN_SHAPE_STR(x, bx), (long long)s->c, DNN_SHAPE_STR(k, bk), (long long)k->shape[2]);
    return dnn_error(DNN_ERR_SHAPE,
                     "%s: input %s has %lld channels but the kernel %s expects %lld (%lld per group x %lld groups)",
                     op, DNN_SHAPE_STR(x, bx), (long long)s->c, DNN_SHAPE_STR(k, bk),
                     (long long)(k->shape[2] * o->groups), (long long)k->shape[2], (long long)o->groups);
  }
  if (b && (b->ndim != 1 || b->shape[0] != s->cout))
    return dnn_error(DNN_ERR_SHAPE, "%s: bias %s does not match the %lld output channels of kernel %s", op,
                     DNN_SHAPE_STR(b, bb), (long long)s->cout, DNN_SHAPE_STR(k, bk));
  s->oh = out_size(o, 0, s->h, s->kh, &s->pt);
  s->ow = out_size(o, 1, s->w, s->kw, &s->pl);
  if (s->oh < 0 || s->ow < 0 || (o->padding == DNN_PADDING_SAME && (s->h == 0 || s->w == 0)))
    return dnn_error(DNN_ERR_SHAPE,
                     "%s: kernel %s (%lldx%lld with dilation) is larger than the padded input %lldx%lld "
                     "(input %s, padding=%s)",
                     op, DNN_SHAPE_STR(k, bk), (long long)((s->kh - 1) * o->dilation[0] + 1),
                     (long long)((s->kw - 1) * o->dilation[1] + 1),
                     (long long)(s->h + (o->padding == DNN_PADDING_EXPLICIT ? 2 * o->pad[0] : 0)),
                     (long long)(s->w + (o->padding == DNN_PADDING_EXPLICIT ? 2 * o->pad[1] : 0)),
                     DNN_SHAPE_STR(x, bx), padding_name(o, bp));
  int64_t shape[4] = {s->n, s->oh, s->ow, s->cout};
  return dnn_check_shape(op, 4, shape);
}

dnn_status dnn_conv2d_check(const dnn_tensor *x, const dnn_tensor *k, const dnn_tensor *b,
                            const dnn_conv2d_opts *o, int64_t *out_shape) {
  conv_shape s;
  DNN_RETURN_IF_ERR(check_conv("conv2d", x, k, b, o, &s));
  if (out_shape) {
    int64_t nhwc[4] = {s.n, s.oh, s.ow, s.cout}, nchw[4] = {s.n, s.cout, s.oh, s.ow};
    memcpy(out_shape, o->channels_first ? nchw : nhwc, sizeof nhwc);
  }
  return DNN_OK;
}

static void conv_dims(dnn_op_args *a, const dnn_conv2d_opts *o, const conv_shape *s) {
  a->dims[DNN_CONV_SH] = (int)o->strides[0];
  a->dims[DNN_CONV_SW] = (int)o->strides[1];
  a->dims[DNN_CONV_PT] = (int)s->pt;
  a->dims[DNN_CONV_PL] = (int)s->pl;
  a->dims[DNN_CONV_DH] = (int)o->dilation[0];
  a->dims[DNN_CONV_DW] = (int)o->dilation[1];
  a->dims[DNN_CONV_GROUPS] = (int)o->groups;
  a->ndims = 7;
}

static dnn_tensor *to_nhwc(const dnn_tensor *x, bool channels_first) {
  if (!channels_first) return dnn_contiguous((dnn_tensor *)x);
  static const int perm[4] = {0, 2, 3, 1};
  dnn_tensor *p = dnn_permute((dnn_tensor *)x, perm);
  DNN_CHECK_NULL(p);
  dnn_tensor *c = dnn_contiguous(p);
  dnn_tensor_release(p);
  return c;
}

static dnn_tensor *to_nchw(dnn_tensor *y) {
  static const int perm[4] = {0, 3, 1, 2};
  dnn_tensor *p = dnn_permute(y, perm);
  dnn_tensor_release(y);
  DNN_CHECK_NULL(p);
  dnn_tensor *c = dnn_contiguous(p);
  dnn_tensor_release(p);
  return c;
}

dnn_tensor *dnn_conv2d(const dnn_tensor *x, const dnn_tensor *k, const dnn_tensor *b, const dnn_conv2d_opts *o) {
  conv_shape s;
  if (check_conv("conv2d", x, k, b, o, &s) != DNN_OK) return NULL;
  dnn_tensor *xc = to_nhwc(x, o->channels_first);
  dnn_tensor *kc = xc ? dnn_contiguous((dnn_tensor *)k) : NULL;
  dnn_tensor *bc = kc && b ? dnn_contiguous((dnn_tensor *)b) : NULL;
  int64_t shape[4] = {s.n, s.oh, s.ow, s.cout};
  dnn_tensor *y = kc && (bc || !b) ? dnn_empty(4, shape, (dnn_dtype)x->dtype, dnn_tensor_device(x)) : NULL;
  if (!y) dnn_error_prefix("conv2d");
  if (y) {
    dnn_op_args a = {.op = DNN_OP_CONV2D, .out = y, .in = {xc, kc, bc}, .n_in = 3};
    conv_dims(&a, o, &s);
    if (dnn_dispatch(dnn_tensor_device(x), &a) != DNN_OK) {
      dnn_tensor_release(y);
      y = NULL;
    }
  }
  dnn_tensor_release(xc);
  dnn_tensor_release(kc);
  dnn_tensor_release(bc);
  if (y && o->channels_first) y = to_nchw(y);
  return y;
}

/* The channels-last geometry of a backward call, checked against grad. */
static dnn_status backward_shape(const char *op, const int64_t *x_shape, const int64_t *k_shape,
                                 const dnn_tensor *grad, const dnn_conv2d_opts *o, conv_shape *s) {
  dnn_conv2d_opts on = *o;
  on.channels_first = false;
  dnn_tensor xh = {.ndim = 4, .dtype = grad->dtype, .storage = grad->storage};
  dnn_tensor kh = {.ndim = 4, .dtype = grad->dtype, .storage = grad->storage};
  memcpy(xh.shape, x_shape, sizeof(int64_t) * 4);
  memcpy(kh.shape, k_shape, sizeof(int64_t) * 4);
  DNN_RETURN_IF_ERR(check_conv(op, &xh, &kh, NULL, &on, s));
  int64_t want[4] = {s->n, s->oh, s->ow, s->cout};
  if (grad->ndim != 4 || memcmp(grad->shape, want, sizeof want) != 0) {
    char bg[200], bw[200];
    return dnn_error(DNN_ERR_SHAPE, "%s: gradient %s does not match the output shape %s", op,
                     DNN_SHAPE_STR(grad, bg), dnn_shape_str(4, want, bw));
  }
  return DNN_OK;
}

dnn_tensor *dnn_conv2d_input_grad(const dnn_tensor *grad, const dnn_tensor *k, const int64_t *x_shape,
                                  const dnn_conv2d_opts *o) {
  conv_shape s;
  if (backward_shape("conv2d_backward", x_shape, k->shape, grad, o, &s) != DNN_OK) return NULL;
  dnn_tensor *gc = dnn_contiguous((dnn_tensor *)grad);
  dnn_tensor *kc = gc ? dnn_contiguous((dnn_tensor *)k) : NULL;
  dnn_tensor *dx = kc ? dnn_empty(4, x_shape, (dnn_dtype)grad->dtype, dnn_tensor_device(grad)) : NULL;
  if (dx) {
    dnn_op_args a = {.op = DNN_OP_CONV2D_INPUT_GRAD, .out = dx, .in = {gc, kc}, .n_in = 2};
    conv_dims(&a, o, &s);
    if (dnn_dispatch(dnn_tensor_device(grad), &a) != DNN_OK) {
      dnn_tensor_release(dx);
      dx = NULL;
    }
  }
  dnn_tensor_release(gc);
  dnn_tensor_release(kc);
  return dx;
}

dnn_status dnn_conv2d_kernel_grad(const dnn_tensor *x, const dnn_tensor *grad, const int64_t *k_shape,
                                  const dnn_conv2d_opts *o, dnn_tensor **dkernel, dnn_tensor **dbias) {
  conv_shape s;
  if (dkernel) *dkernel = NULL;
  if (dbias) *dbias = NULL;
  DNN_RETURN_IF_ERR(backward_shape("conv2d_backward", x->shape, k_shape, grad, o, &s));
  if (!dkernel && !dbias) return DNN_OK;
  dnn_dtype dt = (dnn_dtype)grad->dtype;
  dnn_tensor *xc = dnn_contiguous((dnn_tensor *)x);
  dnn_tensor *gc = xc ? dnn_contiguous((dnn_tensor *)grad) : NULL;
  dnn_tensor *dk = gc && dkernel ? dnn_empty(4, k_shape, dt, dnn_tensor_device(grad)) : NULL;
  dnn_tensor *db = gc && dbias ? dnn_empty(1, &k_shape[3], dt, dnn_tensor_device(grad)) : NULL;
  dnn_status st = DNN_OK;
  if (!gc || (dkernel && !dk) || (dbias && !db)) {
    st = dnn_error_code() ? dnn_error_code() : DNN_ERR_MEMORY;
  } else {
    dnn_op_args a = {.op = DNN_OP_CONV2D_KERNEL_GRAD, .out = dk, .out2 = db, .in = {xc, gc}, .n_in = 2};
    conv_dims(&a, o, &s);
    st = dnn_dispatch(dnn_tensor_device(grad), &a);
  }
  dnn_tensor_release(xc);
  dnn_tensor_release(gc);
  if (st != DNN_OK) {
    dnn_tensor_release(dk);
    dnn_tensor_release(db);
    return st;
  }
  if (dkernel) *dkernel = dk;
  if (dbias) *dbias = db;
  return DNN_OK;
}
