/* The convolution micro-kernels: GEMMs whose A operand is read through row
 * pointers (see kernels_conv.h).  Written once with GCC vector extensions and
 * compiled for float and double by including this file twice into itself
 * (the part under CG_T is the template), so the build's -march decides the
 * vector width: 64-byte vectors on AVX-512, 32 on AVX, 16 otherwise.
 *
 * Micro-tile: CG_MR rows by 2 vectors.  With AVX-512 that is 12 x 32 floats:
 * 24 accumulators + 2 B vectors + a broadcast = 27 of the 32 registers. */
#ifndef CG_T

#include <stdlib.h>
#include <string.h>

#include "iter.h"
#include "kernels_conv.h"

#if defined(__AVX512F__)
#define CG_VBYTES 64
#define CG_MR 12
#elif defined(__AVX__)
#define CG_VBYTES 32
#define CG_MR 6
#else
#define CG_VBYTES 16
#define CG_MR 4
#endif
#define CG_ALIGN 64
/* A second row count for the kernel-gradient tiles: 32 channels are 12+12+8
 * rows, a tenth of them recomputed; 8+8+8+8 fit exactly. */
#define CG_MR2 (CG_MR * 2 / 3)

/* Rows of A handled per call of rows(): a few micro-tiles, so the pointers of
 * a block are made once for every column block of the output. */
#define CG_MBLOCK (CG_MR * 8)

int conv_gemm_mr(void) { return CG_MR; }
int conv_gemm_mblock(void) { return CG_MBLOCK; }
int conv_gemm_nr(dnn_dtype dt) { return (int)(2 * CG_VBYTES / dnn_dtype_size(dt)); }

static void *cg_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, CG_ALIGN, bytes ? bytes : CG_ALIGN) != 0) return NULL;
  return p;
}

/* Work items of the kernel gradient: (group, segment, tap, column block, row
 * block), in that order, so that a thread's consecutive items share the tap
 * pointers of one segment. */
typedef struct {
  conv_outer_job *j;
  int mr;                 /* rows per tile: CG_MR, or CG_MR2 when it divides Kt and CG_MR does not */
  int64_t nseg, nrb, ncb; /* segments, row blocks, column blocks */
  void *partial;          /* [nseg][ntaps*Kt][groups*N] when nseg > 1 */
  void *bpartial;         /* [nseg][groups*N] column sums of G, when dbias and nseg > 1 */
} outer_plan;

typedef struct {
  outer_plan *pl;
  int64_t rows, cols;
} outer_sum;

#define CG_T float
#define CG_S f32
#include "conv_gemm.c"
#undef CG_T
#undef CG_S
#define CG_T double
#define CG_S f64
#include "conv_gemm.c"
#undef CG_T
#undef CG_S

size_t conv_packed_b_elems(dnn_dtype dt, int ntaps, int64_t Kt, int64_t N) {
  int64_t nr = conv_gemm_nr(dt);
  return (size_t)((N + nr - 1) / nr * nr * ntaps * Kt);
}

size_t conv_pack_b(dnn_dtype dt, void *dst, const void *src, int ntaps, int64_t Kt, int64_t N, int64_t st,
                   int64_t sk, int64_t sj) {
  if (dt == DNN_FLOAT32) return pack_b_f32(dst, src, ntaps, Kt, N, st, sk, sj);
  return pack_b_f64(dst, src, ntaps, Kt, N, st, sk, sj);
}

void conv_pack_bias(dnn_dtype dt, void *dst, const void *src, int64_t N) {
  if (dt == DNN_FLOAT32)
    pack_b_f32(dst, src, 1, 1, N, 0, 0, 1);
  else
    pack_b_f64(dst, src, 1, 1, N, 0, 0, 1);
}

void conv_rows_block(const conv_rows_job *j, int grp, const void **ptrs, int count, void *C) {
  if (j->dtype == DNN_FLOAT32)
    rows_block_f32(j, grp, (const float **)ptrs, count, C);
  else
    rows_block_f64(j, grp, (const double **)ptrs, count, C);
}

