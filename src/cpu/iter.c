#include "iter.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void cpu_iter_init(cpu_iter *it, int nops, const dnn_tensor *const *ts) {
  const dnn_tensor *t0 = ts[0];
  it->nops = nops;
  it->numel = dnn_numel(t0);
  for (int k = 0; k < nops; k++)
    it->base[k] = (char *)ts[k]->storage->data + ts[k]->offset * (int64_t)dnn_dtype_size((dnn_dtype)ts[k]->dtype);
  it->ndim = dnn_coalesce_dims(nops, ts, true, it->shape, it->strides);
}

/* Processes flat elements [begin, end). */
static void run_range(const cpu_iter *it, cpu_row_fn fn, void *ctx, int64_t begin, int64_t end) {
  int nd = it->ndim, last = nd - 1;
  int64_t inner = it->shape[last];
  int64_t idx[DNN_MAX_DIMS];
  int64_t row = begin / inner, col = begin % inner;
  for (int d = last - 1; d >= 0; d--) {
    idx[d] = row % it->shape[d];
    row /= it->shape[d];
  }
  idx[last] = col;
  char *ptrs[CPU_ITER_MAX_OPS];
  int64_t inner_strides[CPU_ITER_MAX_OPS];
  for (int k = 0; k < it->nops; k++) inner_strides[k] = it->strides[k][last];
  int64_t pos = begin;
  while (pos < end) {
    for (int k = 0; k < it->nops; k++) {
      char *p = it->base[k];
      for (int d = 0; d < nd; d++) p += idx[d] * it->strides[k][d];
      ptrs[k] = p;
    }
    int64_t n = inner - idx[last];
    if (n > end - pos) n = end - pos;
    fn(ctx, n, ptrs, inner_strides);
    pos += n;
    /* advance the multi-index to the next row start */
    idx[last] = 0;
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < it->shape[d]) break;
      idx[d] = 0;
    }
  }
}

void cpu_iter_run(const cpu_iter *it, cpu_row_fn fn, void *ctx, int grain_scale) {
  int64_t n = it->numel;
  if (n == 0) return;
  int nthreads = dnn_get_num_threads();
  if (nthreads <= 1 || n < (int64_t)DNN_PARALLEL_GRAIN * (grain_scale > 0 ? grain_scale : 1)) {
    run_range(it, fn, ctx, 0, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
  {
    int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t b = tid * chunk, e = b + chunk < n ? b + chunk : n;
    if (b < e) run_range(it, fn, ctx, b, e);
  }
#else
  run_range(it, fn, ctx, 0, n);
#endif
}

void cpu_parallel_for(int64_t n, int64_t cost, void (*fn)(void *ctx, int64_t begin, int64_t end),
                      void *ctx) {
  if (n <= 0) return;
  int nthreads = dnn_get_num_threads();
  if (nthreads <= 1 || n * (cost > 0 ? cost : 1) < DNN_PARALLEL_GRAIN || n == 1) {
    fn(ctx, 0, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
  {
    int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t b = tid * chunk, e = b + chunk < n ? b + chunk : n;
    if (b < e) fn(ctx, b, e);
  }
#else
  fn(ctx, 0, n);
#endif
}
