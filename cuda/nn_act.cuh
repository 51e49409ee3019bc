/* Activation functions and their derivatives on the device: the formulas of
 * cpu/nn_act.h, shared by the activation kernels and the dense layer's
 * epilogue.  The activation is a run-time code (the same for every thread,
 * so the switch costs no divergence). */
#ifndef DNN_CUDA_NN_ACT_CUH
#define DNN_CUDA_NN_ACT_CUH

#include "common.cuh"

#define CU_SELU_ALPHA 1.6732632423543772848170429916717
#define CU_SELU_SCALE 1.0507009873554804934193349852946
#define CU_SQRT_2_OVER_PI 0.7978845608028654
#define CU_INV_SQRT2 0.7071067811865476
#define CU_INV_SQRT_2PI 0.3989422804014327
#define CU_GELU_C 0.044715

__device__ __forceinline__ float cu_exp(float x) { return expf(x); }
__device__ __forceinline__ double cu_exp(double x) { return exp(x); }
__device__ __forceinline__ float cu_expm1(float x) { return expm1f(x); }
__device__ __forceinline__ double cu_expm1(double x) { return expm1(x); }
__device__ __forceinline__ float cu_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double cu_log1p(double x) { return log1p(x); }
__device__ __forceinline__ float cu_erf(float x) { return erff(x); }
__device__ __forceinline__ double cu_erf(double x) { return erf(x); }
__device__ __forceinline__ float cu_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double cu_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float cu_fabs(float x) { return fabsf(x); }
__device__ __forceinline__ double cu_fabs(double x) { return fabs(x); }

template <typename T> __device__ __forceinline__ T cu_sigmoid(T x) { return (T)1 / ((T)1 + cu_exp(-x)); }

template <typename T>
__device__ __forceinline__ T cu_act(int act, T x, T alpha) {
  switch (act) {
    case DNN_ACT_RELU: return x > 0 ? x : (x != x ? x : (T)0);
    case DNN_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case DNN_ACT_ELU: return x > 0 ? x : alpha * cu_expm1(x);
    case DNN_ACT_SELU: return (T)CU_SELU_SCALE * (x > 0 ? x : (T)CU_SELU_ALPHA * cu_expm1(x));
    case DNN_ACT_GELU: return (T)0.5 * x * ((T)1 + cu_erf(x * (T)CU_INV_SQRT2));
    case DNN_ACT_GELU_TANH:
      return (T)0.5 * x * ((T)1 + cu_tanh((T)CU_SQRT_2_OVER_PI * (x + (T)CU_GELU_C * x * x * x)));
    case DNN_ACT_SOFTPLUS: return (x > 0 ? x : (T)0) + cu_log1p(cu_exp(-cu_fabs(x)));
    case DNN_ACT_SWISH: return x * cu_sigmoid(x);
    case DNN_ACT_TANH: return cu_tanh(x);
    case DNN_ACT_SIGMOID: return cu_sigmoid(x);
    case DNN_ACT_HARD_SIGMOID: {
      T v = (T)0.2 * x + (T)0.5;
      return v < 0 ? (T)0 : (v > 1 ? (T)1 : v);
    }
    case DNN_ACT_SOFTSIGN: return x / ((T)1 + cu_fabs(x));
    case DNN_ACT_EXPONENTIAL: return cu_exp(x);
    default: return x;
  }
}

/* d act / dx at x */
template <typename T>
__device__ __forceinline__ T cu_dact_x(int act, T x, T alpha) {
  switch (act) {
    case DNN_ACT_RELU: return x > 0 ? (T)1 : (T)0;
    case DNN_ACT_LEAKY_RELU: return x > 0 ? (T)1 : alpha;
    case DNN_ACT_ELU: return x > 0 ? (T)1 : alpha * cu_exp(x);
    case DNN_ACT_SELU: return x > 0 ? (T)CU_SELU_SCALE : (T)(CU_SELU_SCALE * CU_SELU_ALPHA) * cu_exp(x);
    case DNN_ACT_GELU:
      return (T)0.5 * ((T)1 + cu_erf(x * (T)CU_INV_SQRT2)) + x * (T)CU_INV_SQRT_2PI * cu_exp((T)-0.5 * x * x);
    case DNN_ACT_GELU_TANH: {
      T t = cu_tanh((T)CU_SQRT_2_OVER_PI * (x + (T)CU_GELU_C * x * x * x));
      return (T)0.5 * ((T)1 + t) +
             (T)0.5 * x * ((T)1 - t * t) * (T)CU_SQRT_2_OVER_PI * ((T)1 + (T)(3 * CU_GELU_C) * x * x);
    }
    case DNN_ACT_SOFTPLUS: return cu_sigmoid(x);
    case DNN_ACT_SWISH: {
      T s = cu_sigmoid(x);
      return s * ((T)1 + x * ((T)1 - s));
    }
    case DNN_ACT_TANH: {
      T t = cu_tanh(x);
      return (T)1 - t * t;
    }
    case DNN_ACT_SIGMOID: {
      T s = cu_sigmoid(x);
      return s * ((T)1 - s);
    }
    case DNN_ACT_HARD_SIGMOID: return (x > (T)-2.5 && x < (T)2.5) ? (T)0.2 : (T)0;
    case DNN_ACT_SOFTSIGN: {
      T d = (T)1 + cu_fabs(x);
      return (T)1 / (d * d);
    }
    case DNN_ACT_EXPONENTIAL: return cu_exp(x);
    default: return (T)1;
  }
}

/* d act / dx from y = act(x) (dnn_activation_grad_from_output cases) */
template <typename T>
__device__ __forceinline__ T cu_dact_y(int act, T y, T alpha) {
  switch (act) {
    case DNN_ACT_RELU: return y > 0 ? (T)1 : (T)0;
    case DNN_ACT_LEAKY_RELU: return y > 0 ? (T)1 : alpha;
    case DNN_ACT_ELU: return y > 0 ? (T)1 : y + alpha;
    case DNN_ACT_SELU: return y > 0 ? (T)CU_SELU_SCALE : y + (T)(CU_SELU_SCALE * CU_SELU_ALPHA);
    case DNN_ACT_SOFTPLUS: return -cu_expm1(-y);
    case DNN_ACT_TANH: return (T)1 - y * y;
    case DNN_ACT_SIGMOID: return y * ((T)1 - y);
    case DNN_ACT_HARD_SIGMOID: return (y > 0 && y < 1) ? (T)0.2 : (T)0;
    case DNN_ACT_EXPONENTIAL: return y;
    default: return (T)1;
  }
}

#endif
