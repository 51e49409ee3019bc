/* Inverted dropout from Philox blocks: element i is kept when word i%4 of
 * block (offset + i/4) is >= rate as a 24-bit uniform.  The mask is a pure
 * function of (seed, offset, i), so threads may split blocks freely and the
 * backward pass regenerates it instead of storing it. */
#include "iter.h"
#include "kernels_nn.h"
#include "nn_act.h"

typedef struct {
  const dnn_op_args *a;
  int64_t n;
} drop_ctx;

#define DROP_KERNEL(T, S)                                                                 \
  static void drop_blocks_##S(void *vc, int64_t b, int64_t e) {                           \
    drop_ctx *c = vc;                                                                     \
    const dnn_op_args *a = c->a;                                                          \
    const T *x = dnn_data_ptr(a->in[0]);                                                  \
    T *o = dnn_data_ptr(a->out);                                                          \
    float rate = (float)a->s0;                                                            \
    T scale = (T)(1.0 / (1.0 - a->s0));                                                   \
    uint32_t r[4];                                                                        \
    for (int64_t blk = b; blk < e; blk++) {                                               \
      dnn_philox(a->seed, a->offset + (uint64_t)blk, r);                                  \
      int64_t i0 = blk * 4, m = c->n - i0 < 4 ? c->n - i0 : 4;                            \
      for (int64_t k = 0; k < m; k++)                                                     \
        o[i0 + k] = nn_u01_from32(r[k]) >= rate ? x[i0 + k] * scale : (T)0;               \
    }                                                                                     \
  }
DROP_KERNEL(float, f32)
DROP_KERNEL(double, f64)

dnn_status cpu_nn_dropout(const dnn_op_args *a) {
  drop_ctx c = {a, dnn_numel(a->out)};
  cpu_parallel_for((c.n + 3) / 4, 40, a->out->dtype == DNN_FLOAT32 ? drop_blocks_f32 : drop_blocks_f64, &c);
  return DNN_OK;
}
