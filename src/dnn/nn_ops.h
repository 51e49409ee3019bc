/* Op enum entries of the nn area (included by dnn.h into DNN_OP_LIST).
 * Each has a CPU kernel (src/cpu/nn_*.c, tabled by src/cpu/kernels_nn.h); the
 * argument block each one reads is described in src/dnn/nn.h. */
#ifndef DNN_NN_OPS_H
#define DNN_NN_OPS_H
#define DNN_OP_LIST_NN(X)                                                          \
  X(ACTIVATION) X(ACTIVATION_BACKWARD) X(SOFTMAX) X(SOFTMAX_BACKWARD) X(LINEAR)    \
  X(LINEAR_BACKWARD) X(LINEAR_KERNEL_GRAD) X(BATCH_NORM_STATS) X(BATCH_NORM)       \
  X(BATCH_NORM_BACKWARD) X(LAYER_NORM) X(LAYER_NORM_BACKWARD) X(DROPOUT)           \
  X(EMBEDDING) X(EMBEDDING_BACKWARD)
#endif
