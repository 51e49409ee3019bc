/* Batched matrix multiply: out[b] = alpha * A[b] @ B[b] (+ beta * out[b]).
 * float32/float64 through OpenBLAS, transposed operands passed as flags (no
 * copy); tiny products and integer dtypes use plain loops, which beat the
 * BLAS call overhead there. */
#include <stdlib.h>
#include <string.h>

#include "backend_cpu.h"
#include "blas.h"

#define SMALL_MATMUL_FLOPS 4096 /* M*N*K below which loops win */

#define NAIVE(T, ACC)                                                                      \
  static void naive_##T(int64_t M, int64_t N, int64_t K, const T *A, int64_t sam,          \
                        int64_t sak, const T *B, int64_t sbk, int64_t sbn, T *C, double alpha, \
                        double beta, bool accumulate) {                                    \
    for (int64_t i = 0; i < M; i++) {                                                      \
      ACC row[N > 0 ? N : 1];                                                              \
      for (int64_t j = 0; j < N; j++) row[j] = 0;                                          \
      for (int64_t k = 0; k < K; k++) {                                                    \
        ACC av = (ACC)A[i * sam + k * sak];                                                \
        const T *b = B + k * sbk;                                                          \
        for (int64_t j = 0; j < N; j++) row[j] += av * (ACC)b[j * sbn];                    \
      }                                                                                    \
      for (int64_t j = 0; j < N; j++) {                                                    \
        ACC v = row[j];                                                                    \
        if (alpha != 1) v = (ACC)(v * alpha);                                              \
        if (accumulate) v += (ACC)(beta * (double)C[i * N + j]);                           \
        C[i * N + j] = (T)v;                                                               \
      }                                                                                    \
    }                                                                                      \
  }
NAIVE(float, float)
NAIVE(double, double)

/* Integer products accumulate in wrapping uint64 (no overflow UB). */
static void naive_int(dnn_dtype dt, int64_t M, int64_t N, int64_t K, const char *A, int64_t sam,
                      int64_t sak, const char *B, int64_t sbk, int64_t sbn, char *C) {
#define IL(T, p, i) ((uint64_t)(int64_t)((const T *)(p))[i])
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      uint64_t acc = 0;
      for (int64_t k = 0; k < K; k++) {
        int64_t ia = i * sam + k * sak, ib = k * sbk + j * sbn;
        switch (dt) {
          case DNN_INT32: acc += IL(int32_t, A, ia) * IL(int32_t, B, ib); break;
          case DNN_INT64: acc += IL(int64_t, A, ia) * IL(int64_t, B, ib); break;
          default: acc += IL(uint8_t, A, ia) * IL(uint8_t, B, ib); break;
        }
      }
      switch (dt) {
        case DNN_INT32: ((int32_t *)C)[i * N + j] = (int32_t)acc; break;
        case DNN_INT64: ((int64_t *)C)[i * N + j] = (int64_t)acc; break;
        default: ((uint8_t *)C)[i * N + j] = (uint8_t)acc; break;
      }
    }
#undef IL
}

/* in[0]: (batch, M, K), in[1]: (batch, K, N), any strides (batch stride may be 0);
 * out: contiguous (batch, M, N).  s0 = alpha; has_s1: out holds C, s1 = beta. */
dnn_status cpu_matmul(const dnn_op_args *a) {
  const dnn_tensor *A = a->in[0], *B = a->in[1];
  dnn_tensor *C = a->out;
  dnn_dtype dt = (dnn_dtype)C->dtype;
  int64_t batch = C->shape[0], M = C->shape[1], N = C->shape[2], K = A->shape[2];
  double alpha = a->has_s0 ? a->s0 : 1.0, beta = a->has_s1 ? a->s1 : 0.0;
  bool accumulate = a->has_s1;
  size_t es = dnn_dtype_size(dt);
  const char *pa = dnn_data_ptr(A), *pb = dnn_data_ptr(B);
  char *pc = dnn_data_ptr(C);
  for (int64_t b = 0; b < batch; b++) {
    const char *ab = pa + b * A->strides[0] * (int64_t)es, *bb = pb + b * B->strides[0] * (int64_t)es;
    char *cb = pc + b * M * N * (int64_t)es;
    if (M == 0 || N == 0) continue;
    if (K == 0) {
      for (int64_t i = 0; i < M * N; i++) {
        double prev = accumulate ? beta * (dt == DNN_FLOAT32 ? ((float *)cb)[i] : ((double *)cb)[i]) : 0;
        if (dt == DNN_FLOAT32) ((float *)cb)[i] = (float)prev;
        else if (dt == DNN_FLOAT64) ((double *)cb)[i] = prev;
        else memset(cb + i * (int64_t)es, 0, es);
      }
      continue;
    }
    if (!dnn_dtype_is_float(dt)) {
      naive_int(dt, M, N, K, ab, A->strides[1], A->strides[2], bb, B->strides[1], B->strides[2], cb);
      continue;
    }
    bool ta, tb;
    int64_t lda, ldb;
    bool blas_ok = dnn_blas_layout(M, K, A->strides[1], A->strides[2], &ta, &lda) &&
                   dnn_blas_layout(K, N, B->strides[1], B->strides[2], &tb, &ldb);
    if (!blas_ok) /* the front end copies such operands first */
      return dnn_error(DNN_ERR_INTERNAL, "matmul: operand strides not usable by BLAS");
    if (M * N * K <= SMALL_MATMUL_FLOPS) {
      if (dt == DNN_FLOAT32)
        naive_float(M, N, K, (const float *)ab, A->strides[1], A->strides[2], (const float *)bb,
                    B->strides[1], B->strides[2], (float *)cb, alpha, beta, accumulate);
      else
        naive_double(M, N, K, (const double *)ab, A->strides[1], A->strides[2], (const double *)bb,
                     B->strides[1], B->strides[2], (double *)cb, alpha, beta, accumulate);
      continue;
    }
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX)
      return dnn_error(DNN_ERR_SHAPE, "matmul: dimensions beyond 2^31 are not supported by BLAS");
    DNN_RETURN_IF_ERR(dnn_blas_load());
    if (dt == DNN_FLOAT32)
      dnn_blas_sgemm(ta, tb, (int)M, (int)N, (int)K, (float)alpha, (const float *)ab, (int)lda,
                     (const float *)bb, (int)ldb, (float)beta, (float *)cb, (int)N);
    else
      dnn_blas_dgemm(ta, tb, (int)M, (int)N, (int)K, alpha, (const double *)ab, (int)lda, (const double *)bb,
                     (int)ldb, beta, (double *)cb, (int)N);
  }
  return DNN_OK;
}
