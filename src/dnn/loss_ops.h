/* Op enum entries of the loss area (included by dnn.h into DNN_OP_LIST).
 * The crossentropies are fused: one kernel for the forward (log-sum-exp or
 * clipped probabilities) and one for the backward of each family. */
#ifndef DNN_LOSS_OPS_H
#define DNN_LOSS_OPS_H
#define DNN_OP_LIST_LOSS(X)                                                      \
  X(CATEGORICAL_CROSSENTROPY) X(CATEGORICAL_CROSSENTROPY_BACKWARD)               \
  X(SPARSE_CATEGORICAL_CROSSENTROPY) X(SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD) \
  X(BINARY_CROSSENTROPY) X(BINARY_CROSSENTROPY_BACKWARD)
#endif
