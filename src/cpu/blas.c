#include "blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

enum { ROW_MAJOR = 101 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int,
                         double, double *, int);

static struct {
  sgemm_fn sgemm;
  dgemm_fn dgemm;
  void (*set_threads)(int);
  char *(*corename)(void);
  dnn_status status;
  char error[256];
} blas;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* Kernels for this CPU, by feature rather than by model name. */
static const char *coretype_for_cpu(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return NULL; /* let OpenBLAS decide */
}

static void load(void) {
  const char *core = coretype_for_cpu();
  if (core && !getenv("OPENBLAS_CORETYPE")) setenv("OPENBLAS_CORETYPE", core, 0);
  /* The OpenMP build of OpenBLAS first: it shares our OpenMP thread pool.  The
   * pthread build keeps its own workers spinning after each GEMM, and on a
   * machine with few cores our OpenMP loops then wait for a time slice
   * (milliseconds) at every parallel region. */
  const char *names[] = {
#ifdef DNN_OPENBLAS_OPENMP
      DNN_OPENBLAS_OPENMP,
#endif
      "libopenblas.so.0", "libopenblas.so"};
  void *h = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++)
    h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  if (!h) {
    blas.status = dnn_error(DNN_ERR_UNSUPPORTED, "matmul: cannot load OpenBLAS (%s); install libopenblas0", dlerror());
    return;
  }
  blas.sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
  blas.dgemm = (dgemm_fn)dlsym(h, "cblas_dgemm");
  blas.set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
  blas.corename = (char *(*)(void))dlsym(h, "openblas_get_corename");
  if (!blas.sgemm || !blas.dgemm || !blas.set_threads)
    blas.status = dnn_error(DNN_ERR_UNSUPPORTED, "matmul: the loaded OpenBLAS lacks cblas_sgemm/dgemm");
  else
    blas.status = DNN_OK;
  if (blas.set_threads) blas.set_threads(dnn_get_num_threads());
}

dnn_status dnn_blas_load(void) {
  pthread_once(&blas_once, load);
  if (blas.status != DNN_OK) return dnn_error(blas.status, "matmul: OpenBLAS is not available");
  return DNN_OK;
}

void dnn_blas_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc) {
  blas.sgemm(ROW_MAJOR, ta ? DNN_BLAS_TRANS : DNN_BLAS_NOTRANS, tb ? DNN_BLAS_TRANS : DNN_BLAS_NOTRANS, m, n, k,
             alpha, a, lda, b, ldb, beta, c, ldc);
}

void dnn_blas_dgemm(bool ta, bool tb, int m, int n, int k, double alpha, const double *a, int lda,
                    const double *b, int ldb, double beta, double *c, int ldc) {
  blas.dgemm(ROW_MAJOR, ta ? DNN_BLAS_TRANS : DNN_BLAS_NOTRANS, tb ? DNN_BLAS_TRANS : DNN_BLAS_NOTRANS, m, n, k,
             alpha, a, lda, b, ldb, beta, c, ldc);
}

void dnn_blas_set_num_threads(int n) {
  /* before the first matmul there is nothing loaded to tell; load() applies it */
  if (blas.set_threads) blas.set_threads(n);
}

const char *dnn_blas_corename(void) {
  if (dnn_blas_load() != DNN_OK) return blas.error;
  return blas.corename ? blas.corename() : "unknown";
}
