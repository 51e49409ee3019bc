/* Creation ops with computed values: arange, linspace, eye. */
#include <math.h>

#include "internal.h"

dnn_tensor *dnn_arange(double start, double end, double step, dnn_dtype dt) {
  if (step == 0 || step != step) {
    dnn_error(DNN_ERR_ARG, "arange: step must be nonzero, got %g", step);
    return NULL;
  }
  if (!isfinite(start) || !isfinite(end)) {
    dnn_error(DNN_ERR_ARG, "arange: start and end must be finite, got %g and %g", start, end);
    return NULL;
  }
  if ((step > 0 && end < start) || (step < 0 && end > start)) {
    dnn_error(DNN_ERR_ARG, "arange: step %g never reaches end %g from start %g", step, end, start);
    return NULL;
  }
  double nf = ceil((end - start) / step);
  if (nf > 1e12) {
    dnn_error(DNN_ERR_ARG, "arange: %g elements is too many", nf);
    return NULL;
  }
  int64_t n = (int64_t)nf;
  dnn_tensor *t = dnn_empty(1, &n, dt, DNN_CPU);
  DNN_CHECK_NULL(t);
  for (int64_t i = 0; i < n; i++) {
    int64_t idx[1] = {i};
    dnn_set_at(t, idx, start + (double)i * step);
  }
  return t;
}

dnn_tensor *dnn_linspace(double start, double end, int64_t steps, dnn_dtype dt) {
  if (steps < 0) {
    dnn_error(DNN_ERR_ARG, "linspace: steps must be >= 0, got %lld", (long long)steps);
    return NULL;
  }
  dnn_tensor *t = dnn_empty(1, &steps, dt, DNN_CPU);
  DNN_CHECK_NULL(t);
  double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
  for (int64_t i = 0; i < steps; i++) {
    int64_t idx[1] = {i};
    /* fill from both ends so the last value is exactly `end` */
    double v = i < steps / 2 ? start + step * (double)i : end - step * (double)(steps - 1 - i);
    dnn_set_at(t, idx, v);
  }
  return t;
}

dnn_tensor *dnn_eye(int64_t n, int64_t m, dnn_dtype dt) {
  int64_t shape[2] = {n, m < 0 ? n : m};
  dnn_tensor *t = dnn_zeros(2, shape, dt, DNN_CPU);
  DNN_CHECK_NULL(t);
  for (int64_t i = 0; i < shape[0] && i < shape[1]; i++) {
    int64_t idx[2] = {i, i};
    dnn_set_at(t, idx, 1);
  }
  return t;
}
