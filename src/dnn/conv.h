/* Engine API of the conv area (included at the end of dnn.h): 2-d
 * convolution and pooling, channels-last (N, H, W, C) as in Keras, kernels
 * (kh, kw, in/groups, out).  The dnn_* forms compute; the dnn_ag_* forms also
 * record the autograd node when an input requires grad.
 *
 * Padding follows TensorFlow: "valid" adds none; "same" makes the output
 * ceil(H / stride) and pads total = max((ceil(H/s) - 1)*s + (k-1)*d + 1 - H, 0),
 * the odd pixel at the bottom/right; an explicit (ph, pw) pads both sides. */
#ifndef DNN_CONV_H
#define DNN_CONV_H

typedef enum { DNN_PADDING_VALID, DNN_PADDING_SAME, DNN_PADDING_EXPLICIT } dnn_padding;

typedef struct {
  int64_t strides[2];  /* (h, w), >= 1 */
  int64_t dilation[2]; /* (h, w), >= 1 */
  dnn_padding padding;
  int64_t pad[2];      /* DNN_PADDING_EXPLICIT: zeros on both sides of h and w */
  int64_t groups;      /* divides the input and output channels */
  bool channels_first; /* input/output (N, C, H, W); the kernel layout is unchanged */
} dnn_conv2d_opts;

/* strides 1, dilation 1, "valid", groups 1, channels last */
dnn_conv2d_opts dnn_conv2d_default_opts(void);

/* Checks the arguments of a conv2d without computing; out_shape (may be NULL)
 * receives the output shape in the input's layout. */
dnn_status dnn_conv2d_check(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias,
                            const dnn_conv2d_opts *o, int64_t *out_shape);
/* x (N,H,W,Cin) * kernel (kh,kw,Cin/groups,Cout) + bias (Cout, may be NULL). */
dnn_tensor *dnn_conv2d(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias,
                       const dnn_conv2d_opts *o);
dnn_tensor *dnn_ag_conv2d(const dnn_tensor *x, const dnn_tensor *kernel, const dnn_tensor *bias,
                          const dnn_conv2d_opts *o);
/* Backward pieces, channels-last only (used by the autograd node):
 * the input gradient of shape x_shape, and the kernel gradient (plus the bias
 * gradient into *dbias when dbias is not NULL; *dkernel may be skipped by
 * passing dkernel NULL). */
dnn_tensor *dnn_conv2d_input_grad(const dnn_tensor *grad, const dnn_tensor *kernel, const int64_t *x_shape,
                                  const dnn_conv2d_opts *o);
dnn_status dnn_conv2d_kernel_grad(const dnn_tensor *x, const dnn_tensor *grad, const int64_t *kernel_shape,
                                  const dnn_conv2d_opts *o, dnn_tensor **dkernel, dnn_tensor **dbias);

typedef enum { DNN_POOL_MAX, DNN_POOL_AVG } dnn_pool_kind;

typedef struct {
  int64_t pool_size[2]; /* (h, w) */
  int64_t strides[2];   /* (h, w); 0 means pool_size */
  dnn_padding padding;  /* VALID or SAME; "same" averages only the cells inside the input */
  bool channels_first;
} dnn_pool2d_opts;

/* Max or average pooling.  *argmax (may be NULL) receives, for max pooling,
 * an int32 tensor of the output's (channels-last) shape holding the position
 * ih*W + iw of each maximum (the first one on ties; NaN wins). */
dnn_tensor *dnn_pool2d(dnn_pool_kind kind, const dnn_tensor *x, const dnn_pool2d_opts *o, dnn_tensor **argmax);
dnn_tensor *dnn_ag_pool2d(dnn_pool_kind kind, const dnn_tensor *x, const dnn_pool2d_opts *o);
/* PyTorch's adaptive pooling to (oh, ow): bin i spans
 * [floor(i*H/oh), ceil((i+1)*H/oh)). */
dnn_tensor *dnn_adaptive_pool2d(dnn_pool_kind kind, const dnn_tensor *x, int64_t oh, int64_t ow,
                                bool channels_first, dnn_tensor **argmax);
dnn_tensor *dnn_ag_adaptive_pool2d(dnn_pool_kind kind, const dnn_tensor *x, int64_t oh, int64_t ow,
                                   bool channels_first);
/* Pooling over all of H and W: (N, C), or (N, 1, 1, C) / (N, C, 1, 1) with keepdims. */
dnn_tensor *dnn_ag_global_pool2d(dnn_pool_kind kind, const dnn_tensor *x, bool keepdims, bool channels_first);

/* Building blocks of the pooling ops (autograd, other front ends): the
 * resolved geometry, in channels-last terms, then the forward and backward
 * passes on channels-last data.  op names the caller in error messages. */
typedef struct {
  int64_t n, h, w, c, oh, ow;
  int dims[7]; /* DNN_POOL_* */
} dnn_pool2d_plan;
dnn_status dnn_pool2d_plan_make(const char *op, const dnn_tensor *x, const dnn_pool2d_opts *o, dnn_pool2d_plan *p);
dnn_status dnn_adaptive_pool2d_plan_make(const char *op, const dnn_tensor *x, int64_t oh, int64_t ow,
                                         bool channels_first, dnn_pool2d_plan *p);
/* x channels-last (any strides); *argmax as for dnn_pool2d. */
dnn_tensor *dnn_pool2d_run(const char *op, const dnn_tensor *x, const dnn_pool2d_plan *p, bool is_max,
                           dnn_tensor **argmax);
/* dx (N,H,W,C) from grad (N,OH,OW,C); argmax for max pooling, NULL for average. */
dnn_tensor *dnn_pool2d_backward(const char *op, const dnn_tensor *grad, const dnn_tensor *argmax,
                                const dnn_pool2d_plan *p);

/* ---- the argument blocks of the conv ops (dnn_op_args), channels-last ----
 * CONV2D:            in[0] x (N,H,W,C), in[1] kernel (kh,kw,C/g,Co), in[2] bias or NULL,
 *                    out (N,OH,OW,Co).  All contiguous.
 * CONV2D_INPUT_GRAD: in[0] grad (N,OH,OW,Co), in[1] kernel, out (N,H,W,C).
 * CONV2D_KERNEL_GRAD: in[0] x, in[1] grad; out kernel-shaped or NULL, out2 (Co) or NULL.
 * dims[] of the three: */
#define DNN_CONV_SH 0     /* strides */
#define DNN_CONV_SW 1
#define DNN_CONV_PT 2     /* padding at the top and left (bottom/right follow from the sizes) */
#define DNN_CONV_PL 3
#define DNN_CONV_DH 4     /* dilation */
#define DNN_CONV_DW 5
#define DNN_CONV_GROUPS 6
/* POOL2D: in[0] x (N,H,W,C); out (N,OH,OW,C); out2 int32 argmax or NULL; flag: max (else avg).
 * POOL2D_BACKWARD: in[0] grad (N,OH,OW,C), in[1] argmax (max) or NULL, out (N,H,W,C).
 * dims[] of both; with DNN_POOL_ADAPTIVE set the windows are the adaptive bins. */
#define DNN_POOL_KH 0
#define DNN_POOL_KW 1
#define DNN_POOL_SH 2
#define DNN_POOL_SW 3
#define DNN_POOL_PT 4
#define DNN_POOL_PL 5
#define DNN_POOL_ADAPTIVE 6

#endif
