/* The nn area's elementwise and dense-layer kernels (src/dnn/nn.h has the
 * argument blocks): ACTIVATION and its backward, and the dense layer as one
 * cuBLAS GEMM plus one epilogue pass (bias and activation), its backward
 * epilogue (g * act'(y) and the bias gradient as column sums in one pass) and
 * the kernel gradient x^T @ gz as one GEMM with x read transposed in place. */
#include "elementwise.cuh"
#include "nn_act.cuh"

namespace {

template <typename T>
__global__ void act_fwd(int64_t n, T *o, const T *x, int act, T alpha) {
  CU_GRID_STRIDE(i, n) o[i] = cu_act<T>(act, x[i], alpha);
}

template <typename T>
__global__ void act_bwd(int64_t n, T *o, const T *g, const T *x, const T *y, int act, T alpha) {
  if (x) {
    CU_GRID_STRIDE(i, n) o[i] = g[i] * cu_dact_x<T>(act, x[i], alpha);
  } else {
    CU_GRID_STRIDE(i, n) o[i] = g[i] * cu_dact_y<T>(act, y[i], alpha);
  }
}

/* o (M, N) = act(o + bias) */
template <typename T>
__global__ void linear_epilogue(int64_t M, int64_t N, T *o, const T *bias, int act, T alpha) {
  CU_GRID_STRIDE(i, M * N) {
    T v = o[i];
    if (bias) v += bias[i % N];
    o[i] = cu_act<T>(act, v, alpha);
  }
}

/* Column tiles of 32 by 8 row-threads: gz = g * act'(y) (written when gz is
 * given) and the column sums of gz (into gb when given), summed in double in
 * a fixed order. */
template <typename T>
__global__ void linear_grad_epilogue(int64_t M, int64_t N, const T *g, const T *y, T *gz, T *gb, int act, T alpha) {
  __shared__ double sh[8][32];
  int tx = threadIdx.x, ty = threadIdx.y;
  int64_t tiles = (N + 31) / 32;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    int64_t j = t * 32 + tx;
    double acc = 0;
    if (j < N) {
      for (int64_t i = ty; i < M; i += 8) {
        T v = g[i * N + j];
        if (y) v = v * cu_dact_y<T>(act, y[i * N + j], alpha);
        if (gz) gz[i * N + j] = v;
        acc += (double)v;
      }
    }
    sh[ty][tx] = acc;
    __syncthreads();
    for (int s = 4; s > 0; s >>= 1) {
      if (ty < s) sh[ty][tx] += sh[ty + s][tx];
      __syncthreads();
    }
    if (ty == 0 && j < N && gb) gb[j] = (T)sh[0][tx];
    __syncthreads();
  }
}

const void *ptr_or_null(const dnn_tensor *t) { return t ? dnn_data_ptr(t) : NULL; }

}  // namespace

dnn_status cu_activation(const dnn_op_args *a) {
  const char *name = "activation";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  int64_t n = dnn_numel(a->out);
  if (n == 0) return DNN_OK;
  unsigned grid = cuda_grid(n, CU_THREADS, c);
  if (a->out->dtype == DNN_FLOAT32)
    act_fwd<float><<<grid, CU_THREADS, 0, c->stream>>>(n, (float *)dnn_data_ptr(a->out),
                                                       (const float *)dnn_data_ptr(a->in[0]), (int)a->k, (float)a->s0);
  else
    act_fwd<double><<<grid, CU_THREADS, 0, c->stream>>>(n, (double *)dnn_data_ptr(a->out),
                                                        (const double *)dnn_data_ptr(a->in[0]), (int)a->k, a->s0);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

dnn_status cu_activation_backward(const dnn_op_args *a) {
  const char *name = "activation_backward";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[4] = {a->out, a->in[0], a->in[1], a->in[2]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 4, ts));
  int64_t n = dnn_numel(a->out);
  if (n == 0) return DNN_OK;
  unsigned grid = cuda_grid(n, CU_THREADS, c);
  if (a->out->dtype == DNN_FLOAT32)
    act_bwd<float><<<grid, CU_THREADS, 0, c->stream>>>(
        n, (float *)dnn_data_ptr(a->out), (const float *)dnn_data_ptr(a->in[0]), (const float *)ptr_or_null(a->in[1]),
        (const float *)ptr_or_null(a->in[2]), (int)a->k, (float)a->s0);
  else
    act_bwd<double><<<grid, CU_THREADS, 0, c->stream>>>(
        n, (double *)dnn_data_ptr(a->out), (const double *)dnn_data_ptr(a->in[0]),
        (const double *)ptr_or_null(a->in[1]), (const double *)ptr_or_null(a->in[2]), (int)a->k, a->s0);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] x (M, K), in[1] kernel (K, N) (any BLAS layout), in[2] bias (N) or
 * NULL; out (M, N) contiguous rows; k = act, s0 = alpha. */
