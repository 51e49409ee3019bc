/* Macros that expand a body once per dtype with T bound to its C type. */
#ifndef DNN_CPU_DTYPE_DISPATCH_H
#define DNN_CPU_DTYPE_DISPATCH_H

#include <stdint.h>

/* Bool is stored as uint8 0/1. */
#define DNN_FOR_EACH_DTYPE(X) \
  X(DNN_FLOAT32, float, f32)  \
  X(DNN_FLOAT64, double, f64) \
  X(DNN_INT32, int32_t, i32)  \
  X(DNN_INT64, int64_t, i64)  \
  X(DNN_UINT8, uint8_t, u8)   \
  X(DNN_BOOL, uint8_t, b8)

#define DNN_FOR_EACH_NUMERIC(X) \
  X(DNN_FLOAT32, float, f32)    \
  X(DNN_FLOAT64, double, f64)   \
  X(DNN_INT32, int32_t, i32)    \
  X(DNN_INT64, int64_t, i64)    \
  X(DNN_UINT8, uint8_t, u8)

#define DNN_FOR_EACH_FLOAT(X) \
  X(DNN_FLOAT32, float, f32)  \
  X(DNN_FLOAT64, double, f64)

#endif
