/* Shared internals of the CUDA backend (C++; not for the C side).
 *
 * One stream per device carries every kernel and copy, so work is ordered
 * without events and a freed block can be handed to the next allocation at
 * once (the caching allocator relies on this, as PyTorch's does for one
 * stream).  Every CUDA and cuBLAS call is checked by one macro that records
 * the failing expression (ggml's CUDA_CHECK); errors become dnn_error
 * messages that start with the op's name. */
#ifndef DNN_CUDA_COMMON_CUH
#define DNN_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>
#ifdef DNN_HAVE_CUDNN
#include <cudnn.h>
#endif

extern "C" {
#include "dnn.h"
#include "core/internal.h"
}
#include "dnn_cuda.cuh"

#define DNN_CUDA_MAX_DEVICES 16

/* Per device: the stream everything runs on, the cuBLAS handle, and a small
 * device buffer where kernels report errors (integer division by zero ...). */
struct cuda_ctx {
  int device;
  cudaStream_t stream;
  cublasHandle_t blas;
  int *err_flag;     /* device int, 0 = fine */
  int sm_count;
  bool ready;
#ifdef DNN_HAVE_CUDNN
  /* Made at the first cuDNN call (cuda_cudnn_handle), bound to stream; never
   * destroyed (the driver frees it with the context at exit).  cudnn_state:
   * 0 not tried yet, 1 ready, -1 cudnnCreate failed (the own kernels run). */
  cudnnHandle_t cudnn;
  int cudnn_state;
#endif
};

/* The context of dev, made current (cudaSetDevice) and created at first use;
 * NULL with an error naming op when the device is missing. */
cuda_ctx *cuda_ctx_get(const char *op, dnn_device dev);
/* The context of a tensor's device. */
static inline cuda_ctx *cuda_ctx_of(const char *op, const dnn_tensor *t) {
  return cuda_ctx_get(op, dnn_tensor_device(t));
}

/* Turns a failed CUDA call into a dnn_error naming op and the expression.
 * Out-of-memory becomes DNN_ERR_MEMORY; a sticky error (the context is lost)
 * says that the process must restart. */
dnn_status cuda_fail(const char *op, const char *expr, cudaError_t e);
dnn_status cublas_fail(const char *op, const char *expr, cublasStatus_t s);

