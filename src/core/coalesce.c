/* Dim coalescing for the elementwise iterators (see internal.h). */
#include "internal.h"

int dnn_coalesce_dims(int nops, const dnn_tensor *const *ts, bool in_bytes, int64_t *shape,
                      int64_t (*strides)[DNN_MAX_DIMS]) {
  const dnn_tensor *t0 = ts[0];
  int nd = 0;
  for (int d = 0; d < t0->ndim; d++) {
    if (t0->shape[d] == 1) continue;
    shape[nd] = t0->shape[d];
    for (int k = 0; k < nops; k++)
      strides[k][nd] = ts[k]->strides[d] * (in_bytes ? (int64_t)dnn_dtype_size((dnn_dtype)ts[k]->dtype) : 1);
    nd++;
  }
  if (nd == 0) {
    shape[0] = 1;
    for (int k = 0; k < nops; k++) strides[k][0] = 0;
    return 1;
  }
  int out = 0;
  for (int d = 1; d < nd; d++) {
    bool merge = true;
    for (int k = 0; k < nops; k++)
      if (strides[k][out] != strides[k][d] * shape[d]) merge = false;
    if (merge) {
      shape[out] *= shape[d];
    } else {
      out++;
      shape[out] = shape[d];
    }
    for (int k = 0; k < nops; k++) strides[k][out] = strides[k][d];
  }
  return out + 1;
}
