/* Float32 GEMMs for the dense layer's two large products, where the batch
 * (M) is small: OpenBLAS spends a good part of such calls packing the weight
 * matrix and zeroing C, which these kernels skip.
 *
 *   nn: C (M, N) = A (M, K) @ B (K, N) [+ bias, relu]   (forward)
 *   tn: C (K, N) = A (M, K)^T @ B (M, N)                (kernel gradient)
 *
 * All row-major with unit column stride.  Each output tile (rows x 32
 * columns) is accumulated in AVX-512 registers over the whole reduction and
 * stored once (with the bias and relu applied on the way out).  The code is
 * compiled for AVX-512 whatever the build flags and used only when the CPU
 * has it; otherwise, for shapes whose panels would not stay in cache, and
 * when the engine runs several threads, the callers use OpenBLAS.
 *
 * Why one thread only: threading these tiles with OpenMP next to OpenBLAS
 * calls (the other products of a training step) leaves two thread pools
 * spinning against each other, and on a loaded 2-core machine a step took
 * 2-4x longer than with OpenBLAS threading alone (which yields instead of
 * spinning).  Single-threaded, the kernels beat OpenBLAS by 10-30% on the
 * dense layers' shapes (no packing of the weight, no zeroing of C). */
#include <stdbool.h>
#include <stdint.h>

#include "dnn.h"
#include "nn_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define NN_TARGET __attribute__((target("avx512f")))
#define TILE_ROWS 12  /* 24 accumulators + 2 B vectors + 1 broadcast of 32 registers */
#define CHUNK_ROWS 192 /* nn: A rows revisited per column panel (stay in L2) */

static bool cpu_has_avx512(void) {
  static int has = -1;
  if (has < 0) {
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx512f") ? 1 : 0;
  }
  return has == 1;
}

static bool usable(void) { return dnn_get_num_threads() == 1 && cpu_has_avx512(); }

/* Mask of the first n (0..16) lanes. */
static inline __mmask16 lanes(int64_t n) {
  return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

typedef struct {
  int64_t M, N, K, lda, ldb, ldc;
  const float *A, *B, *bias;
  float *C;
  bool relu;
  int64_t nblk, mblk;  /* column panels of 32, row tiles (per chunk for nn) */
  int64_t chunk_rows;  /* nn: rows per chunk */
} gemm_ctx;

/* ---- nn ---- */

/* Rows [m0, m0+MR) x columns [n0, n0+32) of C.  Instantiated for each MR
 * (a constant), so the accumulators live in registers. */
/* The MR rows of A are reached from four base pointers (rows 0, 3, 6, 9) that
 * advance along k, plus 0, 1 or 2 row strides: twelve separate row pointers
 * would not fit the general registers next to the loop's own. */
#define NN_ROW(i) ((i) < 3 ? p0 : (i) < 6 ? p3 : (i) < 9 ? p6 : p9)[((i) % 3) * lda]
#define NN_TILE(MR)                                                                           \
  NN_TARGET static void nn_tile_##MR(const gemm_ctx *c, int64_t m0, int64_t n0) {           \
    __m512 acc0[MR], acc1[MR];                                                                \
    __mmask16 k0 = lanes(c->N - n0), k1 = lanes(c->N - n0 - 16);                              \
    int64_t lda = c->lda, ldb = c->ldb, K = c->K;                                             \
    const float *p0 = c->A + m0 * lda, *p3 = p0 + 3 * lda, *p6 = p3 + 3 * lda, *p9 = p6 + 3 * lda; \
    const float *b = c->B + n0;                                                               \
    { /* k = 0 initialises the accumulators (zeroing them costs a memset per tile) */         \
      __m512 b0 = _mm512_maskz_loadu_ps(k0, b), b1 = _mm512_maskz_loadu_ps(k1, b + 16);       \
      _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++) {                                 \
        __m512 av = _mm512_set1_ps(NN_ROW(i));                                                \
        acc0[i] = _mm512_mul_ps(av, b0);                                                      \
        acc1[i] = _mm512_mul_ps(av, b1);                                                      \
      }                                                                                       \
    }                                                                                         \
    for (int64_t k = 1; k < K; k++) {                                                         \
      p0++, p3++, p6++, p9++;                                                                 \
      b += ldb;                                                                               \
      __m512 b0 = _mm512_maskz_loadu_ps(k0, b), b1 = _mm512_maskz_loadu_ps(k1, b + 16);       \
      _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++) {                                 \
        __m512 av = _mm512_set1_ps(NN_ROW(i));                                                \
        acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);                                           \
        acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);                                           \
      }                                                                                       \
    }                                                                                         \
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps(), zero = _mm512_setzero_ps(); \
    if (c->bias) {                                                                            \
      bias0 = _mm512_maskz_loadu_ps(k0, c->bias + n0);                                        \
      bias1 = _mm512_maskz_loadu_ps(k1, c->bias + n0 + 16);                                   \
    }                                                                                         \
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++) {                                   \
      __m512 v0 = _mm512_add_ps(acc0[i], bias0), v1 = _mm512_add_ps(acc1[i], bias1);          \
      if (c->relu) { /* maxps returns its second operand if one is NaN: NaN stays, as in relu */ \
        v0 = _mm512_max_ps(zero, v0);                                                         \
        v1 = _mm512_max_ps(zero, v1);                                                         \
      }                                                                                       \
      float *o = c->C + (m0 + i) * c->ldc + n0;                                               \
      _mm512_mask_storeu_ps(o, k0, v0);                                                       \
      _mm512_mask_storeu_ps(o + 16, k1, v1);                                                  \
    }                                                                                         \
  }
