/* Engine API of the nn area (included at the end of dnn.h). */
#ifndef DNN_NN_H
#define DNN_NN_H
#endif
