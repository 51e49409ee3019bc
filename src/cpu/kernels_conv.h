/* CPU kernel table entries of the conv area: K(OP) = cpu_fn, ... (used by
 * backend_cpu.c), and the pieces the conv kernels share.
 *
 * Convolutions run as "row-pointer GEMMs" over channels-last data: an output
 * row (one pixel) is the sum over kernel taps of a short contiguous vector
 * (that tap's input pixel, Cin/groups values) times a (Cin/groups, Cout/groups)
 * slice of the kernel.  The micro-kernels (conv_gemm.c) read those vectors in
 * place through per-row, per-tap pointers, so no im2col matrix is built for
 * the usual layers; taps that fall into the padding point at a zero vector.
 * Layers with very few input channels (the first layer of an image model)
 * gather each row into a small per-thread buffer instead (im2row by blocks),
 * which turns nine 1-element taps into one 9-element run.  The input
 * gradient multiplies bands of the output gradient by the transposed kernel
 * (one GEMM) and adds each tap's slice back (col2im), so strides and padding
 * cost no multiply by zero. */
#ifndef DNN_CPU_KERNELS_CONV_H
#define DNN_CPU_KERNELS_CONV_H

#include "../core/internal.h"

dnn_status cpu_conv2d(const dnn_op_args *a);
dnn_status cpu_conv2d_input_grad(const dnn_op_args *a);
dnn_status cpu_conv2d_kernel_grad(const dnn_op_args *a);
dnn_status cpu_pool2d(const dnn_op_args *a);
dnn_status cpu_pool2d_backward(const dnn_op_args *a);

#define DNN_CPU_KERNELS_CONV                                                          \
  K(CONV2D) = cpu_conv2d, K(CONV2D_INPUT_GRAD) = cpu_conv2d_input_grad,              \
  K(CONV2D_KERNEL_GRAD) = cpu_conv2d_kernel_grad, K(POOL2D) = cpu_pool2d,            \
  K(POOL2D_BACKWARD) = cpu_pool2d_backward,

/* ---- shared by conv2d.c and conv_gemm.c ---- */

/* Rows of the micro-tile and columns (as a multiple of the vector) used by
 * conv_gemm.c for this build's vector width. */
int conv_gemm_mr(void);
int conv_gemm_mblock(void); /* most rows one rows() call is asked for */
int conv_gemm_nr(dnn_dtype dt); /* columns of a micro-tile: 2 vectors */

/* C[m, grp*N + j] = bias[grp*N + j] + sum_t sum_k A(m, t)[k] * B[grp][t*Kt + k][j]
 * for m < M, where A(m, t) is a pointer to Kt contiguous elements given by
 * rows().  Used for the forward pass (A = input pixels, B = kernel) and the
 * input gradient (A = output-gradient pixels, B = kernel transposed). */
typedef struct conv_rows_job {
  dnn_dtype dtype;
  int64_t M, N, Kt;
  int ntaps, groups;
  const void *Bp;   /* packed by conv_pack_b: [groups][ceil(N/NR)][ntaps*Kt][NR] */
  const void *zero; /* the padding vector: a tap where a whole micro-tile points here is skipped */
  const void *bias; /* packed by conv_pack_bias: [groups][ceil(N/NR)][NR], or NULL */
  void *C;
  int64_t ldc;
  /* Fills ptrs[i*ntaps + t] for rows m0..m0+count-1 of group grp; scratch
   * (scratch_bytes per thread) may hold gathered rows. */
  void (*rows)(const struct conv_rows_job *j, int grp, int64_t m0, int count, const void **ptrs,
               void *scratch);
  size_t scratch_bytes;
  const void *ctx;
  int failed; /* set by a worker that could not allocate */
} conv_rows_job;
dnn_status conv_rows_gemm(conv_rows_job *j);
/* One block of such a GEMM on the calling thread: rows 0..count-1 of group
 * grp from ptrs (room for count rounded up to conv_gemm_mr() rows; rows() is
 * not called), written at C (row 0 of the block; j->M and j->C unused). */
void conv_rows_block(const conv_rows_job *j, int grp, const void **ptrs, int count, void *C);

/* Packs B(t, k, j) = src[t*st + k*sk + j*sj] (t < ntaps, k < Kt, j < N) into
 * [ceil(N/NR)][ntaps*Kt][NR] with zero columns past N; returns the number of
 * elements written. */
size_t conv_pack_b(dnn_dtype dt, void *dst, const void *src, int ntaps, int64_t Kt, int64_t N, int64_t st,
                   int64_t sk, int64_t sj);
size_t conv_packed_b_elems(dnn_dtype dt, int ntaps, int64_t Kt, int64_t N);
void conv_pack_bias(dnn_dtype dt, void *dst, const void *src, int64_t N);

/* Kernel gradient: D[t*Kt + k, grp*N + j] = sum_p A(p, t)[k] * G[p, grp*N + j]
 * with A(p, t) from taps(); p runs over M rows (the output pixels).  The sum
 * over p is split into fixed segments (by shape, never by thread count) whose
 * partial results are added in order, so results do not depend on threads. */
typedef struct conv_outer_job {
  dnn_dtype dtype;
  int64_t M, N, Kt;
  int ntaps, groups;
  const void *G;
  int64_t ldg; /* G row stride; group grp's columns start at grp*N */
  void *D;
  int64_t ldd;
  void *dbias; /* if not NULL: the column sums of G (groups*N, the bias gradient) */
  /* Fills ptrs[p - p0] (count pointers) for tap t of group grp; each points
   * at >= Kt readable elements, plus conv_gemm_mr() more that may be junk. */
  void (*taps)(const struct conv_outer_job *j, int grp, int t, int64_t p0, int count, const void **ptrs,
               void *scratch);
  size_t scratch_bytes; /* per thread, for taps() */
  int64_t seg;          /* rows per segment of the p sum (a shape-only choice) */
  const void *ctx;
  int failed;
} conv_outer_job;
dnn_status conv_outer_gemm(conv_outer_job *j);

#endif
