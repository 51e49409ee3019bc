/* OpenBLAS, loaded at first use.  OpenBLAS picks its kernels in a load-time
 * constructor from the CPU model; on virtual machines that report a generic
 * model it falls back to SSE3 ("Prescott") kernels, several times slower than
 * the AVX-512 ones the CPU runs.  Loading it ourselves lets us set
 * OPENBLAS_CORETYPE from the CPU's actual features first (a user's own
 * OPENBLAS_CORETYPE wins). */
#ifndef DNN_CPU_BLAS_H
#define DNN_CPU_BLAS_H

#include <stdbool.h>

#include "dnn.h"

typedef enum { DNN_BLAS_NOTRANS = 111, DNN_BLAS_TRANS = 112 } dnn_blas_trans; /* CBLAS values */

dnn_status dnn_blas_load(void);
void dnn_blas_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc);
void dnn_blas_dgemm(bool ta, bool tb, int m, int n, int k, double alpha, const double *a, int lda,
                    const double *b, int ldb, double beta, double *c, int ldc);
void dnn_blas_set_num_threads(int n);
/* "SkylakeX", "Haswell", ... as OpenBLAS reports its kernels, or an error text. */
const char *dnn_blas_corename(void);

#endif
