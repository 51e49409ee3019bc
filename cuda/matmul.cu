/* Batched matrix multiply through cuBLAS: out[b] = alpha A[b] @ B[b]
 * (+ beta out[b]), as cpu/matmul.c.  Our tensors are row-major; cuBLAS is
 * column-major, so C = A B is computed as C^T = B^T A^T with the operands
 * swapped and no copy: a transposed view becomes an op flag.  float32 runs
 * with TF32 off unless dnn.cuda.set_allow_tf32(true) (parity first), float64
 * in float64, float16/bfloat16 with float32 accumulation (cublasGemmEx,
 * CUBLAS_COMPUTE_32F, no reduced-precision split-K reductions); integer
 * products use a plain kernel that wraps like the CPU. */
#include <atomic>
#include <limits.h>

#include "elementwise.cuh"

static std::atomic<bool> allow_tf32(false);

extern "C" void dnn_cuda_set_allow_tf32(bool on) { allow_tf32.store(on); }
extern "C" bool dnn_cuda_get_allow_tf32(void) { return allow_tf32.load(); }

namespace {

/* Batches per cuBLAS call: kernels index batches on grid.z in some versions. */
#define MAX_BATCH_PER_CALL 65535

template <typename T>
__global__ void scale_kernel(int64_t n, T *c, int64_t scb, int64_t MN, double beta, bool accumulate) {
  CU_GRID_STRIDE(i, n) {
    int64_t b = i / MN, r = i % MN;
    T *p = c + b * scb + r;
    *p = accumulate ? (T)(beta * (double)*p) : (T)0;
  }
}

/* The empty-product path for half results: beta * C (in float32) or 0. */
template <typename H>
__global__ void scale_half_kernel(int64_t n, H *c, int64_t scb, int64_t MN, float beta, bool accumulate) {
  CU_GRID_STRIDE(i, n) {
    int64_t b = i / MN, r = i % MN;
    H *p = c + b * scb + r;
    *p = cu_store_h<H>(accumulate ? beta * cu_load_f(*p) : 0.0f);
  }
}

template <typename T>
__global__ void int_matmul_kernel(int64_t batch, int64_t M, int64_t N, int64_t K, const T *A, int64_t sab,
                                  int64_t sam, int64_t sak, const T *B, int64_t sbb, int64_t sbk, int64_t sbn, T *C,
                                  int64_t scb, int64_t ldc) {
  int64_t total = batch * M * N;
  CU_GRID_STRIDE(idx, total) {
    int64_t b = idx / (M * N), r = idx % (M * N), i = r / N, j = r % N;
    const T *a = A + b * sab + i * sam;
    const T *bb = B + b * sbb + j * sbn;
    uint64_t acc = 0;
    for (int64_t k = 0; k < K; k++) acc += (uint64_t)(int64_t)a[k * sak] * (uint64_t)(int64_t)bb[k * sbk];
    C[b * scb + i * ldc + j] = (T)acc;
  }
}

/* The cuBLAS calls, as functions so that a failure (CUBLAS_CHECK returns)
 * still lets cu_gemm restore the handle's math mode. */
dnn_status gemm_one(const char *op, cuda_ctx *c, cublasOperation_t opb, cublasOperation_t opa, int64_t N, int64_t M,
                    int64_t K, const void *pa, const void *B, cudaDataType_t ty, int64_t ldb, const void *A,
                    int64_t lda, const void *pb, void *C, int64_t ldc, cublasComputeType_t ct) {
  CUBLAS_CHECK(op, cublasGemmEx(c->blas, opb, opa, (int)N, (int)M, (int)K, pa, B, ty, (int)ldb, A, ty, (int)lda, pb,
                                C, ty, (int)ldc, ct, CUBLAS_GEMM_DEFAULT));
  return DNN_OK;
}

dnn_status gemm_batched(const char *op, cuda_ctx *c, cublasOperation_t opb, cublasOperation_t opa, int64_t N,
                        int64_t M, int64_t K, const void *pa, const void *B, cudaDataType_t ty, int64_t ldb,
                        int64_t sbb, const void *A, int64_t lda, int64_t sab, const void *pb, void *C, int64_t ldc,
                        int64_t scb, int64_t nb, cublasComputeType_t ct) {
  CUBLAS_CHECK(op, cublasGemmStridedBatchedEx(c->blas, opb, opa, (int)N, (int)M, (int)K, pa, B, ty, (int)ldb,
                                              (long long)sbb, A, ty, (int)lda, (long long)sab, pb, C, ty, (int)ldc,
                                              (long long)scb, (int)nb, ct, CUBLAS_GEMM_DEFAULT));
  return DNN_OK;
}

dnn_status cublas_restore_mode(const char *op, cuda_ctx *c, cublasMath_t mode) {
  CUBLAS_CHECK(op, cublasSetMathMode(c->blas, mode));
  return DNN_OK;
}

}  // namespace

