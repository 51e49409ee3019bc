/* Op enum entries of the conv area (included by dnn.h into DNN_OP_LIST).
 * Each has a CPU kernel (src/cpu/conv2d.c, src/cpu/pool2d.c, tabled by
 * src/cpu/kernels_conv.h); the argument block each reads is described in
 * src/dnn/conv.h. */
#ifndef DNN_CONV_OPS_H
#define DNN_CONV_OPS_H
#define DNN_OP_LIST_CONV(X) \
  X(CONV2D) X(CONV2D_INPUT_GRAD) X(CONV2D_KERNEL_GRAD) X(POOL2D) X(POOL2D_BACKWARD)
#endif
