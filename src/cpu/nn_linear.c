/* The dense layer: out = act(x @ W + b) as one GEMM plus one epilogue pass
 * (bias and activation together), and its backward epilogue: g * act'(y) and
 * the bias gradient (column sums) in the same pass.  The two backward GEMMs
 * go through the ordinary matmul. */
#include <string.h>

#include "blas.h"
#include "iter.h"
#include "kernels_nn.h"
#include "nn_act.h"
#include "nn_gemm.h"

#define SMALL_GEMM_FLOPS 4096 /* M*N*K below which plain loops beat the BLAS call */

typedef struct {
  const dnn_op_args *a;
  int64_t M, N;
  const void *bias; /* epilogue: the bias still to add (NULL once the GEMM added it) */
  int act;          /* epilogue: the activation still to apply */
} lin_ctx;

#define LIN_KERNELS(T, S)                                                                 \
  /* out (M, N) = x (M, K) @ w (K, N), any element strides */                             \
  static void small_gemm_##S(int64_t M, int64_t N, int64_t K, const T *x, int64_t sxm,     \
                             int64_t sxk, const T *w, int64_t swk, int64_t swn, T *out) {  \
    for (int64_t i = 0; i < M; i++) {                                                     \
      T *o = out + i * N;                                                                 \
      for (int64_t j = 0; j < N; j++) o[j] = 0;                                           \
      for (int64_t k = 0; k < K; k++) {                                                   \
        T xv = x[i * sxm + k * sxk];                                                      \
        const T *wr = w + k * swk;                                                        \
        for (int64_t j = 0; j < N; j++) o[j] += xv * wr[j * swn];                         \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  static void epilogue_##S(void *vc, int64_t b, int64_t e) {                              \
    lin_ctx *c = vc;                                                                      \
    int act = c->act;                                                                     \
    T alpha = (T)c->a->s0;                                                                \
    int64_t N = c->N;                                                                     \
    const T *bias = c->bias;                                                              \
    T *O = dnn_data_ptr(c->a->out);                                                       \
    for (int64_t i = b; i < e; i++) {                                                     \
      T *o = O + i * N;                                                                   \
      if (bias) {                                                                         \
        NN_ACT_DISPATCH(act, for (int64_t j = 0; j < N; j++) o[j] = nn_act_##S(A, o[j] + bias[j], alpha)) \
      } else {                                                                            \
        NN_ACT_DISPATCH(act, for (int64_t j = 0; j < N; j++) o[j] = nn_act_##S(A, o[j], alpha)) \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  /* columns [b, e): gz = g * act'(y) and the column sums, rows in order */               \
  static void grad_epilogue_##S(void *vc, int64_t b, int64_t e) {                         \
    lin_ctx *c = vc;                                                                      \
    const dnn_op_args *a = c->a;                                                          \
    int act = (int)a->k;                                                                  \
    T alpha = (T)a->s0;                                                                   \
    int64_t M = c->M, N = c->N, w = e - b;                                                \
    const T *G = dnn_data_ptr(a->in[0]);                                                  \
    const T *Y = a->in[1] ? (const T *)dnn_data_ptr(a->in[1]) : NULL;                     \
    T *GZ = a->out ? (T *)dnn_data_ptr(a->out) : NULL;                                    \
    T *GB = a->out2 ? (T *)dnn_data_ptr(a->out2) + b : NULL;                              \
    T acc[256];                                                                           \
    for (int64_t j = 0; j < w; j++) acc[j] = 0;                                           \
    for (int64_t i = 0; i < M; i++) {                                                     \
      const T *g = G + i * N + b;                                                         \
      if (GZ) {                                                                           \
        const T *y = Y + i * N + b;                                                       \
        T *gz = GZ + i * N + b;                                                           \
        NN_ACT_DISPATCH(act, for (int64_t j = 0; j < w; j++) {                            \
          T v = g[j] * nn_dact_y_##S(A, y[j], alpha);                                     \
          gz[j] = v;                                                                      \
          acc[j] += v;                                                                    \
        })                                                                                \
      } else {                                                                            \
        for (int64_t j = 0; j < w; j++) acc[j] += g[j];                                   \
      }                                                                                   \
    }                                                                                     \
    if (GB)                                                                               \
      for (int64_t j = 0; j < w; j++) GB[j] = acc[j];                                     \
  }
LIN_KERNELS(float, f32)
LIN_KERNELS(double, f64)

dnn_status cpu_nn_linear(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0], *w = a->in[1];
  dnn_tensor *out = a->out;
  bool f32 = out->dtype == DNN_FLOAT32;
  int64_t M = x->shape[0], K = x->shape[1], N = w->shape[1];
  lin_ctx c = {a, M, N, a->in[2] ? dnn_data_ptr(a->in[2]) : NULL, (int)a->k};
  if (M == 0 || N == 0) return DNN_OK;
  if (K == 0) {
    memset(dnn_data_ptr(out), 0, (size_t)(M * N) * dnn_dtype_size((dnn_dtype)out->dtype));
  } else if (f32 && x->strides[1] == 1 && w->strides[1] == 1 &&
             nn_gemm_nn_f32(M, N, K, dnn_data_ptr(x), x->strides[0], dnn_data_ptr(w), w->strides[0],
                            dnn_data_ptr(out), N, c.bias, a->k == DNN_ACT_RELU)) {
    c.bias = NULL; /* bias (and relu) applied as the tiles were stored */
    if (a->k == DNN_ACT_RELU) c.act = DNN_ACT_LINEAR;
  } else if (M * N * K <= SMALL_GEMM_FLOPS) {
    if (f32)
      small_gemm_f32(M, N, K, dnn_data_ptr(x), x->strides[0], x->strides[1], dnn_data_ptr(w), w->strides[0],
                     w->strides[1], dnn_data_ptr(out));
    else
      small_gemm_f64(M, N, K, dnn_data_ptr(x), x->strides[0], x->strides[1], dnn_data_ptr(w), w->strides[0],
                     w->strides[1], dnn_data_ptr(out));
  } else {
    bool tx, tw;
    int64_t ldx, ldw;
    if (!dnn_blas_layout(M, K, x->strides[0], x->strides[1], &tx, &ldx) ||
        !dnn_blas_layout(K, N, w->strides[0], w->strides[1], &tw, &ldw))
      return dnn_error(DNN_ERR_INTERNAL, "linear: operand strides not usable by BLAS");
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || ldx > INT32_MAX || ldw > INT32_MAX)
      return dnn_error(DNN_ERR_SHAPE, "linear: dimensions beyond 2^31 are not supported by BLAS");
    DNN_RETURN_IF_ERR(dnn_blas_load());
    if (f32)
      dnn_blas_sgemm(tx, tw, (int)M, (int)N, (int)K, 1.0f, dnn_data_ptr(x), (int)ldx, dnn_data_ptr(w), (int)ldw,
                     0.0f, dnn_data_ptr(out), (int)N);
    else
      dnn_blas_dgemm(tx, tw, (int)M, (int)N, (int)K, 1.0, dnn_data_ptr(x), (int)ldx, dnn_data_ptr(w), (int)ldw,
                     0.0, dnn_data_ptr(out), (int)N);
  }
  if (c.bias || c.act != DNN_ACT_LINEAR)
    cpu_parallel_for(M, N * (c.act == DNN_ACT_LINEAR || c.act == DNN_ACT_RELU ? 1 : 8),
                     f32 ? epilogue_f32 : epilogue_f64, &c);
  return DNN_OK;
}

/* out (K, N) = x (M, K)^T @ gz (M, N): the kernel's gradient. */
dnn_status cpu_nn_linear_kernel_grad(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0], *gz = a->in[1];
  dnn_tensor *out = a->out;
  bool f32 = out->dtype == DNN_FLOAT32;
  int64_t M = x->shape[0], K = x->shape[1], N = gz->shape[1];
  if (K == 0 || N == 0) return DNN_OK;
  if (M == 0) {
    memset(dnn_data_ptr(out), 0, (size_t)(K * N) * dnn_dtype_size((dnn_dtype)out->dtype));
    return DNN_OK;
  }
  if (f32 && x->strides[1] == 1 &&
      nn_gemm_tn_f32(M, N, K, dnn_data_ptr(x), x->strides[0], dnn_data_ptr(gz), N, dnn_data_ptr(out), N))
    return DNN_OK;
  bool tx;
  int64_t ldx;
  if (!dnn_blas_layout(M, K, x->strides[0], x->strides[1], &tx, &ldx))
    return dnn_error(DNN_ERR_INTERNAL, "linear: operand strides not usable by BLAS");
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || ldx > INT32_MAX)
    return dnn_error(DNN_ERR_SHAPE, "linear: dimensions beyond 2^31 are not supported by BLAS");
  DNN_RETURN_IF_ERR(dnn_blas_load());
  if (f32)
    dnn_blas_sgemm(!tx, false, (int)K, (int)N, (int)M, 1.0f, dnn_data_ptr(x), (int)ldx, dnn_data_ptr(gz), (int)N,
                   0.0f, dnn_data_ptr(out), (int)N);
  else
    dnn_blas_dgemm(!tx, false, (int)K, (int)N, (int)M, 1.0, dnn_data_ptr(x), (int)ldx, dnn_data_ptr(gz), (int)N,
                   0.0, dnn_data_ptr(out), (int)N);
  return DNN_OK;
}

/* Columns go to threads in blocks of 256 (each block sums its rows in order,
 * so the sums do not depend on the thread count). */
static void grad_blocks_f32(void *vc, int64_t b, int64_t e) {
  lin_ctx *c = vc;
  for (int64_t blk = b; blk < e; blk++) {
    int64_t lo = blk * 256, hi = lo + 256 < c->N ? lo + 256 : c->N;
    grad_epilogue_f32(vc, lo, hi);
  }
}
static void grad_blocks_f64(void *vc, int64_t b, int64_t e) {
  lin_ctx *c = vc;
  for (int64_t blk = b; blk < e; blk++) {
    int64_t lo = blk * 256, hi = lo + 256 < c->N ? lo + 256 : c->N;
    grad_epilogue_f64(vc, lo, hi);
  }
}

dnn_status cpu_nn_linear_backward(const dnn_op_args *a) {
  const dnn_tensor *g = a->in[0];
  int64_t N = g->ndim ? g->shape[g->ndim - 1] : 1, M = N ? dnn_numel(g) / N : 0;
  lin_ctx c = {a, M, N, NULL, (int)a->k};
  int64_t nblk = (N + 255) / 256;
  cpu_parallel_for(nblk, M * 256 * 2, g->dtype == DNN_FLOAT32 ? grad_blocks_f32 : grad_blocks_f64, &c);
  return DNN_OK;
}
