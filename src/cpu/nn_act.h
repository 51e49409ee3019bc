/* Scalar activation functions and their derivatives, shared by the
 * activation kernels and the dense layer's fused epilogue.  Callers run their
 * loops inside NN_ACT_DISPATCH, which instantiates the loop once per
 * activation with a constant code, so the switch folds away and each loop
 * vectorises (a switch per element costs several times the work of relu). */
#ifndef DNN_CPU_NN_ACT_H
#define DNN_CPU_NN_ACT_H

#include <math.h>

#include "../core/internal.h"

#define NN_SELU_ALPHA 1.6732632423543772848170429916717
#define NN_SELU_SCALE 1.0507009873554804934193349852946
#define NN_SQRT_2_OVER_PI 0.7978845608028654
#define NN_INV_SQRT2 0.7071067811865476
#define NN_INV_SQRT_2PI 0.3989422804014327
#define NN_GELU_C 0.044715

/* T: element type, S: suffix, F: libm suffix ("f" or empty). */
#define NN_ACT_FUNCS(T, S, F)                                                             \
  static inline T nn_sigmoid_##S(T x) { return (T)1 / ((T)1 + exp##F(-x)); }             \
  static inline T nn_act_##S(int act, T x, T alpha) {                                     \
    switch (act) {                                                                        \
      case DNN_ACT_RELU: return x > 0 ? x : (x != x ? x : (T)0);                          \
      case DNN_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;                              \
      case DNN_ACT_ELU: return x > 0 ? x : alpha * expm1##F(x);                           \
      case DNN_ACT_SELU:                                                                  \
        return (T)NN_SELU_SCALE * (x > 0 ? x : (T)NN_SELU_ALPHA * expm1##F(x));           \
      case DNN_ACT_GELU: return (T)0.5 * x * ((T)1 + erf##F(x * (T)NN_INV_SQRT2));        \
      case DNN_ACT_GELU_TANH:                                                             \
        return (T)0.5 * x *                                                               \
               ((T)1 + tanh##F((T)NN_SQRT_2_OVER_PI * (x + (T)NN_GELU_C * x * x * x)));    \
      case DNN_ACT_SOFTPLUS: return (x > 0 ? x : (T)0) + log1p##F(exp##F(-fabs##F(x)));   \
      case DNN_ACT_SWISH: return x * nn_sigmoid_##S(x);                                   \
      case DNN_ACT_TANH: return tanh##F(x);                                               \
      case DNN_ACT_SIGMOID: return nn_sigmoid_##S(x);                                     \
      case DNN_ACT_HARD_SIGMOID: {                                                        \
        T v = (T)0.2 * x + (T)0.5;                                                        \
        return v < 0 ? (T)0 : (v > 1 ? (T)1 : v);                                         \
      }                                                                                   \
      case DNN_ACT_SOFTSIGN: return x / ((T)1 + fabs##F(x));                              \
      case DNN_ACT_EXPONENTIAL: return exp##F(x);                                         \
      default: return x;                                                                  \
    }                                                                                     \
  }                                                                                       \
  /* d act / dx at x */                                                                   \
  static inline T nn_dact_x_##S(int act, T x, T alpha) {                                  \
    switch (act) {                                                                        \
      case DNN_ACT_RELU: return x > 0 ? (T)1 : (T)0;                                      \
      case DNN_ACT_LEAKY_RELU: return x > 0 ? (T)1 : alpha;                               \
      case DNN_ACT_ELU: return x > 0 ? (T)1 : alpha * exp##F(x);                          \
      case DNN_ACT_SELU:                                                                  \
        return x > 0 ? (T)NN_SELU_SCALE : (T)(NN_SELU_SCALE * NN_SELU_ALPHA) * exp##F(x); \
      case DNN_ACT_GELU:                                                                  \
        return (T)0.5 * ((T)1 + erf##F(x * (T)NN_INV_SQRT2)) +                            \
               x * (T)NN_INV_SQRT_2PI * exp##F((T)-0.5 * x * x);                          \
      case DNN_ACT_GELU_TANH: {                                                           \
        T t = tanh##F((T)NN_SQRT_2_OVER_PI * (x + (T)NN_GELU_C * x * x * x));             \
        return (T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * (T)NN_SQRT_2_OVER_PI *  \
                                         ((T)1 + (T)(3 * NN_GELU_C) * x * x);             \
      }                                                                                   \
      case DNN_ACT_SOFTPLUS: return nn_sigmoid_##S(x);                                    \
      case DNN_ACT_SWISH: {                                                               \
        T s = nn_sigmoid_##S(x);                                                          \
        return s * ((T)1 + x * ((T)1 - s));                                               \
      }                                                                                   \
      case DNN_ACT_TANH: {                                                                \
        T t = tanh##F(x);                                                                 \
        return (T)1 - t * t;                                                              \
      }                                                                                   \
      case DNN_ACT_SIGMOID: {                                                             \
        T s = nn_sigmoid_##S(x);                                                          \
        return s * ((T)1 - s);                                                            \
      }                                                                                   \
      case DNN_ACT_HARD_SIGMOID: return (x > (T)-2.5 && x < (T)2.5) ? (T)0.2 : (T)0;      \
      case DNN_ACT_SOFTSIGN: {                                                            \
        T d = (T)1 + fabs##F(x);                                                          \
        return (T)1 / (d * d);                                                            \
      }                                                                                   \
      case DNN_ACT_EXPONENTIAL: return exp##F(x);                                         \
      default: return (T)1;                                                               \
    }                                                                                     \
  }                                                                                       \
  /* d act / dx from y = act(x) (dnn_activation_grad_from_output cases) */               \
  static inline T nn_dact_y_##S(int act, T y, T alpha) {                                  \
    switch (act) {                                                                        \
      case DNN_ACT_RELU: return y > 0 ? (T)1 : (T)0;                                      \
      case DNN_ACT_LEAKY_RELU: return y > 0 ? (T)1 : alpha;                               \
      case DNN_ACT_ELU: return y > 0 ? (T)1 : y + alpha;                                  \
      case DNN_ACT_SELU:                                                                  \
        return y > 0 ? (T)NN_SELU_SCALE : y + (T)(NN_SELU_SCALE * NN_SELU_ALPHA);         \
      case DNN_ACT_SOFTPLUS: return -expm1##F(-y);                                        \
      case DNN_ACT_TANH: return (T)1 - y * y;                                             \
      case DNN_ACT_SIGMOID: return y * ((T)1 - y);                                        \
      case DNN_ACT_HARD_SIGMOID: return (y > 0 && y < 1) ? (T)0.2 : (T)0;                 \
      case DNN_ACT_EXPONENTIAL: return y;                                                 \
      default: return (T)1;                                                               \
    }                                                                                     \
  }

NN_ACT_FUNCS(float, f32, f)
NN_ACT_FUNCS(double, f64, )

/* Runs BODY with the constant A equal to act (one copy of BODY per activation). */
#define NN_ACT_DISPATCH(act, BODY)                                  \
  switch (act) {                                                    \
    case DNN_ACT_RELU: { enum { A = DNN_ACT_RELU }; BODY; } break;  \
    case DNN_ACT_LEAKY_RELU: { enum { A = DNN_ACT_LEAKY_RELU }; BODY; } break; \
    case DNN_ACT_ELU: { enum { A = DNN_ACT_ELU }; BODY; } break;    \
    case DNN_ACT_SELU: { enum { A = DNN_ACT_SELU }; BODY; } break;  \
    case DNN_ACT_GELU: { enum { A = DNN_ACT_GELU }; BODY; } break;  \
    case DNN_ACT_GELU_TANH: { enum { A = DNN_ACT_GELU_TANH }; BODY; } break; \
    case DNN_ACT_SOFTPLUS: { enum { A = DNN_ACT_SOFTPLUS }; BODY; } break; \
    case DNN_ACT_SWISH: { enum { A = DNN_ACT_SWISH }; BODY; } break; \
    case DNN_ACT_TANH: { enum { A = DNN_ACT_TANH }; BODY; } break;  \
    case DNN_ACT_SIGMOID: { enum { A = DNN_ACT_SIGMOID }; BODY; } break; \
    case DNN_ACT_HARD_SIGMOID: { enum { A = DNN_ACT_HARD_SIGMOID }; BODY; } break; \
    case DNN_ACT_SOFTSIGN: { enum { A = DNN_ACT_SOFTSIGN }; BODY; } break; \
    case DNN_ACT_EXPONENTIAL: { enum { A = DNN_ACT_EXPONENTIAL }; BODY; } break; \
    default: { enum { A = DNN_ACT_LINEAR }; BODY; } break;          \
  }

/* Philox word -> uniform in [0, 1) with 24 bits (as cpu/random.c draws). */
static inline float nn_u01_from32(uint32_t r) { return (float)(r >> 8) * (1.0f / 16777216.0f); }

#endif
