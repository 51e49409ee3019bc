/* Engine API of the optim area (included at the end of dnn.h). */
#ifndef DNN_OPTIM_H
#define DNN_OPTIM_H
#endif