dnn_status conv_rows_gemm(conv_rows_job *j) {
  int64_t nblocks = (j->M + CG_MBLOCK - 1) / CG_MBLOCK;
  /* cost per block: its multiply-adds, so small problems stay on one thread */
  int64_t cost = CG_MBLOCK * j->N * j->Kt * j->ntaps * j->groups / 64 + 1;
  j->failed = 0;
  cpu_parallel_for(nblocks, cost, j->dtype == DNN_FLOAT32 ? rows_range_f32 : rows_range_f64, j);
  if (j->failed) return dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory for scratch buffers");
  return DNN_OK;
}


dnn_status conv_outer_gemm(conv_outer_job *j) {
  size_t es = dnn_dtype_size(j->dtype);
  int64_t nr = conv_gemm_nr(j->dtype);
  outer_plan pl = {j, CG_MR, 0, 0, 0, NULL, NULL};
  if (j->Kt % CG_MR != 0 && j->Kt % CG_MR2 == 0) pl.mr = CG_MR2;
  pl.nseg = j->M > 0 ? (j->M + j->seg - 1) / j->seg : 1;
  pl.nrb = (j->Kt + pl.mr - 1) / pl.mr;
  pl.ncb = (j->N + nr - 1) / nr;
  int64_t rows = j->ntaps * j->Kt, cols = j->groups * j->N;
  if (pl.nseg > 1) {
    pl.partial = cg_alloc((size_t)(pl.nseg * rows * cols) * es);
    pl.bpartial = j->dbias ? cg_alloc((size_t)(pl.nseg * cols) * es) : NULL;
    if (!pl.partial || (j->dbias && !pl.bpartial)) {
      free(pl.partial);
      free(pl.bpartial);
      return dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory for kernel-gradient partial sums");
    }
  }
  int64_t items = j->groups * pl.nseg * j->ntaps * pl.nrb * pl.ncb;
  int64_t cost = j->seg * CG_MR * nr / 16 + 1;
  j->failed = 0;
  cpu_parallel_for(items, cost, j->dtype == DNN_FLOAT32 ? outer_range_f32 : outer_range_f64, &pl);
  if (!j->failed && pl.nseg > 1) {
    /* D = sum of the segments' partial sums, in segment order */
    outer_sum sc = {&pl, rows, cols};
    cpu_parallel_for(rows, cols * pl.nseg, j->dtype == DNN_FLOAT32 ? sum_segments_f32 : sum_segments_f64, &sc);
  }
  free(pl.partial);
  free(pl.bpartial);
  if (j->failed) return dnn_error(DNN_ERR_MEMORY, "conv2d: out of memory for scratch buffers");
  return DNN_OK;
}

#else /* ---------------- template: CG_T, CG_S ---------------- */

#define CG_CAT_(a, b) a##_##b
#define CG_CAT(a, b) CG_CAT_(a, b)
#define FN(name) CG_CAT(name, CG_S)
#define VL ((int)(CG_VBYTES / sizeof(CG_T)))
#define NR (2 * VL)

typedef CG_T FN(vec) __attribute__((vector_size(CG_VBYTES)));
typedef CG_T FN(uvec) __attribute__((vector_size(CG_VBYTES), aligned(sizeof(CG_T)), may_alias));

/* Writes a finished micro-tile: rows [r0, r1), ncols columns, C row stride ldc. */
static inline void FN(store_tile)(FN(vec) (*acc)[2], int r0, int r1, int ncols, CG_T *C, int64_t ldc,
                                  bool accumulate) {
  typedef FN(uvec) U;
  if (ncols == NR) {
    for (int i = r0; i < r1; i++) {
      U *c = (U *)(C + i * ldc);
      if (accumulate) {
        c[0] += acc[i][0];
        c[1] += acc[i][1];
      } else {
        c[0] = acc[i][0];
        c[1] = acc[i][1];
      }
    }
    return;
  }
  for (int i = r0; i < r1; i++) {
    CG_T tmp[NR] __attribute__((aligned(CG_ALIGN)));
    memcpy(tmp, &acc[i][0], sizeof tmp);
    CG_T *c = C + i * ldc;
    for (int jj = 0; jj < ncols; jj++) c[jj] = accumulate ? c[jj] + tmp[jj] : tmp[jj];
  }
}

/* C rows = init + sum_t A_t B_t for one micro-tile.  ptrs[i*ntaps + t]: row i,
 * tap t (rows past mr repeat row 0 and are not stored).  B: the packed panel
 * of this column block, ntaps*Kt rows of NR. */
