/* Engine API of HDF5 value files (included at the end of dnn.h). */
#ifndef DNN_HDF5_H
#define DNN_HDF5_H
#endif
