/* softmax / log_softmax along one dim and their fused backward, as
 * cpu/nn_softmax.c: the tensor is (outer, C, inner), each (outer, inner) pair
 * a line of C values; the max is subtracted first (0 when the whole line is
 * -inf, which gives NaN as torch does); sums accumulate in double.
 *
 * Blocks are (TX, TY) = 256 threads: TX neighbouring lines (coalesced when
 * inner > 1) by TY threads striding over C, combined in shared memory. */
#include <math.h>

#include "common.cuh"

namespace {

#define SM_THREADS 256

__device__ __forceinline__ double nanmax(double a, double b) { return a != a ? a : b != b ? b : b > a ? b : a; }

/* Combines v over the TY threads of column tx; every thread gets the result. */
__device__ double column_reduce(double v, bool is_max) {
  __shared__ double sh[SM_THREADS];
  int tx = threadIdx.x, ty = threadIdx.y, TX = blockDim.x;
  sh[ty * TX + tx] = v;
  __syncthreads();
  for (int s = blockDim.y / 2; s > 0; s >>= 1) {
    if (ty < s) {
      double a = sh[ty * TX + tx], b = sh[(ty + s) * TX + tx];
      sh[ty * TX + tx] = is_max ? nanmax(a, b) : a + b;
    }
    __syncthreads();
  }
  double r = sh[tx];
  __syncthreads();
  return r;
}

__device__ __forceinline__ float sm_exp(float x) { return expf(x); }
__device__ __forceinline__ double sm_exp(double x) { return exp(x); }

template <typename T>
__global__ void softmax_fwd(const T *X, T *Y, int64_t outer, int64_t C, int64_t inner, bool lg) {
  int64_t tiles_per_o = (inner + blockDim.x - 1) / blockDim.x, ntiles = outer * tiles_per_o;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    int64_t o = t / tiles_per_o, i = (t % tiles_per_o) * blockDim.x + threadIdx.x;
    bool live = i < inner;
    const T *x = X + o * C * inner + i;
    T *y = Y + o * C * inner + i;
    double m = -(double)INFINITY;
    if (live)
      for (int64_t j = threadIdx.y; j < C; j += blockDim.y) m = nanmax(m, (double)x[j * inner]);
    m = column_reduce(m, true);
    T mt = m == -(double)INFINITY ? (T)0 : (T)m;
    double s = 0;
    if (live)
      for (int64_t j = threadIdx.y; j < C; j += blockDim.y) s += (double)sm_exp(x[j * inner] - mt);
    s = column_reduce(s, false);
    if (live) {
      if (lg) {
        T lse = mt + (T)log(s);
        for (int64_t j = threadIdx.y; j < C; j += blockDim.y) y[j * inner] = x[j * inner] - lse;
      } else {
        T inv = (T)(1.0 / s);
        for (int64_t j = threadIdx.y; j < C; j += blockDim.y) y[j * inner] = sm_exp(x[j * inner] - mt) * inv;
      }
    }
  }
}

template <typename T>
__global__ void softmax_bwd(const T *G, const T *Yv, T *DX, int64_t outer, int64_t C, int64_t inner, bool lg) {
  int64_t tiles_per_o = (inner + blockDim.x - 1) / blockDim.x, ntiles = outer * tiles_per_o;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    int64_t o = t / tiles_per_o, i = (t % tiles_per_o) * blockDim.x + threadIdx.x;
    bool live = i < inner;
    int64_t off = o * C * inner + i;
    const T *g = G + off, *y = Yv + off;
    T *dx = DX + off;
    double s = 0;
    if (live) {
      if (lg)
        for (int64_t j = threadIdx.y; j < C; j += blockDim.y) s += (double)g[j * inner];
      else
        for (int64_t j = threadIdx.y; j < C; j += blockDim.y) s += (double)g[j * inner] * (double)y[j * inner];
    }
    s = column_reduce(s, false);
    if (live) {
      T st = (T)s;
      if (lg)
        for (int64_t j = threadIdx.y; j < C; j += blockDim.y) dx[j * inner] = g[j * inner] - sm_exp(y[j * inner]) * st;
      else
        for (int64_t j = threadIdx.y; j < C; j += blockDim.y) dx[j * inner] = y[j * inner] * (g[j * inner] - st);
    }
  }
}

void geometry(const dnn_tensor *t, int dim, int64_t *outer, int64_t *C, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int d = 0; d < dim; d++) *outer *= t->shape[d];
  for (int d = dim + 1; d < t->ndim; d++) *inner *= t->shape[d];
  *C = t->ndim ? t->shape[dim] : 1;
}

dim3 block_for(int64_t inner, int64_t C) {
  int tx = 1;
  while (tx < 32 && tx < inner) tx *= 2;
  int ty = SM_THREADS / tx;
  /* short lines: fewer threads per line, more lines per block would be
   * better; a block of 32 threads per line keeps the code simple */
  while (ty > 32 && ty / 2 >= C) ty /= 2;
  return dim3(tx, ty);
}

dnn_status run(const char *name, const dnn_op_args *a, bool backward) {
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], backward ? a->in[1] : NULL};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t outer, C, inner;
  geometry(a->out, a->dim, &outer, &C, &inner);
  if (outer * inner == 0 || C == 0) return DNN_OK;
  dim3 blk = block_for(inner, C);
  int64_t tiles = outer * ((inner + blk.x - 1) / blk.x), cap = (int64_t)c->sm_count * 16;
  unsigned grid = (unsigned)(tiles < cap ? tiles : cap);
  bool f32 = a->out->dtype == DNN_FLOAT32;
  if (!backward) {
    if (f32)
      softmax_fwd<float><<<grid, blk, 0, c->stream>>>((const float *)dnn_data_ptr(a->in[0]),
                                                      (float *)dnn_data_ptr(a->out), outer, C, inner, a->flag);
    else
      softmax_fwd<double><<<grid, blk, 0, c->stream>>>((const double *)dnn_data_ptr(a->in[0]),
                                                       (double *)dnn_data_ptr(a->out), outer, C, inner, a->flag);
  } else {
    if (f32)
      softmax_bwd<float><<<grid, blk, 0, c->stream>>>((const float *)dnn_data_ptr(a->in[0]),
                                                      (const float *)dnn_data_ptr(a->in[1]),
                                                      (float *)dnn_data_ptr(a->out), outer, C, inner, a->flag);
    else
      softmax_bwd<double><<<grid, blk, 0, c->stream>>>((const double *)dnn_data_ptr(a->in[0]),
                                                       (const double *)dnn_data_ptr(a->in[1]),
                                                       (double *)dnn_data_ptr(a->out), outer, C, inner, a->flag);
  }
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

}  // namespace

/* out = softmax(in[0]) along dim (flag: log_softmax); contiguous tensors. */
dnn_status cu_softmax(const dnn_op_args *a) { return run(a->flag ? "log_softmax" : "softmax", a, false); }

/* out = dx from in[0] = g and in[1] = y. */
dnn_status cu_softmax_backward(const dnn_op_args *a) { return run("softmax_backward", a, true); }