#define CU_CHECK(op, expr)                                      \
  do {                                                          \
    cudaError_t e_ = (expr);                                    \
    if (e_ != cudaSuccess) return cuda_fail((op), #expr, e_);   \
  } while (0)

/* After a launch: configuration errors show at once, faults at the next sync. */
#define CU_CHECK_LAUNCH(op) CU_CHECK(op, cudaGetLastError())

#ifdef DNN_HAVE_CUDNN
/* The context's cuDNN handle, created on first use; NULL (no error recorded)
 * when cuDNN cannot be initialised here, so callers fall back to their own
 * kernels.  A handle must not be used by two threads at once: callers hold
 * their own per-device lock around its use (cudnn_conv.cu). */
cudnnHandle_t cuda_cudnn_handle(cuda_ctx *c);
dnn_status cudnn_fail(const char *op, const char *expr, cudnnStatus_t s);

#define CUDNN_CHECK(op, expr)                                         \
  do {                                                                \
    cudnnStatus_t s_ = (expr);                                        \
    if (s_ != CUDNN_STATUS_SUCCESS) return cudnn_fail((op), #expr, s_); \
  } while (0)
#endif

#define CUBLAS_CHECK(op, expr)                                        \
  do {                                                                \
    cublasStatus_t s_ = (expr);                                       \
    if (s_ != CUBLAS_STATUS_SUCCESS) return cublas_fail((op), #expr, s_); \
  } while (0)

/* Reads and clears the context's error flag (one small synchronous copy:
 * only ops that can fail per element call it). */
dnn_status cuda_read_err_flag(const char *op, cuda_ctx *c, int *flag);

/* Device scratch memory from the caching allocator (freed with cuda_scratch_free;
 * stream order makes reuse safe). */
void *cuda_scratch_alloc(const char *op, size_t n, dnn_device dev);
void cuda_scratch_free(void *p, dnn_device dev);

/* Grid for a grid-stride loop over n items with `threads` per block. */
static inline unsigned cuda_grid(int64_t n, int threads, const cuda_ctx *c) {
  int64_t b = (n + threads - 1) / threads;
  int64_t cap = (int64_t)(c->sm_count > 0 ? c->sm_count : 132) * 32;
  if (b > cap) b = cap;
  return (unsigned)(b < 1 ? 1 : b);
}

/* ---- strided operands ----
 * An op's operands share one shape (broadcast already folded into zero
 * strides).  Dims that are contiguous across every operand are merged, so a
 * contiguous tensor becomes one flat dim and a bias broadcast over rows two. */
#define CU_MAX_OPS 4

struct cu_iter {
  int nops;
  int ndim;                          /* >= 1 */
  int64_t numel;
  int64_t shape[DNN_MAX_DIMS];       /* innermost last */
  int64_t strides[CU_MAX_OPS][DNN_MAX_DIMS]; /* in elements */
  char *base[CU_MAX_OPS];
  bool flat;       /* every operand contiguous or a broadcast scalar */
  int64_t step[CU_MAX_OPS]; /* when flat: 1 (contiguous) or 0 (scalar) */
};

/* Operands all have ts[0]'s shape.  Fails (with an error naming op) when an
 * operand is not on ts[0]'s device. */
dnn_status cu_iter_init(const char *op, cu_iter *it, int nops, const dnn_tensor *const *ts);

/* Offset (elements) of operand k at flat index i, innermost dim fastest. */
struct cu_offsets {
  int ndim;
  int64_t shape[DNN_MAX_DIMS];
  int64_t strides[CU_MAX_OPS][DNN_MAX_DIMS];
};

template <int NOPS>
__device__ __forceinline__ void cu_offsets_at(const cu_offsets &o, int64_t i, int64_t *off) {
#pragma unroll
  for (int k = 0; k < NOPS; k++) off[k] = 0;
  if (i < 0x7fffffff && o.shape[0] < 0x7fffffff) { /* 32-bit division is far cheaper */
    uint32_t r = (uint32_t)i;
    for (int d = o.ndim - 1; d >= 0; d--) {
      uint32_t sz = (uint32_t)o.shape[d], q = r / sz, idx = r - q * sz;
#pragma unroll
      for (int k = 0; k < NOPS; k++) off[k] += (int64_t)idx * o.strides[k][d];
      r = q;
    }
  } else {
    int64_t r = i;
    for (int d = o.ndim - 1; d >= 0; d--) {
      int64_t sz = o.shape[d], q = r / sz, idx = r - q * sz;
#pragma unroll
      for (int k = 0; k < NOPS; k++) off[k] += idx * o.strides[k][d];
      r = q;
    }
  }
}

static inline cu_offsets cu_offsets_of(const cu_iter &it) {
  cu_offsets o;
  o.ndim = it.ndim;
  for (int d = 0; d < DNN_MAX_DIMS; d++) {
    o.shape[d] = d < it.ndim ? it.shape[d] : 1;
    for (int k = 0; k < CU_MAX_OPS; k++) o.strides[k][d] = (k < it.nops && d < it.ndim) ? it.strides[k][d] : 0;
  }
  return o;
}

/* ---- dtype dispatch: calls F::template run<T>(args...) for the C type of dt ---- */
#define CU_DISPATCH_ALL(dt, T, ...)                          \
  switch (dt) {                                             \
    case DNN_FLOAT32: { typedef float T; __VA_ARGS__; break; }    \
    case DNN_FLOAT64: { typedef double T; __VA_ARGS__; break; }   \
    case DNN_INT32: { typedef int32_t T; __VA_ARGS__; break; }    \
    case DNN_INT64: { typedef int64_t T; __VA_ARGS__; break; }    \
    case DNN_UINT8: { typedef uint8_t T; __VA_ARGS__; break; }    \
    case DNN_BOOL: { typedef uint8_t T; __VA_ARGS__; break; }     \
    default: break;                                         \
  }

#define CU_DISPATCH_FLOAT(dt, T, ...)                        \
  switch (dt) {                                             \
    case DNN_FLOAT32: { typedef float T; __VA_ARGS__; break; }    \
    case DNN_FLOAT64: { typedef double T; __VA_ARGS__; break; }   \
    default: break;                                         \
  }

/* float -> integer conversions as the CPU does them: NaN -> 0, out of range
 * clamped (no undefined behaviour), bool is != 0. */
__device__ __forceinline__ int64_t cu_f2i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}
__device__ __forceinline__ int32_t cu_f2i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}

/* Host pointer of a CPU tensor or device pointer of a CUDA tensor. */
static inline void *cu_ptr(const dnn_tensor *t) { return dnn_data_ptr(t); }
static inline bool cu_on_cpu(const dnn_tensor *t) { return dnn_tensor_device(t).type == DNN_DEVICE_CPU; }

/* Checks that the given tensors (NULLs skipped) are on the context's device. */
dnn_status cu_check_operands(const char *op, const cuda_ctx *c, int n, const dnn_tensor *const *ts);

/* The kernels of the backend table (one family per file). */
dnn_status cu_binary(const dnn_op_args *a);     /* binary.cu */
dnn_status cu_unary(const dnn_op_args *a);      /* unary.cu */
dnn_status cu_clamp(const dnn_op_args *a);
dnn_status cu_where(const dnn_op_args *a);
dnn_status cu_copy(const dnn_op_args *a);       /* copy.cu */
dnn_status cu_fill(const dnn_op_args *a);
dnn_status cu_reduce(const dnn_op_args *a);     /* reduce.cu */
dnn_status cu_cumulative(const dnn_op_args *a);
dnn_status cu_matmul(const dnn_op_args *a);     /* matmul.cu */
dnn_status cu_random(const dnn_op_args *a);     /* random.cu */
dnn_status cu_softmax(const dnn_op_args *a);    /* softmax.cu */
dnn_status cu_softmax_backward(const dnn_op_args *a);
dnn_status cu_activation(const dnn_op_args *a); /* nn_act.cu */
dnn_status cu_activation_backward(const dnn_op_args *a);
dnn_status cu_linear(const dnn_op_args *a);     /* linear.cu */
dnn_status cu_linear_backward(const dnn_op_args *a);
dnn_status cu_linear_kernel_grad(const dnn_op_args *a);
dnn_status cu_dropout(const dnn_op_args *a);    /* random.cu */
dnn_status cu_optim_update(const dnn_op_args *a); /* optim.cu */
dnn_status cu_optim_sqnorm(const dnn_op_args *a);
dnn_status cu_xent_forward(const dnn_op_args *a);  /* loss.cu */
dnn_status cu_xent_backward(const dnn_op_args *a);
dnn_status cu_gather(const dnn_op_args *a);       /* index.cu */
dnn_status cu_scatter(const dnn_op_args *a);
dnn_status cu_index_select(const dnn_op_args *a);
dnn_status cu_index_add(const dnn_op_args *a);
dnn_status cu_masked_fill(const dnn_op_args *a);
dnn_status cu_one_hot(const dnn_op_args *a);
dnn_status cu_embedding(const dnn_op_args *a);
dnn_status cu_embedding_backward(const dnn_op_args *a);
dnn_status cu_batch_norm_stats(const dnn_op_args *a); /* norm.cu */
dnn_status cu_batch_norm(const dnn_op_args *a);
dnn_status cu_batch_norm_backward(const dnn_op_args *a);
dnn_status cu_layer_norm(const dnn_op_args *a);
dnn_status cu_layer_norm_backward(const dnn_op_args *a);
dnn_status cu_conv2d(const dnn_op_args *a);            /* conv.cu */
dnn_status cu_conv2d_input_grad(const dnn_op_args *a);
dnn_status cu_conv2d_kernel_grad(const dnn_op_args *a);
dnn_status cu_pool2d(const dnn_op_args *a);
dnn_status cu_pool2d_backward(const dnn_op_args *a);

/* Internal: cuBLAS GEMM on row-major matrices (matmul.cu), used by linear.cu.
 * C (M, N, ldc) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, where each
 * operand is given by its element strides as dnn_blas_layout reads them. */
dnn_status cu_gemm(const char *op, cuda_ctx *c, dnn_dtype dt, int64_t batch, int64_t M, int64_t N, int64_t K,
                   const void *A, int64_t sab, int64_t sam, int64_t sak, const void *B, int64_t sbb, int64_t sbk,
                   int64_t sbn, void *C, int64_t scb, int64_t ldc, double alpha, double beta);

/* The sum of v over a 1-d block of THREADS threads (a power of two), added
 * as a tree in a fixed order (deterministic); every thread gets it. */
template <int THREADS>
__device__ double cu_block_sum(double v) {
  __shared__ double sh[THREADS];
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = THREADS / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();
  return r;
}

#endif
