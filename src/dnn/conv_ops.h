/* Op enum entries of the conv area (included by dnn.h into DNN_OP_LIST). */
#ifndef DNN_CONV_OPS_H
#define DNN_CONV_OPS_H
#define DNN_OP_LIST_CONV(X)
#endif