static void FN(rows_tile)(const CG_T *const *ptrs, int ntaps, int64_t Kt, const CG_T *B, const CG_T *init,
                          const void *zero, CG_T *C, int64_t ldc, int mr, int ncols) {
  typedef FN(vec) V;
  V acc[CG_MR][2];
  V i0 = {0}, i1 = {0};
  if (init) {
    i0 = ((const V *)init)[0];
    i1 = ((const V *)init)[1];
  }
#pragma GCC unroll 16
  for (int i = 0; i < CG_MR; i++) {
    acc[i][0] = i0;
    acc[i][1] = i1;
  }
  const V *b = (const V *)B;
  for (int t = 0; t < ntaps; t++) {
    const CG_T *a[CG_MR];
    bool padding = true;
#pragma GCC unroll 16
    for (int i = 0; i < CG_MR; i++) {
      a[i] = ptrs[i * ntaps + t];
      padding &= (const void *)a[i] == zero;
    }
    if (padding) { /* the whole tile reads padding here: nothing to add */
      b += 2 * Kt;
      continue;
    }
    for (int64_t k = 0; k < Kt; k++, b += 2) {
      V b0 = b[0], b1 = b[1];
#pragma GCC unroll 16
      for (int i = 0; i < CG_MR; i++) {
        CG_T s = a[i][k];
        acc[i][0] += s * b0;
        acc[i][1] += s * b1;
      }
    }
  }
  FN(store_tile)(acc, 0, mr, ncols, C, ldc, false);
}

/* Rows 0..count-1 of one block for group grp: ptrs as rows() fills them
 * (room for count rounded up to CG_MR rows), C at the block's first row. */
static void FN(rows_block)(const conv_rows_job *j, int grp, const CG_T **ptrs, int count, CG_T *C0) {
  int ntaps = j->ntaps;
  int64_t nblk = (j->N + NR - 1) / NR;
  int64_t panel = (int64_t)ntaps * j->Kt * NR; /* elements of one column block's panel */
  /* a partial last tile repeats its first row's pointers */
  int full = (count + CG_MR - 1) / CG_MR * CG_MR;
  for (int i = count; i < full; i++)
    for (int t = 0; t < ntaps; t++) ptrs[i * ntaps + t] = ptrs[(count / CG_MR * CG_MR) * ntaps + t];
  const CG_T *Bg = (const CG_T *)j->Bp + grp * nblk * panel;
  const CG_T *bias = j->bias ? (const CG_T *)j->bias + grp * nblk * NR : NULL;
  for (int64_t nb = 0; nb < nblk; nb++) {
    int ncols = (int)(j->N - nb * NR < NR ? j->N - nb * NR : NR);
    for (int i0 = 0; i0 < count; i0 += CG_MR) {
      int mr = count - i0 < CG_MR ? count - i0 : CG_MR;
      CG_T *C = C0 + i0 * j->ldc + grp * j->N + nb * NR;
      FN(rows_tile)(ptrs + i0 * ntaps, ntaps, j->Kt, Bg + nb * panel, bias ? bias + nb * NR : NULL, j->zero, C,
                    j->ldc, mr, ncols);
    }
  }
}

/* Row blocks [b0, b1) of a conv_rows_job. */
static void FN(rows_range)(void *vj, int64_t b0, int64_t b1) {
  conv_rows_job *j = vj;
  const CG_T **ptrs = malloc(sizeof(*ptrs) * (size_t)CG_MBLOCK * (size_t)j->ntaps);
  void *scratch = j->scratch_bytes ? cg_alloc(j->scratch_bytes) : NULL;
  if (!ptrs || (j->scratch_bytes && !scratch)) {
    __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
    free(ptrs);
    free(scratch);
    return;
  }
  for (int64_t blk = b0; blk < b1; blk++) {
    int64_t m0 = blk * CG_MBLOCK;
    int count = (int)(j->M - m0 < CG_MBLOCK ? j->M - m0 : CG_MBLOCK);
    for (int grp = 0; grp < j->groups; grp++) {
      j->rows(j, grp, m0, count, (const void **)ptrs, scratch);
      FN(rows_block)(j, grp, ptrs, count, (CG_T *)j->C + m0 * j->ldc);
    }
  }
  free(scratch);
  free(ptrs);
}