NN_TILE(1) NN_TILE(2) NN_TILE(3) NN_TILE(4) NN_TILE(5) NN_TILE(6)
NN_TILE(7) NN_TILE(8) NN_TILE(9) NN_TILE(10) NN_TILE(11) NN_TILE(12)

typedef void (*tile_fn)(const gemm_ctx *c, int64_t r0, int64_t n0);
static const tile_fn nn_tile[TILE_ROWS + 1] = {NULL,      nn_tile_1, nn_tile_2,  nn_tile_3,  nn_tile_4,
                                               nn_tile_5, nn_tile_6, nn_tile_7,  nn_tile_8,  nn_tile_9,
                                               nn_tile_10, nn_tile_11, nn_tile_12};

/* Tiles t in [b, e), ordered chunk of rows, then column panel, then row tile,
 * so a column panel of B is reused across a chunk's rows while both stay in cache. */
NN_TARGET static void nn_tiles(const gemm_ctx *c, int64_t b, int64_t e) {
  for (int64_t t = b; t < e; t++) {
    int64_t per_chunk = c->nblk * c->mblk;
    int64_t chunk = t / per_chunk, r = t % per_chunk;
    int64_t nb = r / c->mblk, mt = r % c->mblk;
    int64_t m0 = chunk * c->chunk_rows + mt * TILE_ROWS;
    int64_t chunk_end = (chunk + 1) * c->chunk_rows < c->M ? (chunk + 1) * c->chunk_rows : c->M;
    if (m0 >= chunk_end) continue; /* the last chunk may be short */
    int mr = (int)(chunk_end - m0 < TILE_ROWS ? chunk_end - m0 : TILE_ROWS);
    nn_tile[mr](c, m0, nb * 32);
  }
}

bool nn_gemm_nn_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, const float *bias, bool relu) {
  /* small batches, and B's column panel (K x 32 floats) within L2 */
  if (!usable() || M > 4096 || K > 8192 || K < 1 || N < 32 || M * N * K < 32768) return false;
  int64_t chunk_rows = M < CHUNK_ROWS ? M : CHUNK_ROWS;
  gemm_ctx c = {M, N, K, lda, ldb, ldc, A, B, bias, C, relu, (N + 31) / 32, (chunk_rows + TILE_ROWS - 1) / TILE_ROWS,
                chunk_rows};
  int64_t chunks = (M + chunk_rows - 1) / chunk_rows;
  int64_t tiles = chunks * c.nblk * c.mblk;
  nn_tiles(&c, 0, tiles);
  return true;
}

/* ---- tn ---- */

