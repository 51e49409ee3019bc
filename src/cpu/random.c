/* Random fills from Philox blocks: element i of a draw uses block
 * offset + i / per_block, so any split across threads gives the same values. */
#include <math.h>

#include "backend_cpu.h"
#include "iter.h"

typedef struct {
  const dnn_op_args *a;
  dnn_dtype dt;
  char *out;
} rnd_ctx;

static inline double u01_from32(uint32_t r) { return (r >> 8) * (1.0 / 16777216.0); }   /* [0,1), 24 bits */
static inline double u01_from64(uint64_t r) { return (r >> 11) * (1.0 / 9007199254740992.0); } /* 53 bits */

static void store(dnn_dtype dt, char *out, int64_t i, double v) {
  switch (dt) {
    case DNN_FLOAT32: ((float *)out)[i] = (float)v; break;
    case DNN_FLOAT64: ((double *)out)[i] = v; break;
    case DNN_INT32: ((int32_t *)out)[i] = (int32_t)v; break;
    case DNN_INT64: ((int64_t *)out)[i] = (int64_t)v; break;
    default: ((uint8_t *)out)[i] = (uint8_t)(v != 0 ? (dt == DNN_BOOL ? 1 : (int64_t)v) : 0); break;
  }
}

/* Blocks [b, e) of the draw. */
static void fill_blocks(void *vctx, int64_t b, int64_t e) {
  rnd_ctx *c = vctx;
  const dnn_op_args *a = c->a;
  int64_t n = dnn_numel(a->out);
  uint32_t r[4];
  for (int64_t blk = b; blk < e; blk++) {
    dnn_philox(a->seed, a->offset + (uint64_t)blk, r);
    uint64_t w0 = (uint64_t)r[1] << 32 | r[0], w1 = (uint64_t)r[3] << 32 | r[2];
    switch (a->op) {
      case DNN_OP_NORMAL: { /* Box-Muller: two normals per block */
        double u1 = 1.0 - u01_from64(w0), u2 = u01_from64(w1); /* u1 in (0, 1] */
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        int64_t i = blk * 2;
        if (i < n) store(c->dt, c->out, i, a->s0 + a->s1 * rad * cos(th));
        if (i + 1 < n) store(c->dt, c->out, i + 1, a->s0 + a->s1 * rad * sin(th));
        break;
      }
      case DNN_OP_RANDINT: { /* two 64-bit draws per block, Lemire's multiply-shift */
        uint64_t range = (uint64_t)((int64_t)a->s1 - (int64_t)a->s0);
        uint64_t w[2] = {w0, w1};
        for (int k = 0; k < 2; k++) {
          int64_t i = blk * 2 + k;
          if (i >= n) break;
          int64_t v = (int64_t)a->s0 + (int64_t)(((unsigned __int128)w[k] * range) >> 64);
          store(c->dt, c->out, i, (double)v);
        }
        break;
      }
      default: { /* UNIFORM, BERNOULLI */
        if (c->dt == DNN_FLOAT64 && a->op == DNN_OP_UNIFORM) {
          uint64_t w[2] = {w0, w1};
          for (int k = 0; k < 2; k++) {
            int64_t i = blk * 2 + k;
            if (i < n) store(c->dt, c->out, i, a->s0 + (a->s1 - a->s0) * u01_from64(w[k]));
          }
        } else {
          for (int k = 0; k < 4; k++) {
            int64_t i = blk * 4 + k;
            if (i >= n) break;
            double u = u01_from32(r[k]);
            store(c->dt, c->out, i, a->op == DNN_OP_UNIFORM ? a->s0 + (a->s1 - a->s0) * u : (u < a->s0));
          }
        }
        break;
      }
    }
  }
}

dnn_status cpu_random(const dnn_op_args *a) {
  rnd_ctx c = {a, (dnn_dtype)a->out->dtype, dnn_data_ptr(a->out)};
  int64_t n = dnn_numel(a->out);
  int64_t per = dnn_rng_values_per_block(a->op, c.dt);
  int64_t nblocks = (n + per - 1) / per;
  cpu_parallel_for(nblocks, 16, fill_blocks, &c);
  return DNN_OK;
}