static size_t FN(pack_b)(CG_T *dst, const CG_T *src, int ntaps, int64_t Kt, int64_t N, int64_t st, int64_t sk,
                         int64_t sj) {
  int64_t nblk = (N + NR - 1) / NR;
  CG_T *d = dst;
  for (int64_t nb = 0; nb < nblk; nb++)
    for (int t = 0; t < ntaps; t++)
      for (int64_t k = 0; k < Kt; k++, d += NR)
        for (int jj = 0; jj < NR; jj++) {
          int64_t col = nb * NR + jj;
          d[jj] = col < N ? src[t * st + k * sk + col * sj] : 0;
        }
  return (size_t)(d - dst);
}

/* One micro-tile of the kernel gradient: rows r0..MR-1 of
 * D[i][0:ncols] (+)= sum_p aptr[p][koff + i] * G[p][0:NR] (rows below r0
 * overlap the previous block and are dropped).  MR is a constant in each
 * caller (always inlined), so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void FN(outer_tile_mr)(const int MR, const CG_T *const *aptr,
                                                                    int64_t koff, int64_t np, const CG_T *G,
                                                                    int64_t ldg, CG_T *D, int64_t ldd, int r0,
                                                                    int r1, int ncols, CG_T *colsum) {
  typedef FN(vec) V;
  typedef FN(uvec) U;
  V acc[CG_MR][2], sum[1][2] = {{{0}, {0}}};
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (V){0};
  /* the empty asm makes `a` one base register, so that the reads are
   * immediate offsets from it rather than one index register each (spills) */
#define OUTER_LOOP(EXTRA)                                \
  for (int64_t p = 0; p < np; p++) {                     \
    const CG_T *a = aptr[p] + koff;                      \
    __asm__("" : "+r"(a));                               \
    const U *g = (const U *)(G + p * ldg);               \
    V g0 = g[0], g1 = g[1];                              \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) { \
      CG_T s = a[i];                                     \
      acc[i][0] += s * g0;                               \
      acc[i][1] += s * g1;                               \
    }                                                    \
    EXTRA                                                \
  }
  if (colsum) {
    OUTER_LOOP(sum[0][0] += g0; sum[0][1] += g1;)
  } else {
    OUTER_LOOP()
  }
#undef OUTER_LOOP
  FN(store_tile)(acc, r0, r1, ncols, D, ldd, false);
  if (colsum) FN(store_tile)(sum, 0, 1, ncols, colsum, 0, false);
}

static void FN(outer_tile)(int mr, const CG_T *const *aptr, int64_t koff, int64_t np, const CG_T *G, int64_t ldg,
                           CG_T *D, int64_t ldd, int r0, int r1, int ncols, CG_T *colsum) {
  if (mr == CG_MR)
    FN(outer_tile_mr)(CG_MR, aptr, koff, np, G, ldg, D, ldd, r0, r1, ncols, colsum);
  else
    FN(outer_tile_mr)(CG_MR2, aptr, koff, np, G, ldg, D, ldd, r0, r1, ncols, colsum);
}