/* Rows [k0, k0+KR) x columns [n0, n0+32) of C = A^T B, one instance per KR. */
#define TN_TILE(KR)                                                                           \
  NN_TARGET static void tn_tile_##KR(const gemm_ctx *c, int64_t k0, int64_t n0) {           \
    __m512 acc0[KR], acc1[KR];                                                                \
    __mmask16 q0 = lanes(c->N - n0), q1 = lanes(c->N - n0 - 16);                              \
    int64_t lda = c->lda, ldb = c->ldb, M = c->M;                                             \
    const float *a = c->A + k0, *b = c->B + n0;                                               \
    { /* m = 0 initialises the accumulators */                                              \
      __m512 b0 = _mm512_maskz_loadu_ps(q0, b), b1 = _mm512_maskz_loadu_ps(q1, b + 16);       \
      _Pragma("GCC unroll 12") for (int i = 0; i < KR; i++) {                                 \
        __m512 av = _mm512_set1_ps(a[i]);                                                     \
        acc0[i] = _mm512_mul_ps(av, b0);                                                      \
        acc1[i] = _mm512_mul_ps(av, b1);                                                      \
      }                                                                                       \
    }                                                                                         \
    for (int64_t m = 1; m < M; m++) {                                                         \
      __m512 b0 = _mm512_maskz_loadu_ps(q0, b + m * ldb);                                     \
      __m512 b1 = _mm512_maskz_loadu_ps(q1, b + m * ldb + 16);                                \
      _Pragma("GCC unroll 12") for (int i = 0; i < KR; i++) {                                 \
        __m512 av = _mm512_set1_ps(a[m * lda + i]);                                           \
        acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);                                           \
        acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);                                           \
      }                                                                                       \
    }                                                                                         \
    _Pragma("GCC unroll 12") for (int i = 0; i < KR; i++) {                                   \
      float *o = c->C + (k0 + i) * c->ldc + n0;                                               \
      _mm512_mask_storeu_ps(o, q0, acc0[i]);                                                  \
      _mm512_mask_storeu_ps(o + 16, q1, acc1[i]);                                             \
    }                                                                                         \
  }
TN_TILE(1) TN_TILE(2) TN_TILE(3) TN_TILE(4) TN_TILE(5) TN_TILE(6)
TN_TILE(7) TN_TILE(8) TN_TILE(9) TN_TILE(10) TN_TILE(11) TN_TILE(12)

static const tile_fn tn_tile[TILE_ROWS + 1] = {NULL,      tn_tile_1, tn_tile_2,  tn_tile_3,  tn_tile_4,
                                               tn_tile_5, tn_tile_6, tn_tile_7,  tn_tile_8,  tn_tile_9,
                                               tn_tile_10, tn_tile_11, tn_tile_12};

/* Tiles t in [b, e), column panel outer (B's panel M x 32 stays in L1/L2). */
NN_TARGET static void tn_tiles(const gemm_ctx *c, int64_t b, int64_t e) {
  for (int64_t t = b; t < e; t++) {
    int64_t nb = t / c->mblk, kt = t % c->mblk, k0 = kt * TILE_ROWS;
    int kr = (int)(c->K - k0 < TILE_ROWS ? c->K - k0 : TILE_ROWS);
    tn_tile[kr](c, k0, nb * 32);
  }
}

bool nn_gemm_tn_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc) {
  /* the reduction runs over the batch: keep its panels (M x 32 floats) in cache */
  if (!usable() || M > 2048 || M < 1 || N < 32 || M * N * K < 32768) return false;
  gemm_ctx c = {M, N, K, lda, ldb, ldc, A, B, NULL, C, false, (N + 31) / 32, (K + TILE_ROWS - 1) / TILE_ROWS, 0};
  tn_tiles(&c, 0, c.nblk * c.mblk);
  return true;
}

#else /* not x86-64 GCC/Clang: OpenBLAS does it all */

bool nn_gemm_nn_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, const float *bias, bool relu) {
  (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc, (void)bias, (void)relu;
  return false;
}

bool nn_gemm_tn_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc) {
  (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb, (void)C, (void)ldc;
  return false;
}

#endif
