/* Batch and layer normalisation kernels with cpu/nn_norm.c's contracts and
 * arithmetic (statistics in double, coefficients rounded to T once).
 *
 * Batch norm sees x as (outer, C, inner) with C the feature axis.  Channel
 * sums run in two stages: blocks of (32 channels x 8 row-threads) sum a fixed
 * chunk of rows each into a partial buffer, then one thread per channel adds
 * the chunks in order, so the result does not depend on the launch.
 *
 * Layer norm sees x as (rows, D): a block per row; the gamma/beta gradients
 * are column sums taken by (32 columns x 8 row-threads) blocks over all rows
 * in a fixed order. */
#include <math.h>

#include "elementwise.cuh"

namespace {

#define BN_TX 32
#define BN_TY 8
#define BN_MAX_CHUNKS 256

struct bn_geom {
  int64_t outer, C, inner, rpc, nchunks;
};

bn_geom bn_geometry(const dnn_tensor *x, int dim) {
  bn_geom g;
  g.outer = 1, g.inner = 1;
  for (int d = 0; d < dim; d++) g.outer *= x->shape[d];
  for (int d = dim + 1; d < x->ndim; d++) g.inner *= x->shape[d];
  g.C = x->shape[dim];
  g.rpc = (g.outer + BN_MAX_CHUNKS - 1) / BN_MAX_CHUNKS;
  if (g.rpc < 1) g.rpc = 1;
  g.nchunks = (g.outer + g.rpc - 1) / g.rpc;
  return g;
}

/* mode 0: acc0 = sum x; mode 1: acc0 = sum (x - mean)^2;
 * mode 2: acc0 = sum g, acc1 = sum g (x - mean).  part: nchunks x (2C). */
template <typename T>
__global__ void bn_partial(int mode, const T *X, const T *G, bn_geom g, const double *mean, double *part) {
  __shared__ double s0[BN_TY][BN_TX], s1[BN_TY][BN_TX];
  int tx = threadIdx.x, ty = threadIdx.y;
  int64_t ch = blockIdx.y * (int64_t)BN_TX + tx, k = blockIdx.x;
  double a0 = 0, a1 = 0;
  if (ch < g.C) {
    double m = mean ? mean[ch] : 0.0;
    int64_t o1 = (k + 1) * g.rpc < g.outer ? (k + 1) * g.rpc : g.outer;
    for (int64_t o = k * g.rpc + ty; o < o1; o += BN_TY) {
      const T *x = X + (o * g.C + ch) * g.inner;
      const T *gg = G ? G + (o * g.C + ch) * g.inner : NULL;
      for (int64_t i = 0; i < g.inner; i++) {
        if (mode == 0) {
          a0 += (double)x[i];
        } else if (mode == 1) {
          double d = (double)x[i] - m;
          a0 += d * d;
        } else {
          a0 += (double)gg[i];
          a1 += (double)gg[i] * ((double)x[i] - m);
        }
      }
    }
  }
  s0[ty][tx] = a0;
  s1[ty][tx] = a1;
  __syncthreads();
  for (int s = BN_TY / 2; s > 0; s >>= 1) {
    if (ty < s) {
      s0[ty][tx] += s0[ty + s][tx];
      s1[ty][tx] += s1[ty + s][tx];
    }
    __syncthreads();
  }
  if (ty == 0 && ch < g.C) {
    part[k * 2 * g.C + ch] = s0[0][tx];
    part[k * 2 * g.C + g.C + ch] = s1[0][tx];
  }
}

/* sums[j] = sum over chunks of part[k][j], j < 2C, chunks in order */
__global__ void bn_combine(const double *part, int64_t nchunks, int64_t C2, double *sums) {
  CU_GRID_STRIDE(j, C2) {
    double s = 0;
    for (int64_t k = 0; k < nchunks; k++) s += part[k * C2 + j];
    sums[j] = s;
  }
}

__global__ void bn_mean(const double *sums, int64_t C, double n, double *mean) {
  CU_GRID_STRIDE(c, C) mean[c] = sums[c] / n;
}

template <typename T>
__global__ void bn_store_stats(const double *mean, const double *sq, int64_t C, double n, T *out) {
  CU_GRID_STRIDE(c, C) {
    out[c] = (T)mean[c];
    out[C + c] = (T)(sq[c] / n);
  }
}

/* coef[c] = scale, coef[C + c] = shift (in T), from stats (2, C) */
template <typename T>
__global__ void bn_coef(const T *st, const T *gm, const T *bt, int64_t C, double eps, T *coef) {
  CU_GRID_STRIDE(c, C) {
    double inv = 1.0 / sqrt((double)st[C + c] + eps);
    double sc = inv * (gm ? (double)gm[c] : 1.0);
    coef[c] = (T)sc;
    coef[C + c] = (T)((bt ? (double)bt[c] : 0.0) - (double)st[c] * sc);
  }
}

template <typename T>
__global__ void bn_affine(const T *X, T *Y, bn_geom g, const T *coef) {
  int64_t total = g.outer * g.C * g.inner;
  CU_GRID_STRIDE(e, total) {
    int64_t c = (e / g.inner) % g.C;
    Y[e] = X[e] * coef[c] + coef[g.C + c];
  }
}

/* backward coefficients: k1, k2, k3, mean (in T), and dgamma/dbeta */
template <typename T>
__global__ void bn_bwd_coef(const T *st, const T *gm, const double *sums, int64_t C, double eps, double n, bool training,
                            T *coef, T *dp) {
  CU_GRID_STRIDE(c, C) {
    double inv = 1.0 / sqrt((double)st[C + c] + eps);
    if (dp) {
      dp[c] = (T)(sums[C + c] * inv);
      dp[C + c] = (T)sums[c];
    }
    if (coef) {
      double k1 = inv * (gm ? (double)gm[c] : 1.0);
      coef[c] = (T)k1;
      coef[C + c] = training ? (T)(sums[c] / n) : (T)0;
      coef[2 * C + c] = training ? (T)(inv * inv * sums[C + c] / n) : (T)0;
      coef[3 * C + c] = st[c];
    }
  }
}

template <typename T>
__global__ void bn_dx(const T *G, const T *X, T *DX, bn_geom g, const T *coef) {
  int64_t total = g.outer * g.C * g.inner, C = g.C;
  CU_GRID_STRIDE(e, total) {
    int64_t c = (e / g.inner) % C;
    DX[e] = coef[c] * (G[e] - coef[C + c] - (X[e] - coef[3 * C + c]) * coef[2 * C + c]);
  }
}

__global__ void copy_mean(const void *st, dnn_dtype dt, int64_t C, double *mean) {
  CU_GRID_STRIDE(c, C) mean[c] = dt == DNN_FLOAT32 ? (double)((const float *)st)[c] : ((const double *)st)[c];
}

/* ---- layer norm ---- */

#define LN_THREADS 256

template <typename T>
__global__ void ln_fwd(const T *X, const T *gm, const T *bt, T *Y, T *ST, int64_t rows, int64_t D, double eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *x = X + r * D;
    T *y = Y + r * D;
    double s = 0;
    for (int64_t j = threadIdx.x; j < D; j += LN_THREADS) s += (double)x[j];
    s = cu_block_sum<LN_THREADS>(s);
    double mean = D ? s / (double)D : 0;
    double v = 0;
    for (int64_t j = threadIdx.x; j < D; j += LN_THREADS) v += ((double)x[j] - mean) * ((double)x[j] - mean);
    v = cu_block_sum<LN_THREADS>(v);
    double inv = 1.0 / sqrt((D ? v / (double)D : 0) + eps);
    T m = (T)mean, iv = (T)inv;
    for (int64_t j = threadIdx.x; j < D; j += LN_THREADS) {
      T h = (x[j] - m) * iv;
      y[j] = (gm ? h * gm[j] : h) + (bt ? bt[j] : (T)0);
    }
    if (threadIdx.x == 0) {
      ST[2 * r] = m;
      ST[2 * r + 1] = iv;
    }
  }
}

