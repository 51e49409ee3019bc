/* Op enum entries of the loss area (included by dnn.h into DNN_OP_LIST). */
#ifndef DNN_LOSS_OPS_H
#define DNN_LOSS_OPS_H
#define DNN_OP_LIST_LOSS(X)
#endif
