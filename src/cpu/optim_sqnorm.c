/* OPTIM_SQNORM on the CPU: the sum of squares of a contiguous float tensor,
 * in float64.  The tensor is cut into blocks whose size depends only on its
 * length; threads take whole blocks and the block sums are added in order,
 * so the result is the same for any thread count. */
#include "backend_cpu.h"
#include "iter.h"
#include "kernels_optim.h"

#define MAX_BLOCKS 1024
#define MIN_BLOCK 8192

typedef struct {
  const void *x;
  bool f32;
  int64_t n, block;
  double part[MAX_BLOCKS];
} sq_ctx;

/* Eight running sums let the loop vectorise without reassociating. */
#define SUMSQ(T)                                                           \
  static double sumsq_##T(const T *x, int64_t n) {                        \
    double acc[8] = {0};                                                   \
    int64_t i = 0;                                                         \
    for (; i + 8 <= n; i += 8)                                             \
      for (int k = 0; k < 8; k++) acc[k] += (double)x[i + k] * (double)x[i + k]; \
    double s = 0;                                                          \
    for (; i < n; i++) s += (double)x[i] * (double)x[i];                   \
    for (int k = 0; k < 8; k++) s += acc[k];                               \
    return s;                                                              \
  }
SUMSQ(float)
SUMSQ(double)

static void sq_blocks(void *vctx, int64_t b, int64_t e) {
  sq_ctx *c = vctx;
  for (int64_t k = b; k < e; k++) {
    int64_t lo = k * c->block, len = c->n - lo < c->block ? c->n - lo : c->block;
    c->part[k] = c->f32 ? sumsq_float((const float *)c->x + lo, len)
                        : sumsq_double((const double *)c->x + lo, len);
  }
}

dnn_status cpu_optim_sqnorm(const dnn_op_args *a) {
  const dnn_tensor *t = a->in[0];
  if (!dnn_is_contiguous(t) || !dnn_dtype_is_float((dnn_dtype)t->dtype) || a->out->dtype != DNN_FLOAT64)
    return dnn_error(DNN_ERR_INTERNAL, "optim_sqnorm: expects a contiguous float tensor and a float64 result");
  sq_ctx c = {.x = dnn_data_ptr(t), .f32 = t->dtype == DNN_FLOAT32, .n = dnn_numel(t)};
  c.block = (c.n + MAX_BLOCKS - 1) / MAX_BLOCKS;
  if (c.block < MIN_BLOCK) c.block = MIN_BLOCK;
  int64_t nblocks = (c.n + c.block - 1) / c.block;
  cpu_parallel_for(nblocks, c.block, sq_blocks, &c);
  double s = 0;
  for (int64_t k = 0; k < nblocks; k++) s += c.part[k];
  *(double *)dnn_data_ptr(a->out) = s;
  return DNN_OK;
}