template <typename T>
__global__ void ln_dx(const T *G, const T *X, const T *ST, const T *gm, T *DX, int64_t rows, int64_t D) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *g = G + r * D, *x = X + r * D;
    T *dx = DX + r * D, m = ST[2 * r], iv = ST[2 * r + 1];
    double s1 = 0, s2 = 0;
    for (int64_t j = threadIdx.x; j < D; j += LN_THREADS) {
      T gh = gm ? g[j] * gm[j] : g[j];
      s1 += (double)gh;
      s2 += (double)(gh * (x[j] - m) * iv);
    }
    s1 = cu_block_sum<LN_THREADS>(s1);
    s2 = cu_block_sum<LN_THREADS>(s2);
    T m1 = (T)(s1 / (double)D), m2 = (T)(s2 / (double)D);
    for (int64_t j = threadIdx.x; j < D; j += LN_THREADS) {
      T gh = gm ? g[j] * gm[j] : g[j];
      dx[j] = iv * (gh - m1 - (x[j] - m) * iv * m2);
    }
  }
}

/* DP (2, D): dgamma = sum g xhat, dbeta = sum g */
template <typename T>
__global__ void ln_dp(const T *G, const T *X, const T *ST, T *DP, int64_t rows, int64_t D) {
  __shared__ double a[8][32], b[8][32];
  int tx = threadIdx.x, ty = threadIdx.y;
  int64_t tiles = (D + 31) / 32;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    int64_t j = t * 32 + tx;
    double sg = 0, sgx = 0;
    if (j < D)
      for (int64_t r = ty; r < rows; r += 8) {
        T gv = G[r * D + j];
        sg += (double)gv;
        sgx += (double)(gv * ((X[r * D + j] - ST[2 * r]) * ST[2 * r + 1]));
      }
    a[ty][tx] = sgx;
    b[ty][tx] = sg;
    __syncthreads();
    for (int s = 4; s > 0; s >>= 1) {
      if (ty < s) {
        a[ty][tx] += a[ty + s][tx];
        b[ty][tx] += b[ty + s][tx];
      }
      __syncthreads();
    }
    if (ty == 0 && j < D) {
      DP[j] = (T)a[0][tx];
      DP[D + j] = (T)b[0][tx];
    }
    __syncthreads();
  }
}

