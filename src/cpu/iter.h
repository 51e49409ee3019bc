/* Strided iteration over operands of one shape (broadcast already folded into
 * zero strides).  Dims are coalesced so contiguous data becomes one flat row,
 * then rows are handed to a row kernel; large loops are split across threads
 * by flat element ranges, so the split does not depend on the shape. */
#ifndef DNN_CPU_ITER_H
#define DNN_CPU_ITER_H

#include "../core/internal.h"

#define CPU_ITER_MAX_OPS 4

typedef struct {
  int nops;
  int ndim;                                   /* after coalescing, >= 1 */
  int64_t shape[DNN_MAX_DIMS];
  int64_t strides[CPU_ITER_MAX_OPS][DNN_MAX_DIMS]; /* bytes */
  char *base[CPU_ITER_MAX_OPS];
  int64_t numel;
} cpu_iter;

/* Row kernel: n elements, one pointer and one byte stride per operand. */
typedef void (*cpu_row_fn)(void *ctx, int64_t n, char **ptrs, const int64_t *strides);

/* Operands must all have `ndim`/`shape` as their shape (strides may be 0). */
void cpu_iter_init(cpu_iter *it, int nops, const dnn_tensor *const *ts);
/* Runs fn over every element; threads when numel >= DNN_PARALLEL_GRAIN * grain_scale. */
void cpu_iter_run(const cpu_iter *it, cpu_row_fn fn, void *ctx, int grain_scale);

/* Parallel for over [0, n) in chunks; serial when n * cost < DNN_PARALLEL_GRAIN. */
void cpu_parallel_for(int64_t n, int64_t cost, void (*fn)(void *ctx, int64_t begin, int64_t end),
                      void *ctx);

#endif
