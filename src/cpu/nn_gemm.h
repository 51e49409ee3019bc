/* The dense layer's own float32 GEMMs (cpu/nn_gemm.c), for small batches on
 * AVX-512 CPUs, when the engine runs one thread.  Row-major operands with
 * unit column strides.  Each returns false, having done nothing, when it does
 * not apply (no AVX-512, several threads, or a shape better left to
 * OpenBLAS); the caller then uses OpenBLAS. */
#ifndef DNN_CPU_NN_GEMM_H
#define DNN_CPU_NN_GEMM_H

#include <stdbool.h>
#include <stdint.h>

/* C (M, N) = A (M, K) @ B (K, N), plus bias (N) if given, then relu if asked. */
bool nn_gemm_nn_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, const float *bias, bool relu);
/* C (K, N) = A (M, K)^T @ B (M, N). */
bool nn_gemm_tn_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc);

#endif