const void *ptr_or_null(const dnn_tensor *t) { return t ? dnn_data_ptr(t) : NULL; }

template <typename T>
dnn_status bn_stats(const char *name, cuda_ctx *c, const dnn_op_args *a) {
  bn_geom g = bn_geometry(a->in[0], a->dim);
  int64_t C = g.C;
  if (C == 0) return DNN_OK;
  dnn_device dev = dnn_tensor_device(a->in[0]);
  size_t n_part = (size_t)(g.nchunks * 2 * C), n_all = n_part + 3 * (size_t)C * 2;
  double *buf = (double *)cuda_scratch_alloc(name, n_all * sizeof(double), dev);
  if (!buf) return dnn_error_code();
  double *part = buf, *sums = part + n_part, *mean = sums + 2 * C, *sq = mean + 2 * C;
  double n = (double)(g.outer * g.inner);
  dim3 grid((unsigned)(g.nchunks ? g.nchunks : 1), (unsigned)((C + BN_TX - 1) / BN_TX)), blk(BN_TX, BN_TY);
  unsigned cg = cuda_grid(2 * C, CU_THREADS, c);
  const T *X = (const T *)dnn_data_ptr(a->in[0]);
  bn_partial<T><<<grid, blk, 0, c->stream>>>(0, X, NULL, g, NULL, part);
  bn_combine<<<cg, CU_THREADS, 0, c->stream>>>(part, g.nchunks, 2 * C, sums);
  bn_mean<<<cg, CU_THREADS, 0, c->stream>>>(sums, C, n, mean);
  bn_partial<T><<<grid, blk, 0, c->stream>>>(1, X, NULL, g, mean, part);
  bn_combine<<<cg, CU_THREADS, 0, c->stream>>>(part, g.nchunks, 2 * C, sq);
  bn_store_stats<T><<<cg, CU_THREADS, 0, c->stream>>>(mean, sq, C, n, (T *)dnn_data_ptr(a->out));
  cudaError_t e = cudaGetLastError();
  cuda_scratch_free(buf, dev);
  return e == cudaSuccess ? DNN_OK : cuda_fail(name, "batch_norm_stats kernels", e);
}

