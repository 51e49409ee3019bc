/* Batch and layer normalisation kernels.
 *
 * Batch norm sees x as (outer, C, inner) with C the feature axis (inner = 1
 * for channels-last).  Per-channel sums are taken over fixed chunks of outer
 * rows into a partial buffer, then added chunk by chunk: the result does not
 * depend on how many threads ran the chunks.  Statistics accumulate in double.
 *
 * Layer norm sees x as (rows, D): rows are independent (threads split rows);
 * the gamma/beta gradients are column sums, split by column blocks. */
#include <math.h>
#include <stdlib.h>

#include "iter.h"
#include "kernels_nn.h"

#define CHUNK_ELEMS 16384

typedef struct {
  const dnn_op_args *a;
  int64_t outer, C, inner, rows_per_chunk;
  double *partial; /* nchunks x (nacc * C) */
  const double *mean; /* per channel (double) */
  const void *tcoef;  /* per-channel coefficients in the element type, blocks of C */
  int nacc;
} bn_ctx;

static void bn_geometry(bn_ctx *c, const dnn_tensor *x, int dim) {
  c->outer = 1, c->inner = 1;
  for (int d = 0; d < dim; d++) c->outer *= x->shape[d];
  for (int d = dim + 1; d < x->ndim; d++) c->inner *= x->shape[d];
  c->C = x->shape[dim];
  int64_t per_row = c->C * c->inner > 0 ? c->C * c->inner : 1;
  c->rows_per_chunk = CHUNK_ELEMS / per_row > 0 ? CHUNK_ELEMS / per_row : 1;
}

static int64_t bn_nchunks(const bn_ctx *c) { return (c->outer + c->rows_per_chunk - 1) / c->rows_per_chunk; }

/* Sums the chunks' partials in chunk order into out (nacc * C). */
static void bn_combine(const bn_ctx *c, double *out) {
  int64_t n = c->nacc * c->C, nch = bn_nchunks(c);
  for (int64_t j = 0; j < n; j++) out[j] = 0;
  for (int64_t k = 0; k < nch; k++)
    for (int64_t j = 0; j < n; j++) out[j] += c->partial[k * n + j];
}