dnn_status cu_linear(const dnn_op_args *a) {
  const char *name = "linear";
  const dnn_tensor *x = a->in[0], *w = a->in[1], *bias = a->in[2];
  dnn_tensor *out = a->out;
  cuda_ctx *c = cuda_ctx_of(name, out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[4] = {out, x, w, bias};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 4, ts));
  dnn_dtype dt = (dnn_dtype)out->dtype;
  int64_t M = x->shape[0], K = x->shape[1], N = w->shape[1];
  if (M == 0 || N == 0) return DNN_OK;
  if (out->strides[0] != N || out->strides[1] != 1)
    return dnn_error(DNN_ERR_INTERNAL, "linear: the result must be contiguous rows");
  DNN_RETURN_IF_ERR(cu_gemm(name, c, dt, 1, M, N, K, dnn_data_ptr(x), 0, x->strides[0], x->strides[1],
                            dnn_data_ptr(w), 0, w->strides[0], w->strides[1], dnn_data_ptr(out), 0, N, 1.0, 0.0));
  int act = (int)a->k;
  if (!bias && act == DNN_ACT_LINEAR) return DNN_OK;
  unsigned grid = cuda_grid(M * N, CU_THREADS, c);
  if (dt == DNN_FLOAT32)
    linear_epilogue<float><<<grid, CU_THREADS, 0, c->stream>>>(M, N, (float *)dnn_data_ptr(out),
                                                               (const float *)ptr_or_null(bias), act, (float)a->s0);
  else
    linear_epilogue<double><<<grid, CU_THREADS, 0, c->stream>>>(M, N, (double *)dnn_data_ptr(out),
                                                                (const double *)ptr_or_null(bias), act, a->s0);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] g (M, N), in[1] y (M, N) or NULL (linear); out = g * act'(y) or
 * NULL; out2 = its column sums (N) or NULL. */
dnn_status cu_linear_backward(const dnn_op_args *a) {
  const char *name = "linear_backward";
  const dnn_tensor *g = a->in[0], *y = a->in[1];
  const dnn_tensor *any = a->out ? a->out : a->out2 ? a->out2 : g;
  cuda_ctx *c = cuda_ctx_of(name, any);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[4] = {g, y, a->out, a->out2};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 4, ts));
  int64_t N = g->ndim ? g->shape[g->ndim - 1] : 1, M = N ? dnn_numel(g) / N : 0;
  if (N == 0 || (!a->out && !a->out2)) return DNN_OK;
  int64_t tiles = (N + 31) / 32;
  unsigned grid = (unsigned)(tiles < (int64_t)c->sm_count * 8 ? tiles : (int64_t)c->sm_count * 8);
  dim3 blk(32, 8);
  if (g->dtype == DNN_FLOAT32)
    linear_grad_epilogue<float><<<grid, blk, 0, c->stream>>>(
        M, N, (const float *)dnn_data_ptr(g), (const float *)ptr_or_null(y), (float *)ptr_or_null(a->out),
        (float *)ptr_or_null(a->out2), (int)a->k, (float)a->s0);
  else
    linear_grad_epilogue<double><<<grid, blk, 0, c->stream>>>(
        M, N, (const double *)dnn_data_ptr(g), (const double *)ptr_or_null(y), (double *)ptr_or_null(a->out),
        (double *)ptr_or_null(a->out2), (int)a->k, a->s0);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] x (M, K) (any BLAS layout), in[1] gz (M, N); out (K, N) = x^T @ gz. */
dnn_status cu_linear_kernel_grad(const dnn_op_args *a) {
  const char *name = "linear_kernel_grad";
  const dnn_tensor *x = a->in[0], *gz = a->in[1];
  dnn_tensor *out = a->out;
  cuda_ctx *c = cuda_ctx_of(name, out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {out, x, gz};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t M = x->shape[0], K = x->shape[1], N = gz->shape[1];
  if (K == 0 || N == 0) return DNN_OK;
  /* x^T is the (K, M) matrix with x's strides swapped */
  return cu_gemm(name, c, (dnn_dtype)out->dtype, 1, K, N, M, dnn_data_ptr(x), 0, x->strides[1], x->strides[0],
                 dnn_data_ptr(gz), 0, N, 1, dnn_data_ptr(out), 0, N, 1.0, 0.0);
}