template <typename T>
dnn_status bn_apply(const char *name, cuda_ctx *c, const dnn_op_args *a) {
  bn_geom g = bn_geometry(a->in[0], a->dim);
  int64_t C = g.C, total = g.outer * C * g.inner;
  if (total == 0) return DNN_OK;
  dnn_device dev = dnn_tensor_device(a->in[0]);
  T *coef = (T *)cuda_scratch_alloc(name, (size_t)(2 * C) * sizeof(T), dev);
  if (!coef) return dnn_error_code();
  bn_coef<T><<<cuda_grid(C, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
      (const T *)dnn_data_ptr(a->in[1]), (const T *)ptr_or_null(a->in[2]), (const T *)ptr_or_null(a->in[3]), C,
      a->s0, coef);
  bn_affine<T><<<cuda_grid(total, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
      (const T *)dnn_data_ptr(a->in[0]), (T *)dnn_data_ptr(a->out), g, coef);
  cudaError_t e = cudaGetLastError();
  cuda_scratch_free(coef, dev);
  return e == cudaSuccess ? DNN_OK : cuda_fail(name, "batch_norm kernels", e);
}

template <typename T>
dnn_status bn_backward(const char *name, cuda_ctx *c, const dnn_op_args *a) {
  bn_geom g = bn_geometry(a->in[1], a->dim);
  int64_t C = g.C, total = g.outer * C * g.inner;
  if (C == 0) return DNN_OK;
  bool training = a->flag;
  double n = (double)(g.outer * g.inner);
  dnn_device dev = dnn_tensor_device(a->in[1]);
  size_t n_part = (size_t)(g.nchunks * 2 * C);
  double *buf = (double *)cuda_scratch_alloc(name, (n_part + 3 * (size_t)C) * sizeof(double) + 4 * (size_t)C * sizeof(T),
                                             dev);
  if (!buf) return dnn_error_code();
  double *part = buf, *sums = part + n_part, *mean = sums + 2 * C;
  T *coef = (T *)(mean + C);
  const T *st = (const T *)dnn_data_ptr(a->in[2]);
  unsigned cg = cuda_grid(2 * C, CU_THREADS, c);
  copy_mean<<<cg, CU_THREADS, 0, c->stream>>>(st, (dnn_dtype)a->in[2]->dtype, C, mean);
  if (training || a->out2) {
    dim3 grid((unsigned)(g.nchunks ? g.nchunks : 1), (unsigned)((C + BN_TX - 1) / BN_TX)), blk(BN_TX, BN_TY);
    bn_partial<T><<<grid, blk, 0, c->stream>>>(2, (const T *)dnn_data_ptr(a->in[1]),
                                               (const T *)dnn_data_ptr(a->in[0]), g, mean, part);
    bn_combine<<<cg, CU_THREADS, 0, c->stream>>>(part, g.nchunks, 2 * C, sums);
  } else {
    CU_CHECK(name, cudaMemsetAsync(sums, 0, 2 * (size_t)C * sizeof(double), c->stream));
  }
  bn_bwd_coef<T><<<cg, CU_THREADS, 0, c->stream>>>(st, (const T *)ptr_or_null(a->in[3]), sums, C, a->s0, n, training,
                                                   a->out ? coef : NULL, (T *)ptr_or_null(a->out2));
  if (a->out && total > 0)
    bn_dx<T><<<cuda_grid(total, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
        (const T *)dnn_data_ptr(a->in[0]), (const T *)dnn_data_ptr(a->in[1]), (T *)dnn_data_ptr(a->out), g, coef);
  cudaError_t e = cudaGetLastError();
  cuda_scratch_free(buf, dev);
  return e == cudaSuccess ? DNN_OK : cuda_fail(name, "batch_norm_backward kernels", e);
}

unsigned row_grid(int64_t rows, const cuda_ctx *c) {
  int64_t cap = (int64_t)c->sm_count * 8;
  return (unsigned)(rows < 1 ? 1 : rows < cap ? rows : cap);
}

}  // namespace

dnn_status cu_batch_norm_stats(const dnn_op_args *a) {
  const char *name = "batch_norm";
  cuda_ctx *c = cuda_ctx_of(name, a->in[0]);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  return a->in[0]->dtype == DNN_FLOAT32 ? bn_stats<float>(name, c, a) : bn_stats<double>(name, c, a);
}

dnn_status cu_batch_norm(const dnn_op_args *a) {
  const char *name = "batch_norm";
  cuda_ctx *c = cuda_ctx_of(name, a->in[0]);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[5] = {a->out, a->in[0], a->in[1], a->in[2], a->in[3]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 5, ts));
  return a->in[0]->dtype == DNN_FLOAT32 ? bn_apply<float>(name, c, a) : bn_apply<double>(name, c, a);
}

