/* Op enum entries of the optim area (included by dnn.h into DNN_OP_LIST). */
#ifndef DNN_OPTIM_OPS_H
#define DNN_OPTIM_OPS_H
#define DNN_OP_LIST_OPTIM(X)
#endif