/* Work items [w0, w1) of the kernel gradient (see outer_plan). */
static void FN(outer_range)(void *vp, int64_t w0, int64_t w1) {
  outer_plan *pl = vp;
  conv_outer_job *j = pl->j;
  int64_t seg = j->seg;
  const CG_T **ptrs = malloc(sizeof(*ptrs) * (size_t)(seg > 0 ? seg : 1));
  void *scratch = j->scratch_bytes ? cg_alloc(j->scratch_bytes) : NULL;
  CG_T *gpack = NULL; /* a column block of G padded to NR, for the last block */
  if (!ptrs || (j->scratch_bytes && !scratch)) goto fail;
  int64_t cur_key = -1, cur_gkey = -1;
  int64_t rows = j->ntaps * j->Kt, cols = j->groups * j->N;
  for (int64_t w = w0; w < w1; w++) {
    int64_t r = w;
    int64_t rb = r % pl->nrb;
    r /= pl->nrb;
    int64_t cb = r % pl->ncb;
    r /= pl->ncb;
    int t = (int)(r % j->ntaps);
    r /= j->ntaps;
    int64_t s = r % pl->nseg;
    int grp = (int)(r / pl->nseg);
    int64_t p0 = s * seg, np = j->M - p0 < seg ? j->M - p0 : seg;
    int64_t key = (grp * pl->nseg + s) * j->ntaps + t;
    if (key != cur_key) {
      if (np > 0) j->taps(j, grp, t, p0, (int)np, (const void **)ptrs, scratch);
      cur_key = key;
    }
    /* columns: the last block may be narrow; G is then copied padded */
    int ncols = (int)(j->N - cb * NR < NR ? j->N - cb * NR : NR);
    const CG_T *G = (const CG_T *)j->G + p0 * j->ldg + grp * j->N + cb * NR;
    int64_t ldg = j->ldg;
    if (ncols < NR && np > 0) {
      int64_t gkey = (grp * pl->nseg + s) * pl->ncb + cb;
      if (!gpack) gpack = cg_alloc(sizeof(CG_T) * (size_t)(seg * NR));
      if (!gpack) goto fail;
      if (gkey != cur_gkey) {
        for (int64_t p = 0; p < np; p++)
          for (int jj = 0; jj < NR; jj++) gpack[p * NR + jj] = jj < ncols ? G[p * j->ldg + jj] : 0;
        cur_gkey = gkey;
      }
      G = gpack;
      ldg = NR;
    }
    /* rows: a last block shorter than mr is shifted back to stay in range
     * (Kt >= mr, or the pointers have slack past Kt) */
    int mr = pl->mr;
    int64_t k0 = rb * mr;
    int r0 = 0;
    if (k0 + mr > j->Kt && j->Kt >= mr) {
      r0 = (int)(k0 + mr - j->Kt);
      k0 = j->Kt - mr;
    }
    int r1 = (int)(j->Kt - k0 < mr ? j->Kt - k0 : mr);
    CG_T *D;
    int64_t ldd;
    if (pl->nseg > 1) {
      D = (CG_T *)pl->partial + (s * rows + t * j->Kt + k0) * cols + grp * j->N + cb * NR;
      ldd = cols;
    } else {
      D = (CG_T *)j->D + (t * j->Kt + k0) * j->ldd + grp * j->N + cb * NR;
      ldd = j->ldd;
    }
    /* the column sums of G (the bias gradient) ride along with one row block */
    CG_T *colsum = NULL;
    if (j->dbias && t == 0 && rb == 0)
      colsum = (pl->nseg > 1 ? (CG_T *)pl->bpartial + s * cols : (CG_T *)j->dbias) + grp * j->N + cb * NR;
    FN(outer_tile)(mr, ptrs, k0, np, G, ldg, D, ldd, r0, r1, ncols, colsum);
  }
  free(gpack);
  free(scratch);
  free(ptrs);
  return;
fail:
  __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
  free(gpack);
  free(scratch);
  free(ptrs);
}

/* Rows [r0, r1) of D = sum over segments of the partial sums. */
static void FN(sum_segments)(void *vc, int64_t r0, int64_t r1) {
  outer_sum *sc = vc;
  outer_plan *pl = sc->pl;
  conv_outer_job *j = pl->j;
  const CG_T *P = pl->partial;
  for (int64_t r = r0; r < r1; r++) {
    CG_T *d = (CG_T *)j->D + r * j->ldd;
    for (int64_t c = 0; c < sc->cols; c++) d[c] = P[r * sc->cols + c];
    for (int64_t s = 1; s < pl->nseg; s++) {
      const CG_T *p = P + (s * sc->rows + r) * sc->cols;
      for (int64_t c = 0; c < sc->cols; c++) d[c] += p[c];
    }
  }
  if (r0 == 0 && j->dbias) { /* the bias gradient: one more row */
    const CG_T *B = pl->bpartial;
    CG_T *d = j->dbias;
    for (int64_t c = 0; c < sc->cols; c++) d[c] = B[c];
    for (int64_t s = 1; s < pl->nseg; s++)
      for (int64_t c = 0; c < sc->cols; c++) d[c] += B[s * sc->cols + c];
  }
}

#undef CG_CAT_
#undef CG_CAT
#undef FN
#undef VL
#undef NR
#endif
