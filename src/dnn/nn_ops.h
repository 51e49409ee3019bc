/* Op enum entries of the nn area (included by dnn.h into DNN_OP_LIST). */
#ifndef DNN_NN_OPS_H
#define DNN_NN_OPS_H
#define DNN_OP_LIST_NN(X)
#endif
