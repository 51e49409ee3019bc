/* Activation kernels: forward and the fused backward (g * act'), over
 * contiguous tensors, threaded in fixed element ranges. */
#include "kernels_nn.h"
#include "iter.h"
#include "nn_act.h"

typedef struct {
  const dnn_op_args *a;
  void *out;
  const void *g, *x, *y;
} act_ctx;

#define ACT_KERNELS(T, S)                                                                 \
  static void act_fwd_##S(void *vc, int64_t b, int64_t e) {                               \
    act_ctx *c = vc;                                                                      \
    int act = (int)c->a->k;                                                               \
    T alpha = (T)c->a->s0, *o = c->out;                                                   \
    const T *x = c->x;                                                                    \
    NN_ACT_DISPATCH(act, for (int64_t i = b; i < e; i++) o[i] = nn_act_##S(A, x[i], alpha)) \
  }                                                                                       \
  static void act_bwd_##S(void *vc, int64_t b, int64_t e) {                               \
    act_ctx *c = vc;                                                                      \
    int act = (int)c->a->k;                                                               \
    T alpha = (T)c->a->s0, *o = c->out;                                                   \
    const T *g = c->g, *x = c->x, *y = c->y;                                              \
    if (x) {                                                                              \
      NN_ACT_DISPATCH(act, for (int64_t i = b; i < e; i++) o[i] = g[i] * nn_dact_x_##S(A, x[i], alpha)) \
    } else {                                                                              \
      NN_ACT_DISPATCH(act, for (int64_t i = b; i < e; i++) o[i] = g[i] * nn_dact_y_##S(A, y[i], alpha)) \
    }                                                                                     \
  }
ACT_KERNELS(float, f32)
ACT_KERNELS(double, f64)

/* Rough cost per element, so cheap activations stay on one thread longer. */
static int64_t act_cost(int act) {
  switch (act) {
    case DNN_ACT_LINEAR:
    case DNN_ACT_RELU:
    case DNN_ACT_LEAKY_RELU:
    case DNN_ACT_HARD_SIGMOID: return 1;
    default: return 8;
  }
}

static const void *ptr_or_null(const dnn_tensor *t) { return t ? dnn_data_ptr(t) : NULL; }

dnn_status cpu_nn_activation(const dnn_op_args *a) {
  act_ctx c = {a, dnn_data_ptr(a->out), NULL, dnn_data_ptr(a->in[0]), NULL};
  bool f32 = a->out->dtype == DNN_FLOAT32;
  cpu_parallel_for(dnn_numel(a->out), act_cost((int)a->k), f32 ? act_fwd_f32 : act_fwd_f64, &c);
  return DNN_OK;
}

dnn_status cpu_nn_activation_backward(const dnn_op_args *a) {
  act_ctx c = {a, dnn_data_ptr(a->out), dnn_data_ptr(a->in[0]), ptr_or_null(a->in[1]), ptr_or_null(a->in[2])};
  bool f32 = a->out->dtype == DNN_FLOAT32;
  cpu_parallel_for(dnn_numel(a->out), act_cost((int)a->k), f32 ? act_bwd_f32 : act_bwd_f64, &c);
  return DNN_OK;
}