dnn_status cu_gemm(const char *op, cuda_ctx *c, dnn_dtype dt, int64_t batch, int64_t M, int64_t N, int64_t K,
                   const void *A, int64_t sab, int64_t sam, int64_t sak, const void *B, int64_t sbb, int64_t sbk,
                   int64_t sbn, void *C, int64_t scb, int64_t ldc, double alpha, double beta) {
  if (batch == 0 || M == 0 || N == 0) return DNN_OK;
  bool accumulate = beta != 0;
  if (K == 0 || !dnn_dtype_is_float(dt)) {
    int64_t total = batch * M * N;
    unsigned grid = cuda_grid(total, CU_THREADS, c);
    if (K == 0 && ldc != N)
      return dnn_error(DNN_ERR_INTERNAL, "%s: an empty product needs a contiguous result", op);
    switch (dt) {
      case DNN_FLOAT32:
        scale_kernel<float><<<grid, CU_THREADS, 0, c->stream>>>(total, (float *)C, scb, M * N, beta, accumulate);
        break;
      case DNN_FLOAT64:
        scale_kernel<double><<<grid, CU_THREADS, 0, c->stream>>>(total, (double *)C, scb, M * N, beta, accumulate);
        break;
      case DNN_FLOAT16:
        scale_half_kernel<__half><<<grid, CU_THREADS, 0, c->stream>>>(total, (__half *)C, scb, M * N, (float)beta,
                                                                      accumulate);
        break;
      case DNN_BFLOAT16:
        scale_half_kernel<__nv_bfloat16><<<grid, CU_THREADS, 0, c->stream>>>(total, (__nv_bfloat16 *)C, scb, M * N,
                                                                             (float)beta, accumulate);
        break;
#define INT_MM(T)                                                                                              \
  int_matmul_kernel<T><<<grid, CU_THREADS, 0, c->stream>>>(batch, M, N, K, (const T *)A, sab, sam, sak,       \
                                                           (const T *)B, sbb, sbk, sbn, (T *)C, scb, ldc);
      case DNN_INT32: INT_MM(int32_t) break;
      case DNN_INT64: INT_MM(int64_t) break;
      case DNN_UINT8: INT_MM(uint8_t) break;
#undef INT_MM
      default: return dnn_error(DNN_ERR_DTYPE, "%s: not supported for dtype %s", op, dnn_dtype_name(dt));
    }
    CU_CHECK_LAUNCH(op);
    return DNN_OK;
  }
  bool ta, tb;
  int64_t lda, ldb;
  if (!dnn_blas_layout(M, K, sam, sak, &ta, &lda) || !dnn_blas_layout(K, N, sbk, sbn, &tb, &ldb))
    return dnn_error(DNN_ERR_INTERNAL, "%s: operand strides not usable by cuBLAS", op);
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    return dnn_error(DNN_ERR_SHAPE, "%s: dimensions beyond 2^31 are not supported by cuBLAS", op);
  /* column-major view: C^T (N x M) = op(B)^T-buffer (N x K) * op(A)^T-buffer (K x M) */
  cublasOperation_t opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  size_t es = dnn_dtype_size(dt);
  /* float16/bfloat16 operands and result, float32 accumulation and scalars
   * (cublasGemmEx's 16F/16BF x COMPUTE_32F rows); TF32 concerns float32 only */
  bool half = dnn_dtype_is_half(dt);
  float af = (float)alpha, bf = (float)beta;
  const void *pa = dt == DNN_FLOAT64 ? (const void *)&alpha : (const void *)&af;
  const void *pb = dt == DNN_FLOAT64 ? (const void *)&beta : (const void *)&bf;
  cudaDataType_t ty = dt == DNN_FLOAT32   ? CUDA_R_32F
                      : dt == DNN_FLOAT16 ? CUDA_R_16F
                      : dt == DNN_BFLOAT16 ? CUDA_R_16BF
                                           : CUDA_R_64F;
  cublasComputeType_t ct = dt == DNN_FLOAT64             ? CUBLAS_COMPUTE_64F
                           : !half && allow_tf32.load() ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                        : CUBLAS_COMPUTE_32F;
  /* half results: cuBLAS may otherwise reduce split-K partial sums in the
   * 16-bit output type; keep every reduction in float32, then restore */
  cublasMath_t mode = CUBLAS_DEFAULT_MATH;
  if (half) {
    CUBLAS_CHECK(op, cublasGetMathMode(c->blas, &mode));
    CUBLAS_CHECK(op, cublasSetMathMode(c->blas,
                                       (cublasMath_t)(mode | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  }
  dnn_status st = DNN_OK;
  for (int64_t b0 = 0; b0 < batch && st == DNN_OK; b0 += MAX_BATCH_PER_CALL) {
    int64_t nb = batch - b0 < MAX_BATCH_PER_CALL ? batch - b0 : MAX_BATCH_PER_CALL;
    const char *a0 = (const char *)A + (size_t)(b0 * sab) * es;
    const char *bb0 = (const char *)B + (size_t)(b0 * sbb) * es;
    char *c0 = (char *)C + (size_t)(b0 * scb) * es;
    st = nb == 1 ? gemm_one(op, c, opb, opa, N, M, K, pa, bb0, ty, ldb, a0, lda, pb, c0, ldc, ct)
                 : gemm_batched(op, c, opb, opa, N, M, K, pa, bb0, ty, ldb, sbb, a0, lda, sab, pb, c0, ldc, scb, nb,
                                ct);
  }
  if (half) {
    dnn_status rs = cublas_restore_mode(op, c, mode);
    if (st == DNN_OK) st = rs;
  }
  return st;
}

/* in[0]: (batch, M, K), in[1]: (batch, K, N), any strides (batch stride may be
 * 0); out: contiguous (batch, M, N).  s0 = alpha (has_s0); has_s1: out holds C
 * and s1 = beta. */
dnn_status cu_matmul(const dnn_op_args *a) {
  const char *name = "matmul";
  const dnn_tensor *A = a->in[0], *B = a->in[1];
  dnn_tensor *C = a->out;
  cuda_ctx *c = cuda_ctx_of(name, C);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {C, A, B};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t batch = C->shape[0], M = C->shape[1], N = C->shape[2], K = A->shape[2];
  double alpha = a->has_s0 ? a->s0 : 1.0, beta = a->has_s1 ? a->s1 : 0.0;
  return cu_gemm(name, c, (dnn_dtype)C->dtype, batch, M, N, K, dnn_data_ptr(A), A->strides[0], A->strides[1],
                 A->strides[2], dnn_data_ptr(B), B->strides[0], B->strides[1], B->strides[2], dnn_data_ptr(C),
                 C->strides[0], C->strides[1], alpha, beta);
}
