/* softmax / log_softmax along one dim, and their fused backward.  The tensor
 * is seen as (outer, C, inner); each (outer, inner) pair is one independent
 * line of C values, so threads split lines and results do not depend on the
 * thread count.  Sums accumulate in double. */
#include <math.h>

#include "iter.h"
#include "kernels_nn.h"

typedef struct {
  const dnn_op_args *a;
  int64_t C, inner;
} sm_ctx;

static void sm_geometry(const dnn_tensor *t, int dim, int64_t *outer, int64_t *C, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int d = 0; d < dim; d++) *outer *= t->shape[d];
  for (int d = dim + 1; d < t->ndim; d++) *inner *= t->shape[d];
  *C = t->ndim ? t->shape[dim] : 1;
}

#define SM_KERNELS(T, S, F)                                                               \
  static void sm_fwd_##S(void *vc, int64_t b, int64_t e) {                                \
    sm_ctx *c = vc;                                                                       \
    int64_t C = c->C, in = c->inner;                                                      \
    bool lg = c->a->flag;                                                                 \
    const T *X = dnn_data_ptr(c->a->in[0]);                                               \
    T *Y = dnn_data_ptr(c->a->out);                                                       \
    for (int64_t line = b; line < e; line++) {                                            \
      int64_t o = line / in, i = line % in;                                               \
      const T *x = X + o * C * in + i;                                                    \
      T *y = Y + o * C * in + i;                                                          \
      T m = -INFINITY;                                                                    \
      for (int64_t j = 0; j < C; j++)                                                     \
        if (x[j * in] > m || x[j * in] != x[j * in]) m = x[j * in];                       \
      if (m == -INFINITY) m = 0; /* all -inf: let exp give 0/0 = nan as torch */          \
      double s = 0;                                                                       \
      if (lg) {                                                                           \
        for (int64_t j = 0; j < C; j++) s += exp##F(x[j * in] - m);                       \
        T lse = m + (T)log(s);                                                            \
        for (int64_t j = 0; j < C; j++) y[j * in] = x[j * in] - lse;                      \
      } else {                                                                            \
        for (int64_t j = 0; j < C; j++) {                                                 \
          T v = exp##F(x[j * in] - m);                                                    \
          y[j * in] = v;                                                                  \
          s += v;                                                                         \
        }                                                                                 \
        T inv = (T)(1.0 / s);                                                             \
        for (int64_t j = 0; j < C; j++) y[j * in] *= inv;                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  static void sm_bwd_##S(void *vc, int64_t b, int64_t e) {                                \
    sm_ctx *c = vc;                                                                       \
    int64_t C = c->C, in = c->inner;                                                      \
    bool lg = c->a->flag;                                                                 \
    const T *G = dnn_data_ptr(c->a->in[0]), *Yv = dnn_data_ptr(c->a->in[1]);              \
    T *DX = dnn_data_ptr(c->a->out);                                                      \
    for (int64_t line = b; line < e; line++) {                                            \
      int64_t o = line / in, i = line % in, off = o * C * in + i;                         \
      const T *g = G + off, *y = Yv + off;                                                \
      T *dx = DX + off;                                                                   \
      double s = 0;                                                                       \
      if (lg) {                                                                           \
        for (int64_t j = 0; j < C; j++) s += g[j * in];                                   \
        for (int64_t j = 0; j < C; j++) dx[j * in] = g[j * in] - exp##F(y[j * in]) * (T)s; \
      } else {                                                                            \
        for (int64_t j = 0; j < C; j++) s += (double)g[j * in] * y[j * in];               \
        for (int64_t j = 0; j < C; j++) dx[j * in] = y[j * in] * (g[j * in] - (T)s);      \
      }                                                                                   \
    }                                                                                     \
  }
SM_KERNELS(float, f32, f)
SM_KERNELS(double, f64, )

static dnn_status run(const dnn_op_args *a, void (*f32)(void *, int64_t, int64_t),
                      void (*f64)(void *, int64_t, int64_t)) {
  int64_t outer, C, inner;
  sm_geometry(a->out, a->dim, &outer, &C, &inner);
  sm_ctx c = {a, C, inner};
  cpu_parallel_for(outer * inner, C * 4, a->out->dtype == DNN_FLOAT32 ? f32 : f64, &c);
  return DNN_OK;
}

dnn_status cpu_nn_softmax(const dnn_op_args *a) { return run(a, sm_fwd_f32, sm_fwd_f64); }
dnn_status cpu_nn_softmax_backward(const dnn_op_args *a) { return run(a, sm_bwd_f32, sm_bwd_f64); }
