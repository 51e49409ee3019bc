/* Engine API of the conv area (included at the end of dnn.h). */
#ifndef DNN_CONV_H
#define DNN_CONV_H
#endif
