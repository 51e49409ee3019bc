/* One knob for the engine's threads: our OpenMP loops and OpenBLAS. */
#ifdef _OPENMP
#include <omp.h>
#endif
#include "dnn.h"

#include "../cpu/blas.h"

static int num_threads = 0; /* 0 = not yet chosen */

void dnn_set_num_threads(int n) {
  if (n < 1) n = 1;
  num_threads = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  dnn_blas_set_num_threads(n);
}

int dnn_get_num_threads(void) {
  if (num_threads == 0) {
#ifdef _OPENMP
    num_threads = omp_get_max_threads();
#else
    num_threads = 1;
#endif
  }
  return num_threads;
}
