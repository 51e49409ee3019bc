/* Random fills and dropout from Philox4x32-10 blocks, bit for bit the
 * streams of core/rng.c and cpu/random.c / cpu/nn_dropout.c: element i of a
 * draw uses block offset + i / per_block under the global seed, so a tensor
 * filled on the GPU holds the values the CPU would have drawn, whatever the
 * launch shape (the counter-based design's point).  Only the libm calls of
 * normal() (log, cos, sin in double) may differ in the last ulp. */
#include "elementwise.cuh"
#include "core/philox.h"

namespace {

__device__ __forceinline__ double u01_from32(uint32_t r) { return (r >> 8) * (1.0 / 16777216.0); }
__device__ __forceinline__ double u01_from64(uint64_t r) { return (r >> 11) * (1.0 / 9007199254740992.0); }
__device__ __forceinline__ float u01f_from32(uint32_t r) { return (float)(r >> 8) * (1.0f / 16777216.0f); }

__device__ __forceinline__ void store(dnn_dtype dt, void *out, int64_t i, double v) {
  switch (dt) {
    case DNN_FLOAT32: ((float *)out)[i] = (float)v; break;
    case DNN_FLOAT64: ((double *)out)[i] = v; break;
    case DNN_INT32: ((int32_t *)out)[i] = (int32_t)v; break;
    case DNN_INT64: ((int64_t *)out)[i] = (int64_t)v; break;
    default: ((uint8_t *)out)[i] = (uint8_t)(v != 0 ? (dt == DNN_BOOL ? 1 : (int64_t)v) : 0); break;
  }
}

/* One thread per Philox block. */
__global__ void random_kernel(int op, dnn_dtype dt, void *out, int64_t n, int64_t nblocks, uint64_t seed,
                              uint64_t offset, double s0, double s1) {
  CU_GRID_STRIDE(blk, nblocks) {
    uint32_t r[4];
    dnn_philox_block(seed, offset + (uint64_t)blk, r);
    uint64_t w0 = (uint64_t)r[1] << 32 | r[0], w1 = (uint64_t)r[3] << 32 | r[2];
    if (op == DNN_OP_NORMAL) { /* Box-Muller: two normals per block */
      double u1 = 1.0 - u01_from64(w0), u2 = u01_from64(w1);
      double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
      int64_t i = blk * 2;
      if (i < n) store(dt, out, i, s0 + s1 * rad * cos(th));
      if (i + 1 < n) store(dt, out, i + 1, s0 + s1 * rad * sin(th));
    } else if (op == DNN_OP_RANDINT) { /* Lemire's multiply-shift on 64-bit draws */
      uint64_t range = (uint64_t)((int64_t)s1 - (int64_t)s0);
      uint64_t w[2] = {w0, w1};
      for (int k = 0; k < 2; k++) {
        int64_t i = blk * 2 + k;
        if (i >= n) break;
        int64_t v = (int64_t)s0 + (int64_t)__umul64hi(w[k], range);
        store(dt, out, i, (double)v);
      }
    } else if (dt == DNN_FLOAT64 && op == DNN_OP_UNIFORM) {
      uint64_t w[2] = {w0, w1};
      for (int k = 0; k < 2; k++) {
        int64_t i = blk * 2 + k;
        if (i < n) store(dt, out, i, s0 + (s1 - s0) * u01_from64(w[k]));
      }
    } else { /* UNIFORM (float32), BERNOULLI: four 24-bit uniforms per block */
      for (int k = 0; k < 4; k++) {
        int64_t i = blk * 4 + k;
        if (i >= n) break;
        double u = u01_from32(r[k]);
        store(dt, out, i, op == DNN_OP_UNIFORM ? s0 + (s1 - s0) * u : (double)(u < s0));
      }
    }
  }
}

template <typename T>
__global__ void dropout_kernel(const T *x, T *o, int64_t n, uint64_t seed, uint64_t offset, float rate, T scale) {
  int64_t nblocks = (n + 3) / 4;
  CU_GRID_STRIDE(blk, nblocks) {
    uint32_t r[4];
    dnn_philox_block(seed, offset + (uint64_t)blk, r);
    int64_t i0 = blk * 4, m = n - i0 < 4 ? n - i0 : 4;
    for (int64_t k = 0; k < m; k++) o[i0 + k] = u01f_from32(r[k]) >= rate ? x[i0 + k] * scale : (T)0;
  }
}

}  // namespace

/* out contiguous; seed/offset: the reserved counters; s0, s1 the op's scalars. */
dnn_status cu_random(const dnn_op_args *a) {
  const char *name = dnn_op_name(a->op);
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[1] = {a->out};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 1, ts));
  if (!dnn_is_contiguous(a->out)) return dnn_error(DNN_ERR_INTERNAL, "%s: expects a contiguous result", name);
  dnn_dtype dt = (dnn_dtype)a->out->dtype;
  int64_t n = dnn_numel(a->out);
  if (n == 0) return DNN_OK;
  int64_t per = dnn_rng_values_per_block(a->op, dt);
  int64_t nblocks = (n + per - 1) / per;
  random_kernel<<<cuda_grid(nblocks, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
      (int)a->op, dt, dnn_data_ptr(a->out), n, nblocks, a->seed, a->offset, a->s0, a->s1);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] x; out; s0 = rate, seed, offset (src/dnn/nn.h). */
dnn_status cu_dropout(const dnn_op_args *a) {
  const char *name = "dropout";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  int64_t n = dnn_numel(a->out);
  if (n == 0) return DNN_OK;
  unsigned grid = cuda_grid((n + 3) / 4, CU_THREADS, c);
  if (a->out->dtype == DNN_FLOAT32)
    dropout_kernel<float><<<grid, CU_THREADS, 0, c->stream>>>((const float *)dnn_data_ptr(a->in[0]),
                                                              (float *)dnn_data_ptr(a->out), n, a->seed, a->offset,
                                                              (float)a->s0, (float)(1.0 / (1.0 - a->s0)));
  else
    dropout_kernel<double><<<grid, CU_THREADS, 0, c->stream>>>((const double *)dnn_data_ptr(a->in[0]),
                                                               (double *)dnn_data_ptr(a->out), n, a->seed,
                                                               a->offset, (float)a->s0, 1.0 / (1.0 - a->s0));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* core/philox.h as nvcc compiles it (the same body runs in the kernels)
 * checked against the C compiler's dnn_philox on the host: number of
 * mismatching words over a spread of seeds and counters.  Runs without a
 * GPU. */
extern "C" int dnn_cuda_philox_mismatches(void) {
  int bad = 0;
  const uint64_t seeds[3] = {0, 42, 0x9E3779B97F4A7C15ull};
  for (int s = 0; s < 3; s++)
    for (uint64_t ctr = 0; ctr < 4096; ctr = ctr * 3 + 1) {
      uint32_t a[4], b[4];
      dnn_philox_block(seeds[s], ctr << 20 | ctr, a);
      dnn_philox(seeds[s], ctr << 20 | ctr, b);
      for (int k = 0; k < 4; k++) bad += a[k] != b[k];
    }
  return bad;
}