#define BN_KERNELS(T, S, F)                                                               \
  /* chunk sums: acc[c] += x (pass 0) or (x - mean)^2 (pass 1, c->mean set) */            \
  static void bn_stats_chunk_##S(void *vc, int64_t b, int64_t e) {                        \
    bn_ctx *c = vc;                                                                       \
    const T *X = dnn_data_ptr(c->a->in[0]);                                               \
    int64_t C = c->C, in = c->inner;                                                      \
    for (int64_t k = b; k < e; k++) {                                                     \
      double *acc = c->partial + k * C;                                                   \
      for (int64_t ch = 0; ch < C; ch++) acc[ch] = 0;                                     \
      int64_t o1 = (k + 1) * c->rows_per_chunk;                                           \
      if (o1 > c->outer) o1 = c->outer;                                                   \
      for (int64_t o = k * c->rows_per_chunk; o < o1; o++) {                              \
        const T *x = X + o * C * in;                                                      \
        if (in == 1) {                                                                    \
          if (c->mean)                                                                    \
            for (int64_t ch = 0; ch < C; ch++) {                                          \
              double d = x[ch] - c->mean[ch];                                             \
              acc[ch] += d * d;                                                           \
            }                                                                             \
          else                                                                            \
            for (int64_t ch = 0; ch < C; ch++) acc[ch] += x[ch];                          \
        } else {                                                                          \
          for (int64_t ch = 0; ch < C; ch++) {                                            \
            const T *xr = x + ch * in;                                                    \
            double s = 0;                                                                 \
            if (c->mean) {                                                                \
              double m = c->mean[ch];                                                     \
              for (int64_t i = 0; i < in; i++) s += (xr[i] - m) * (xr[i] - m);            \
            } else {                                                                      \
              for (int64_t i = 0; i < in; i++) s += xr[i];                                \
            }                                                                             \
            acc[ch] += s;                                                                 \
          }                                                                               \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  /* y = x * coef[c] + coef[C + c] over rows [b, e) */                                    \
  static void bn_affine_rows_##S(void *vc, int64_t b, int64_t e) {                        \
    bn_ctx *c = vc;                                                                       \
    const T *X = dnn_data_ptr(c->a->in[0]);                                               \
    T *Y = dnn_data_ptr(c->a->out);                                                       \
    int64_t C = c->C, in = c->inner;                                                      \
    const T *sc = c->tcoef, *sh = sc + C;     \
    for (int64_t o = b; o < e; o++) {                                                     \
      const T *x = X + o * C * in;                                                        \
      T *y = Y + o * C * in;                                                              \
      if (in == 1)                                                                        \
        for (int64_t ch = 0; ch < C; ch++) y[ch] = x[ch] * sc[ch] + sh[ch];               \
      else                                                                                \
        for (int64_t ch = 0; ch < C; ch++)                                                \
          for (int64_t i = 0; i < in; i++) y[ch * in + i] = x[ch * in + i] * sc[ch] + sh[ch]; \
    }                                                                                     \
  }                                                                                       \
  /* chunk sums for backward: acc[c] = sum g, acc[C + c] = sum g (x - mean) */            \
  static void bn_grad_chunk_##S(void *vc, int64_t b, int64_t e) {                         \
    bn_ctx *c = vc;                                                                       \
    const T *G = dnn_data_ptr(c->a->in[0]), *X = dnn_data_ptr(c->a->in[1]);               \
    int64_t C = c->C, in = c->inner;                                                      \
    for (int64_t k = b; k < e; k++) {                                                     \
      double *sg = c->partial + k * 2 * C, *sgx = sg + C;                                 \
      for (int64_t ch = 0; ch < 2 * C; ch++) sg[ch] = 0;                                  \
      int64_t o1 = (k + 1) * c->rows_per_chunk;                                           \
      if (o1 > c->outer) o1 = c->outer;                                                   \
      for (int64_t o = k * c->rows_per_chunk; o < o1; o++) {                              \
        const T *g = G + o * C * in, *x = X + o * C * in;                                 \
        for (int64_t ch = 0; ch < C; ch++) {                                              \
          double m = c->mean[ch], s0 = 0, s1 = 0;                                         \
          for (int64_t i = 0; i < in; i++) {                                              \
            s0 += g[ch * in + i];                                                         \
            s1 += g[ch * in + i] * (x[ch * in + i] - m);                                  \
          }                                                                               \
          sg[ch] += s0;                                                                   \
          sgx[ch] += s1;                                                                  \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  /* dx = k1 (g - k2 - (x - mean) k3), coefficients per channel in coef (T) */            \
  static void bn_dx_rows_##S(void *vc, int64_t b, int64_t e) {                            \
    bn_ctx *c = vc;                                                                       \
    const T *G = dnn_data_ptr(c->a->in[0]), *X = dnn_data_ptr(c->a->in[1]);               \
    T *DX = dnn_data_ptr(c->a->out);                                                      \
    int64_t C = c->C, in = c->inner;                                                      \
    const T *k1 = c->tcoef, *k2 = k1 + C, *k3 = k2 + C, *mu = k3 + C;           \
    for (int64_t o = b; o < e; o++) {                                                     \
      const T *g = G + o * C * in, *x = X + o * C * in;                                   \
      T *dx = DX + o * C * in;                                                            \
      if (in == 1)                                                                        \
        for (int64_t ch = 0; ch < C; ch++)                                                \
          dx[ch] = k1[ch] * (g[ch] - k2[ch] - (x[ch] - mu[ch]) * k3[ch]);                 \
      else                                                                                \
        for (int64_t ch = 0; ch < C; ch++)                                                \
          for (int64_t i = 0; i < in; i++)                                                \
            dx[ch * in + i] = k1[ch] * (g[ch * in + i] - k2[ch] - (x[ch * in + i] - mu[ch]) * k3[ch]); \
    }                                                                                     \
  }                                                                                       \
  static dnn_status bn_stats_##S(const dnn_op_args *a) {                                  \
    bn_ctx c = {.a = a, .nacc = 1};                                                       \
    bn_geometry(&c, a->in[0], a->dim);                                                    \
    int64_t C = c.C, nch = bn_nchunks(&c);                                                \
    c.partial = malloc(sizeof(double) * (size_t)((nch + 2) * C + 1));                     \
    if (!c.partial) return dnn_error(DNN_ERR_MEMORY, "batch_norm: out of memory");        \
    double *mean = c.partial + nch * C, *var = mean + C;                                  \
    double n = (double)(c.outer * c.inner);                                               \
    cpu_parallel_for(nch, CHUNK_ELEMS, bn_stats_chunk_##S, &c);                           \
    bn_combine(&c, mean);                                                                 \
    for (int64_t ch = 0; ch < C; ch++) mean[ch] /= n;                                     \
    c.mean = mean;                                                                        \
    cpu_parallel_for(nch, CHUNK_ELEMS, bn_stats_chunk_##S, &c);                           \
    bn_combine(&c, var);                                                                  \
    T *out = dnn_data_ptr(a->out);                                                        \
    for (int64_t ch = 0; ch < C; ch++) {                                                  \
      out[ch] = (T)mean[ch];                                                              \
      out[C + ch] = (T)(var[ch] / n);                                                     \
    }                                                                                     \
    free(c.partial);                                                                      \
    return DNN_OK;                                                                        \
  }                                                                                       \
  static dnn_status bn_apply_##S(const dnn_op_args *a) {                                  \
    bn_ctx c = {.a = a};                                                                  \
    bn_geometry(&c, a->in[0], a->dim);                                                    \
    int64_t C = c.C;                                                                      \
    const T *st = dnn_data_ptr(a->in[1]);                                                 \
    const T *gm = a->in[2] ? (const T *)dnn_data_ptr(a->in[2]) : NULL;                    \
    const T *bt = a->in[3] ? (const T *)dnn_data_ptr(a->in[3]) : NULL;                    \
    T *coef = malloc(sizeof(T) * (size_t)(2 * C + 1));                                    \
    if (!coef) return dnn_error(DNN_ERR_MEMORY, "batch_norm: out of memory");             \
    for (int64_t ch = 0; ch < C; ch++) {                                                  \
      double inv = 1.0 / sqrt((double)st[C + ch] + a->s0);                                \
      double sc = inv * (gm ? gm[ch] : 1.0);                                              \
      coef[ch] = (T)sc;                                                                   \
      coef[C + ch] = (T)((bt ? bt[ch] : 0.0) - st[ch] * sc);                              \
    }                                                                                     \
    c.tcoef = coef;                                                   \
    cpu_parallel_for(c.outer, C * c.inner, bn_affine_rows_##S, &c);                       \
    free(coef);                                                                           \
    return DNN_OK;                                                                        \
  }                                                                                       \
  static dnn_status bn_backward_##S(const dnn_op_args *a) {                               \
    bn_ctx c = {.a = a, .nacc = 2};                                                       \
    bn_geometry(&c, a->in[1], a->dim);                                                    \
    int64_t C = c.C, nch = bn_nchunks(&c);                                                \
    const T *st = dnn_data_ptr(a->in[2]);                                                 \
    const T *gm = a->in[3] ? (const T *)dnn_data_ptr(a->in[3]) : NULL;                    \
    bool training = a->flag;                                                              \
    double n = (double)(c.outer * c.inner);                                               \
    c.partial = malloc(sizeof(double) * (size_t)((2 * nch + 4) * C + 1));                 \
    T *coef = malloc(sizeof(T) * (size_t)(4 * C + 1));                                    \
    if (!c.partial || !coef) {                                                            \
      free(c.partial);                                                                    \
      free(coef);                                                                         \
      return dnn_error(DNN_ERR_MEMORY, "batch_norm: out of memory");                      \
    }                                                                                     \
    double *mean = c.partial + 2 * nch * C, *inv = mean + C, *sums = inv + C;             \
    for (int64_t ch = 0; ch < C; ch++) {                                                  \
      mean[ch] = st[ch];                                                                  \
      inv[ch] = 1.0 / sqrt((double)st[C + ch] + a->s0);                                   \
    }                                                                                     \
    c.mean = mean;                                                                        \
    if (training || a->out2) {                                                            \
      cpu_parallel_for(nch, CHUNK_ELEMS, bn_grad_chunk_##S, &c);                          \
      bn_combine(&c, sums); /* sums[c] = sum g, sums[C + c] = sum g (x - mean) */         \
    }                                                                                     \
    if (a->out2) {                                                                        \
      T *dp = dnn_data_ptr(a->out2);                                                      \
      for (int64_t ch = 0; ch < C; ch++) {                                                \
        dp[ch] = (T)(sums[C + ch] * inv[ch]);                                             \
        dp[C + ch] = (T)sums[ch];                                                         \
      }                                                                                   \
    }                                                                                     \
    if (a->out) {                                                                         \
      for (int64_t ch = 0; ch < C; ch++) {                                                \
        double k1 = inv[ch] * (gm ? gm[ch] : 1.0);                                        \
        coef[ch] = (T)k1;                                                                 \
        coef[C + ch] = training ? (T)(sums[ch] / n) : (T)0;                               \
        coef[2 * C + ch] = training ? (T)(inv[ch] * inv[ch] * sums[C + ch] / n) : (T)0;   \
        coef[3 * C + ch] = (T)mean[ch];                                                   \
      }                                                                                   \
      c.tcoef = coef;                                        \
      cpu_parallel_for(c.outer, C * c.inner * 2, bn_dx_rows_##S, &c);                     \
    }                                                                                     \
    free(c.partial);                                                                      \
    free(coef);                                                                           \
    return DNN_OK;                                                                        \
  }
BN_KERNELS(float, f32, f)
BN_KERNELS(double, f64, )

dnn_status cpu_nn_batch_norm_stats(const dnn_op_args *a) {
  return a->in[0]->dtype == DNN_FLOAT32 ? bn_stats_f32(a) : bn_stats_f64(a);
}
dnn_status cpu_nn_batch_norm(const dnn_op_args *a) {
  return a->in[0]->dtype == DNN_FLOAT32 ? bn_apply_f32(a) : bn_apply_f64(a);
}
dnn_status cpu_nn_batch_norm_backward(const dnn_op_args *a) {
  return a->in[1]->dtype == DNN_FLOAT32 ? bn_backward_f32(a) : bn_backward_f64(a);
}

/* ---- layer norm ---- */

typedef struct {
  const dnn_op_args *a;
  int64_t rows, D;
} ln_ctx;

#define LN_KERNELS(T, S, F)                                                               \
  static void ln_fwd_rows_##S(void *vc, int64_t b, int64_t e) {                           \
    ln_ctx *c = vc;                                                                       \
    const dnn_op_args *a = c->a;                                                          \
    int64_t D = c->D;                                                                     \
    const T *X = dnn_data_ptr(a->in[0]);                                                  \
    const T *gm = a->in[1] ? (const T *)dnn_data_ptr(a->in[1]) : NULL;                    \
    const T *bt = a->in[2] ? (const T *)dnn_data_ptr(a->in[2]) : NULL;                    \
    T *Y = dnn_data_ptr(a->out), *ST = dnn_data_ptr(a->out2);                             \
    for (int64_t r = b; r < e; r++) {                                                     \
      const T *x = X + r * D;                                                             \
      T *y = Y + r * D;                                                                   \
      double s = 0, v = 0;                                                                \
      for (int64_t j = 0; j < D; j++) s += x[j];                                          \
      double mean = D ? s / (double)D : 0;                                                \
      for (int64_t j = 0; j < D; j++) v += (x[j] - mean) * (x[j] - mean);                 \
      double inv = 1.0 / sqrt((D ? v / (double)D : 0) + a->s0);                           \
      T m = (T)mean, iv = (T)inv;                                                         \
      for (int64_t j = 0; j < D; j++) {                                                   \
        T h = (x[j] - m) * iv;                                                            \
        y[j] = (gm ? h * gm[j] : h) + (bt ? bt[j] : (T)0);                                \
      }                                                                                   \
      ST[2 * r] = m;                                                                      \
      ST[2 * r + 1] = iv;                                                                 \
    }                                                                                     \
  }                                                                                       \
  static void ln_dx_rows_##S(void *vc, int64_t b, int64_t e) {                            \
    ln_ctx *c = vc;                                                                       \
    const dnn_op_args *a = c->a;                                                          \
    int64_t D = c->D;                                                                     \
    const T *G = dnn_data_ptr(a->in[0]), *X = dnn_data_ptr(a->in[1]), *ST = dnn_data_ptr(a->in[2]); \
    const T *gm = a->in[3] ? (const T *)dnn_data_ptr(a->in[3]) : NULL;                    \
    T *DX = dnn_data_ptr(a->out);                                                         \
    for (int64_t r = b; r < e; r++) {                                                     \
      const T *g = G + r * D, *x = X + r * D;                                             \
      T *dx = DX + r * D, m = ST[2 * r], iv = ST[2 * r + 1];                              \
      double s1 = 0, s2 = 0;                                                              \
      for (int64_t j = 0; j < D; j++) {                                                   \
        T gh = gm ? g[j] * gm[j] : g[j];                                                  \
        s1 += gh;                                                                         \
        s2 += gh * (x[j] - m) * iv;                                                       \
      }                                                                                   \
      T m1 = (T)(s1 / (double)D), m2 = (T)(s2 / (double)D);                               \
      for (int64_t j = 0; j < D; j++) {                                                   \
        T gh = gm ? g[j] * gm[j] : g[j];                                                  \
        dx[j] = iv * (gh - m1 - (x[j] - m) * iv * m2);                                    \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  /* column blocks [b, e) of 256: dgamma = sum g xhat, dbeta = sum g, rows in order */   \
  static void ln_dp_blocks_##S(void *vc, int64_t b, int64_t e) {                          \
    ln_ctx *c = vc;                                                                       \
    const dnn_op_args *a = c->a;                                                          \
    int64_t D = c->D;                                                                     \
    const T *G = dnn_data_ptr(a->in[0]), *X = dnn_data_ptr(a->in[1]), *ST = dnn_data_ptr(a->in[2]); \
    T *DP = dnn_data_ptr(a->out2);                                                        \
    for (int64_t blk = b; blk < e; blk++) {                                               \
      int64_t lo = blk * 256, hi = lo + 256 < D ? lo + 256 : D;                           \
      double sg[256] = {0}, sgx[256] = {0};                                               \
      for (int64_t r = 0; r < c->rows; r++) {                                             \
        const T *g = G + r * D, *x = X + r * D;                                           \
        T m = ST[2 * r], iv = ST[2 * r + 1];                                              \
        for (int64_t j = lo; j < hi; j++) {                                               \
          sg[j - lo] += g[j];                                                             \
          sgx[j - lo] += g[j] * ((x[j] - m) * iv);                                        \
        }                                                                                 \
      }                                                                                   \
      for (int64_t j = lo; j < hi; j++) {                                                 \
        DP[j] = (T)sgx[j - lo];                                                           \
        DP[D + j] = (T)sg[j - lo];                                                        \
      }                                                                                   \
    }                                                                                     \
  }
LN_KERNELS(float, f32, f)
LN_KERNELS(double, f64, )

dnn_status cpu_nn_layer_norm(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0];
  ln_ctx c = {a, x->shape[0], x->shape[1]};
  cpu_parallel_for(c.rows, c.D * 4, x->dtype == DNN_FLOAT32 ? ln_fwd_rows_f32 : ln_fwd_rows_f64, &c);
  return DNN_OK;
}

dnn_status cpu_nn_layer_norm_backward(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[1];
  ln_ctx c = {a, x->shape[0], x->shape[1]};
  bool f32 = x->dtype == DNN_FLOAT32;
  if (a->out) cpu_parallel_for(c.rows, c.D * 4, f32 ? ln_dx_rows_f32 : ln_dx_rows_f64, &c);
  if (a->out2) cpu_parallel_for((c.D + 255) / 256, c.rows * 256 * 2, f32 ? ln_dp_blocks_f32 : ln_dp_blocks_f64, &c);
  return DNN_OK;
}
