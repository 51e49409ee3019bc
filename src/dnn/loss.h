/* Engine API of the loss area (included at the end of dnn.h). */
#ifndef DNN_LOSS_H
#define DNN_LOSS_H
#endif
