/* Shared by the fused crossentropy kernels (cpu/loss_*.c): the (outer, C,
 * inner) geometry of a class axis, a vectorisable expf, and label loading. */
#ifndef DNN_CPU_LOSS_COMMON_H
#define DNN_CPU_LOSS_COMMON_H

#include <math.h>
#include <string.h>

#include "../core/internal.h"

/* A contiguous tensor seen as (outer, C, inner) around the class axis: the
 * row r = o*inner + i holds elements (o*C + c)*inner + i, c = 0..C-1. */
typedef struct {
  int64_t outer, C, inner;
} loss_geom;

static inline loss_geom loss_geom_of(const dnn_tensor *t, int axis) {
  loss_geom g = {1, t->shape[axis], 1};
  for (int d = 0; d < axis; d++) g.outer *= t->shape[d];
  for (int d = axis + 1; d < t->ndim; d++) g.inner *= t->shape[d];
  return g;
}

/* exp for float without libm calls, so loops over classes vectorise:
 * Cody-Waite reduction x = n ln2 + r, a degree-7 polynomial (Cephes expf,
 * about 1 ulp), 2^n built in the exponent bits.  Inputs below -87.3 give
 * ~1e-38 instead of a denormal; NaN stays NaN (no float->int cast, no UB). */
static inline float loss_expf(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t tb, bits;
  memcpy(&tb, &t, sizeof tb);
  bits = (tb - 0x4B400000u + 127u) << 23; /* unsigned: wraps for NaN, never UB */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* Label i of a contiguous labels tensor as a double (ids are exact in it up
 * to 2^53, far beyond any class count). */
static inline double loss_label_at(const dnn_tensor *lab, int64_t i) {
  const void *p = dnn_data_ptr(lab);
  switch ((dnn_dtype)lab->dtype) {
    case DNN_FLOAT32: return ((const float *)p)[i];
    case DNN_FLOAT64: return ((const double *)p)[i];
    case DNN_INT32: return ((const int32_t *)p)[i];
    case DNN_INT64: return (double)((const int64_t *)p)[i];
    case DNN_UINT8:
    case DNN_BOOL: return ((const uint8_t *)p)[i];
    default: return NAN;
  }
}

/* Class id of row i: 0..C-1, or -1 for an ignored (or, in a backward,
 * invalid) label.  Forward kernels validate labels first (cpu_loss_check_labels). */
static inline int64_t loss_class_at(const dnn_tensor *lab, int64_t i, int64_t C, bool has_ignore,
                                    int64_t ignore) {
  double v = loss_label_at(lab, i);
  if (!(v >= 0 && v < (double)C)) return -1;
  int64_t y = (int64_t)v;
  if (has_ignore && y == ignore) return -1;
  return y;
}

/* Every label an integer in [0, C) or the ignored class; else an error
 * naming the first bad one. */
dnn_status cpu_loss_check_labels(const char *op, const dnn_tensor *labels, int64_t C, bool has_ignore,
                             int64_t ignore);

#endif