dnn_status cu_batch_norm_backward(const dnn_op_args *a) {
  const char *name = "batch_norm_backward";
  cuda_ctx *c = cuda_ctx_of(name, a->in[1]);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[6] = {a->out, a->out2, a->in[0], a->in[1], a->in[2], a->in[3]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 6, ts));
  return a->in[1]->dtype == DNN_FLOAT32 ? bn_backward<float>(name, c, a) : bn_backward<double>(name, c, a);
}

/* in {x (rows, D), gamma|NULL, beta|NULL}; out y, out2 (rows, 2); s0 = eps. */
dnn_status cu_layer_norm(const dnn_op_args *a) {
  const char *name = "layer_norm";
  const dnn_tensor *x = a->in[0];
  cuda_ctx *c = cuda_ctx_of(name, x);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[5] = {a->out, a->out2, x, a->in[1], a->in[2]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 5, ts));
  int64_t rows = x->shape[0], D = x->shape[1];
  if (rows == 0) return DNN_OK;
  if (x->dtype == DNN_FLOAT32)
    ln_fwd<float><<<row_grid(rows, c), LN_THREADS, 0, c->stream>>>(
        (const float *)dnn_data_ptr(x), (const float *)ptr_or_null(a->in[1]), (const float *)ptr_or_null(a->in[2]),
        (float *)dnn_data_ptr(a->out), (float *)dnn_data_ptr(a->out2), rows, D, a->s0);
  else
    ln_fwd<double><<<row_grid(rows, c), LN_THREADS, 0, c->stream>>>(
        (const double *)dnn_data_ptr(x), (const double *)ptr_or_null(a->in[1]), (const double *)ptr_or_null(a->in[2]),
        (double *)dnn_data_ptr(a->out), (double *)dnn_data_ptr(a->out2), rows, D, a->s0);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in {g, x, stats, gamma|NULL} (rows, D); out = dx or NULL, out2 = (2, D) or NULL. */
dnn_status cu_layer_norm_backward(const dnn_op_args *a) {
  const char *name = "layer_norm_backward";
  const dnn_tensor *x = a->in[1];
  cuda_ctx *c = cuda_ctx_of(name, x);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[6] = {a->out, a->out2, a->in[0], x, a->in[2], a->in[3]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 6, ts));
  int64_t rows = x->shape[0], D = x->shape[1];
  bool f32 = x->dtype == DNN_FLOAT32;
  if (a->out && rows > 0) {
    if (f32)
      ln_dx<float><<<row_grid(rows, c), LN_THREADS, 0, c->stream>>>(
          (const float *)dnn_data_ptr(a->in[0]), (const float *)dnn_data_ptr(x), (const float *)dnn_data_ptr(a->in[2]),
          (const float *)ptr_or_null(a->in[3]), (float *)dnn_data_ptr(a->out), rows, D);
    else
      ln_dx<double><<<row_grid(rows, c), LN_THREADS, 0, c->stream>>>(
          (const double *)dnn_data_ptr(a->in[0]), (const double *)dnn_data_ptr(x),
          (const double *)dnn_data_ptr(a->in[2]), (const double *)ptr_or_null(a->in[3]),
          (double *)dnn_data_ptr(a->out), rows, D);
    CU_CHECK_LAUNCH(name);
  }
  if (a->out2 && D > 0) {
    int64_t tiles = (D + 31) / 32;
    unsigned grid = (unsigned)(tiles < (int64_t)c->sm_count * 8 ? tiles : (int64_t)c->sm_count * 8);
    if (f32)
      ln_dp<float><<<grid, dim3(32, 8), 0, c->stream>>>((const float *)dnn_data_ptr(a->in[0]),
                                                        (const float *)dnn_data_ptr(x),
                                                        (const float *)dnn_data_ptr(a->in[2]),
                                                        (float *)dnn_data_ptr(a->out2), rows, D);
    else
      ln_dp<double><<<grid, dim3(32, 8), 0, c->stream>>>((const double *)dnn_data_ptr(a->in[0]),
                                                         (const double *)dnn_data_ptr(x),
                                                         (const double *)dnn_data_ptr(a->in[2]),
                                                         (double *)dnn_data_ptr(a->out2), rows, D);
    CU_CHECK_LAUNCH(name);
  }
  return DNN_OK;
}
