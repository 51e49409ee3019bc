/* 2-d convolution and pooling, channels-last, with src/dnn/conv.h's argument
 * blocks.  Convolution is im2col + cuBLAS: the Keras kernel (kh, kw, Cin/g,
 * Cout) is already the row-major (kh*kw*Cin/g, Cout) matrix, so a group's
 * output is col (rows, kh*kw*Cin/g) @ kernel columns; a 1x1 stride-1 layer
 * multiplies x itself.  Images go through in chunks so the col buffer stays
 * bounded.  The input gradient gathers each input cell's taps from
 * grad @ kernel^T (no atomics: deterministic), the kernel gradient is
 * col^T @ grad summed over chunks, the bias gradient column sums in a fixed
 * order.
 * Pooling: a thread per output cell for the forward; the backward gathers,
 * per input cell, the windows that cover it in output order, which adds in
 * the CPU kernel's order.
 *
 * With cuDNN (DNN_HAVE_CUDNN) float32 convolutions (forward, data and filter
 * gradients) and pooling forwards go to cuDNN first (cudnn_conv.cu,
 * cudnn_pool.cu); these kernels run whenever a route declines (float64,
 * asymmetric "same" padding, max pooling that must return its argmax, every
 * pooling backward, ...: see cudnn_route.cuh) and in builds without cuDNN.
 * A 1x1 stride-1 convolution stays one cuBLAS GEMM either way; the bias and
 * its gradient are always our kernels. */
#include <type_traits>

#include "elementwise.cuh"
#include "cudnn_route.cuh"

namespace {

#define COL_BYTES_MAX ((size_t)256 << 20)

struct conv_geom {
  int64_t N, H, W, C, OH, OW, Co, kh, kw, sh, sw, pt, pl, dh, dw, groups, Cg, Cog, K;
};

conv_geom conv_geometry(const dnn_op_args *a, const dnn_tensor *x_like, const dnn_tensor *y_like,
                        const int64_t *kshape) {
  conv_geom g;
  g.N = x_like->shape[0], g.H = x_like->shape[1], g.W = x_like->shape[2], g.C = x_like->shape[3];
  g.OH = y_like->shape[1], g.OW = y_like->shape[2], g.Co = y_like->shape[3];
  g.kh = kshape[0], g.kw = kshape[1];
  g.sh = a->dims[DNN_CONV_SH], g.sw = a->dims[DNN_CONV_SW];
  g.pt = a->dims[DNN_CONV_PT], g.pl = a->dims[DNN_CONV_PL];
  g.dh = a->dims[DNN_CONV_DH], g.dw = a->dims[DNN_CONV_DW];
  g.groups = a->dims[DNN_CONV_GROUPS] > 0 ? a->dims[DNN_CONV_GROUPS] : 1;
  g.Cg = g.C / g.groups, g.Cog = g.Co / g.groups;
  g.K = g.kh * g.kw * g.Cg;
  return g;
}

/* col (rows, K) for images [n0, n0 + nimg), group grp */
template <typename T>
__global__ void im2col(const T *x, T *col, conv_geom g, int64_t n0, int64_t rows, int64_t grp) {
  int64_t total = rows * g.K;
  CU_GRID_STRIDE(e, total) {
    int64_t r = e / g.K, k = e % g.K;
    int64_t ci = k % g.Cg, tap = k / g.Cg, kx = tap % g.kw, ky = tap / g.kw;
    int64_t ox = r % g.OW, t = r / g.OW, oy = t % g.OH, n = n0 + t / g.OH;
    int64_t iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
    col[e] = (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) ? x[((n * g.H + iy) * g.W + ix) * g.C + grp * g.Cg + ci]
                                                         : (T)0;
  }
}

/* dx cells of images [n0, n0 + nimg), group grp, from dcol (rows, K) */
template <typename T>
__global__ void col2im(const T *dcol, T *dx, conv_geom g, int64_t n0, int64_t nimg, int64_t grp) {
  int64_t total = nimg * g.H * g.W * g.Cg;
  CU_GRID_STRIDE(e, total) {
    int64_t ci = e % g.Cg, t = e / g.Cg, ix = t % g.W, t2 = t / g.W, iy = t2 % g.H, nl = t2 / g.H;
    double acc = 0;
    for (int64_t ky = 0; ky < g.kh; ky++) {
      int64_t ny = iy + g.pt - ky * g.dh;
      if (ny < 0 || ny % g.sh) continue;
      int64_t oy = ny / g.sh;
      if (oy >= g.OH) continue;
      for (int64_t kx = 0; kx < g.kw; kx++) {
        int64_t nx = ix + g.pl - kx * g.dw;
        if (nx < 0 || nx % g.sw) continue;
        int64_t ox = nx / g.sw;
        if (ox >= g.OW) continue;
        int64_t r = (nl * g.OH + oy) * g.OW + ox;
        acc += (double)dcol[r * g.K + (ky * g.kw + kx) * g.Cg + ci];
      }
    }
    dx[(((n0 + nl) * g.H + iy) * g.W + ix) * g.C + grp * g.Cg + ci] = (T)acc;
  }
}

template <typename T>
__global__ void add_bias(T *out, const T *bias, int64_t rows, int64_t Co) {
  CU_GRID_STRIDE(e, rows * Co) out[e] += bias[e % Co];
}

/* sums (Co) of the columns of g (M, Co), rows in a fixed order */
template <typename T>
__global__ void column_sums(const T *g, T *out, int64_t M, int64_t N) {
  __shared__ double sh[8][32];
  int tx = threadIdx.x, ty = threadIdx.y;
  int64_t tiles = (N + 31) / 32;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    int64_t j = t * 32 + tx;
    double acc = 0;
    if (j < N)
      for (int64_t i = ty; i < M; i += 8) acc += (double)g[i * N + j];
    sh[ty][tx] = acc;
    __syncthreads();
    for (int s = 4; s > 0; s >>= 1) {
      if (ty < s) sh[ty][tx] += sh[ty + s][tx];
      __syncthreads();
    }
    if (ty == 0 && j < N) out[j] = (T)sh[0][tx];
    __syncthreads();
  }
}

int64_t images_per_chunk(const conv_geom &g, size_t es) {
  size_t per = (size_t)(g.OH * g.OW * g.K) * es;
  if (per == 0) return g.N > 0 ? g.N : 1;
  int64_t n = (int64_t)(COL_BYTES_MAX / per);
  if (n < 1) n = 1;
  return n < g.N ? n : g.N;
}

bool is_pointwise(const conv_geom &g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.groups == 1 &&
         g.OH == g.H && g.OW == g.W;
}

#ifdef DNN_HAVE_CUDNN
cudnn_conv_geom cudnn_geometry(const conv_geom &g) {
  return cudnn_conv_geom{g.N, g.H, g.W, g.C, g.OH, g.OW, g.Co, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.groups};
}
#endif

template <typename T>
dnn_status conv_forward(const char *name, cuda_ctx *c, const dnn_op_args *a, const conv_geom &g) {
  dnn_dtype dt = (dnn_dtype)a->out->dtype;
  const T *x = (const T *)dnn_data_ptr(a->in[0]), *w = (const T *)dnn_data_ptr(a->in[1]);
  T *y = (T *)dnn_data_ptr(a->out);
  int64_t M = g.N * g.OH * g.OW;
  if (M == 0 || g.Co == 0) return DNN_OK;
  bool done = false;
#ifdef DNN_HAVE_CUDNN
  if constexpr (std::is_same<T, float>::value)
    if (!is_pointwise(g)) DNN_RETURN_IF_ERR(cudnn_conv2d_forward(name, c, cudnn_geometry(g), x, w, y, &done));
#endif
  if (done) {
    /* cuDNN wrote y */
  } else if (is_pointwise(g)) {
    DNN_RETURN_IF_ERR(cu_gemm(name, c, dt, 1, M, g.Co, g.C, x, 0, g.C, 1, w, 0, g.Co, 1, y, 0, g.Co, 1.0, 0.0));
  } else {
    dnn_device dev = dnn_tensor_device(a->out);
    int64_t per = images_per_chunk(g, sizeof(T));
    T *col = (T *)cuda_scratch_alloc(name, (size_t)(per * g.OH * g.OW * (g.K ? g.K : 1)) * sizeof(T), dev);
    if (!col) return dnn_error_code();
    dnn_status st = DNN_OK;
    for (int64_t n0 = 0; st == DNN_OK && n0 < g.N; n0 += per) {
      int64_t nimg = g.N - n0 < per ? g.N - n0 : per, rows = nimg * g.OH * g.OW;
      for (int64_t grp = 0; st == DNN_OK && grp < g.groups; grp++) {
        if (g.K > 0) {
          im2col<T><<<cuda_grid(rows * g.K, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(x, col, g, n0, rows, grp);
          cudaError_t e = cudaGetLastError();
          if (e != cudaSuccess) st = cuda_fail(name, "im2col launch", e);
        }
        if (st == DNN_OK)
          st = cu_gemm(name, c, dt, 1, rows, g.Cog, g.K, col, 0, g.K, 1, w + grp * g.Cog, 0, g.Co, 1,
                       y + n0 * g.OH * g.OW * g.Co + grp * g.Cog, 0, g.Co, 1.0, 0.0);
      }
    }
    cuda_scratch_free(col, dev);
    DNN_RETURN_IF_ERR(st);
  }
  if (a->in[2]) {
    add_bias<T><<<cuda_grid(M * g.Co, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
        y, (const T *)dnn_data_ptr(a->in[2]), M, g.Co);
    CU_CHECK_LAUNCH(name);
  }
  return DNN_OK;
}

template <typename T>
dnn_status conv_input_grad(const char *name, cuda_ctx *c, const dnn_op_args *a, const conv_geom &g) {
  dnn_dtype dt = (dnn_dtype)a->out->dtype;
  const T *gy = (const T *)dnn_data_ptr(a->in[0]), *w = (const T *)dnn_data_ptr(a->in[1]);
  T *dx = (T *)dnn_data_ptr(a->out);
  int64_t M = g.N * g.OH * g.OW;
  if (g.N * g.H * g.W * g.C == 0) return DNN_OK;
  if (is_pointwise(g)) /* dx (M, C) = gy (M, Co) @ w^T (Co, C) */
    return cu_gemm(name, c, dt, 1, M, g.C, g.Co, gy, 0, g.Co, 1, w, 0, 1, g.Co, dx, 0, g.C, 1.0, 0.0);
#ifdef DNN_HAVE_CUDNN
  if constexpr (std::is_same<T, float>::value) {
    bool done = false;
    DNN_RETURN_IF_ERR(cudnn_conv2d_backward_data(name, c, cudnn_geometry(g), gy, w, dx, &done));
    if (done) return DNN_OK;
  }
#endif
  dnn_device dev = dnn_tensor_device(a->out);
  int64_t per = images_per_chunk(g, sizeof(T));
  T *dcol = (T *)cuda_scratch_alloc(name, (size_t)(per * g.OH * g.OW * (g.K ? g.K : 1)) * sizeof(T), dev);
  if (!dcol) return dnn_error_code();
  dnn_status st = DNN_OK;
  for (int64_t n0 = 0; st == DNN_OK && n0 < g.N; n0 += per) {
    int64_t nimg = g.N - n0 < per ? g.N - n0 : per, rows = nimg * g.OH * g.OW;
    for (int64_t grp = 0; st == DNN_OK && grp < g.groups; grp++) {
      /* dcol (rows, K) = gy_g (rows, Cog) @ w_g^T (Cog, K) */
      st = cu_gemm(name, c, dt, 1, rows, g.K, g.Cog, gy + n0 * g.OH * g.OW * g.Co + grp * g.Cog, 0, g.Co, 1,
                   w + grp * g.Cog, 0, 1, g.Co, dcol, 0, g.K, 1.0, 0.0);
      if (st != DNN_OK) break;
      int64_t cells = nimg * g.H * g.W * g.Cg;
      if (cells > 0) {
        col2im<T><<<cuda_grid(cells, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(dcol, dx, g, n0, nimg, grp);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) st = cuda_fail(name, "col2im launch", e);
      }
    }
  }
  cuda_scratch_free(dcol, dev);
  return st;
}

template <typename T>
dnn_status conv_kernel_grad(const char *name, cuda_ctx *c, const dnn_op_args *a, const conv_geom &g) {
  dnn_dtype dt = (dnn_dtype)a->in[0]->dtype;
  const T *x = (const T *)dnn_data_ptr(a->in[0]), *gy = (const T *)dnn_data_ptr(a->in[1]);
  int64_t M = g.N * g.OH * g.OW;
  if (a->out2 && g.Co > 0) {
    int64_t tiles = (g.Co + 31) / 32;
    unsigned grid = (unsigned)(tiles < (int64_t)c->sm_count * 8 ? tiles : (int64_t)c->sm_count * 8);
    column_sums<T><<<grid, dim3(32, 8), 0, c->stream>>>(gy, (T *)dnn_data_ptr(a->out2), M, g.Co);
    CU_CHECK_LAUNCH(name);
  }
  if (!a->out) return DNN_OK;
  T *dw = (T *)dnn_data_ptr(a->out);
  if (g.K == 0 || g.Co == 0) return DNN_OK;
  if (is_pointwise(g)) /* dw (C, Co) = x^T (C, M) @ gy (M, Co) */
    return cu_gemm(name, c, dt, 1, g.C, g.Co, M, x, 0, 1, g.C, gy, 0, g.Co, 1, dw, 0, g.Co, 1.0, 0.0);
#ifdef DNN_HAVE_CUDNN
  if constexpr (std::is_same<T, float>::value) {
    bool done = false;
    DNN_RETURN_IF_ERR(cudnn_conv2d_backward_filter(name, c, cudnn_geometry(g), x, gy, dw, &done));
    if (done) return DNN_OK;
  }
#endif
  dnn_device dev = dnn_tensor_device(a->in[0]);
  int64_t per = images_per_chunk(g, sizeof(T));
  T *col = (T *)cuda_scratch_alloc(name, (size_t)(per * g.OH * g.OW * g.K) * sizeof(T), dev);
  if (!col) return dnn_error_code();
  dnn_status st = DNN_OK;
  if (g.N == 0) { /* no rows: the gradient is zero */
    cudaError_t e = cudaMemsetAsync(dw, 0, (size_t)(g.K * g.Co) * sizeof(T), c->stream);
    if (e != cudaSuccess) st = cuda_fail(name, "cudaMemsetAsync", e);
  }
  for (int64_t n0 = 0; st == DNN_OK && n0 < g.N; n0 += per) {
    int64_t nimg = g.N - n0 < per ? g.N - n0 : per, rows = nimg * g.OH * g.OW;
    for (int64_t grp = 0; st == DNN_OK && grp < g.groups; grp++) {
      im2col<T><<<cuda_grid(rows * g.K, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(x, col, g, n0, rows, grp);
      cudaError_t e = cudaGetLastError();
      if (e != cudaSuccess) {
        st = cuda_fail(name, "im2col launch", e);
        break;
      }
      /* dw_g (K, Cog) (+)= col^T (K, rows) @ gy_g (rows, Cog) */
      st = cu_gemm(name, c, dt, 1, g.K, g.Cog, rows, col, 0, 1, g.K, gy + n0 * g.OH * g.OW * g.Co + grp * g.Cog, 0,
                   g.Co, 1, dw + grp * g.Cog, 0, g.Co, 1.0, n0 > 0 ? 1.0 : 0.0);
    }
  }
  cuda_scratch_free(col, dev);
  return st;
}

/* ---- pooling ---- */

struct pool_geom {
  int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl;
  bool adaptive;
};

pool_geom pool_geometry(const dnn_op_args *a, const dnn_tensor *in, const dnn_tensor *out) {
  pool_geom g;
  g.n = in->shape[0], g.h = in->shape[1], g.w = in->shape[2], g.c = in->shape[3];
  g.oh = out->shape[1], g.ow = out->shape[2];
  g.kh = a->dims[DNN_POOL_KH], g.kw = a->dims[DNN_POOL_KW];
  g.sh = a->dims[DNN_POOL_SH], g.sw = a->dims[DNN_POOL_SW];
  g.pt = a->dims[DNN_POOL_PT], g.pl = a->dims[DNN_POOL_PL];
  g.adaptive = a->dims[DNN_POOL_ADAPTIVE] != 0;
  return g;
}

__device__ __forceinline__ void window(const pool_geom &g, bool rows, int64_t i, int64_t *b, int64_t *e) {
  int64_t size = rows ? g.h : g.w, out = rows ? g.oh : g.ow;
  if (g.adaptive) {
    *b = i * size / out;
    *e = ((i + 1) * size + out - 1) / out;
    return;
  }
  int64_t s = rows ? g.sh : g.sw, p = rows ? g.pt : g.pl, k = rows ? g.kh : g.kw;
  int64_t lo = i * s - p, hi = lo + k;
  *b = lo < 0 ? 0 : lo;
  *e = hi > size ? size : hi;
}

template <typename T>
__global__ void pool_fwd(const T *X, T *Y, int32_t *idx, pool_geom g, bool is_max) {
  int64_t total = g.n * g.oh * g.ow * g.c;
  CU_GRID_STRIDE(e, total) {
    int64_t ch = e % g.c, t = e / g.c, ow = t % g.ow, t2 = t / g.ow, oh = t2 % g.oh, n = t2 / g.oh;
    int64_t hs, he, ws, we;
    window(g, true, oh, &hs, &he);
    window(g, false, ow, &ws, &we);
    if (hs >= he || ws >= we) {
      Y[e] = 0;
      if (idx) idx[e] = 0;
      continue;
    }
    const T *img = X + n * g.h * g.w * g.c + ch;
    T best = img[(hs * g.w + ws) * g.c];
    int32_t pos = (int32_t)(hs * g.w + ws);
    for (int64_t ih = hs; ih < he; ih++)
      for (int64_t iw = (ih == hs ? ws + 1 : ws); iw < we; iw++) {
        T v = img[(ih * g.w + iw) * g.c];
        if (is_max) {
          bool take = v > best || (v != v && best == best);
          if (take) {
            best = v;
            pos = (int32_t)(ih * g.w + iw);
          }
        } else {
          best += v;
        }
      }
    if (!is_max) best *= (T)1 / (T)((he - hs) * (we - ws));
    Y[e] = best;
    if (idx) idx[e] = pos;
  }
}

/* Outputs covering input index i along one axis: [*lo, *hi] (may be empty). */
__device__ __forceinline__ void covering(const pool_geom &g, bool rows, int64_t i, int64_t *lo, int64_t *hi) {
  int64_t out = rows ? g.oh : g.ow;
  if (g.adaptive) { /* bins are monotone: scan is cheap for the small outputs adaptive pooling makes */
    *lo = 0, *hi = out - 1;
    return;
  }
  int64_t s = rows ? g.sh : g.sw, p = rows ? g.pt : g.pl, k = rows ? g.kh : g.kw;
  int64_t a = i + p - k + 1; /* o*s >= a */
  int64_t l = a <= 0 ? 0 : (a + s - 1) / s, h = (i + p) / s;
  if (i + p < 0) h = -1;
  *lo = l;
  *hi = h < out - 1 ? h : out - 1;
}

template <typename T>
__global__ void pool_bwd(const T *G, const int32_t *idx, T *DX, pool_geom g, bool is_max) {
  int64_t total = g.n * g.h * g.w * g.c;
  CU_GRID_STRIDE(e, total) {
    int64_t ch = e % g.c, t = e / g.c, iw = t % g.w, t2 = t / g.w, ih = t2 % g.h, n = t2 / g.h;
    int64_t ohl, ohh, owl, owh;
    covering(g, true, ih, &ohl, &ohh);
    covering(g, false, iw, &owl, &owh);
    int32_t me = (int32_t)(ih * g.w + iw);
    T acc = 0;
    for (int64_t oh = ohl; oh <= ohh; oh++) {
      int64_t hs, he;
      window(g, true, oh, &hs, &he);
      if (ih < hs || ih >= he) continue;
      for (int64_t ow = owl; ow <= owh; ow++) {
        int64_t ws, we;
        window(g, false, ow, &ws, &we);
        if (iw < ws || iw >= we) continue;
        int64_t o = ((n * g.oh + oh) * g.ow + ow) * g.c + ch;
        if (is_max) {
          if (idx[o] == me) acc += G[o];
        } else {
          acc += G[o] * ((T)1 / (T)((he - hs) * (we - ws)));
        }
      }
    }
    DX[e] = acc;
  }
}

}  // namespace

dnn_status cu_conv2d(const dnn_op_args *a) {
  const char *name = "conv2d";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[4] = {a->out, a->in[0], a->in[1], a->in[2]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 4, ts));
  conv_geom g = conv_geometry(a, a->in[0], a->out, a->in[1]->shape);
  return a->out->dtype == DNN_FLOAT32 ? conv_forward<float>(name, c, a, g) : conv_forward<double>(name, c, a, g);
}

dnn_status cu_conv2d_input_grad(const dnn_op_args *a) {
  const char *name = "conv2d_input_grad";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  conv_geom g = conv_geometry(a, a->out, a->in[0], a->in[1]->shape);
  return a->out->dtype == DNN_FLOAT32 ? conv_input_grad<float>(name, c, a, g) : conv_input_grad<double>(name, c, a, g);
}

dnn_status cu_conv2d_kernel_grad(const dnn_op_args *a) {
  const char *name = "conv2d_kernel_grad";
  cuda_ctx *c = cuda_ctx_of(name, a->in[0]);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[4] = {a->out, a->out2, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 4, ts));
  /* the kernel's shape: from out, or (1, 1, ...) when only the bias is wanted */
  int64_t ks[4] = {1, 1, a->in[0]->shape[3], a->in[1]->shape[3]};
  if (a->out) ks[0] = a->out->shape[0], ks[1] = a->out->shape[1];
  conv_geom g = conv_geometry(a, a->in[0], a->in[1], ks);
  return a->in[0]->dtype == DNN_FLOAT32 ? conv_kernel_grad<float>(name, c, a, g)
                                        : conv_kernel_grad<double>(name, c, a, g);
}

/* in[0] x (N,H,W,C); out (N,OH,OW,C); out2 int32 argmax or NULL; flag: max. */
dnn_status cu_pool2d(const dnn_op_args *a) {
  const char *name = a->flag ? "max_pool2d" : "avg_pool2d";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->out2, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  pool_geom g = pool_geometry(a, a->in[0], a->out);
  int64_t total = g.n * g.oh * g.ow * g.c;
  if (total == 0) return DNN_OK;
  unsigned grid = cuda_grid(total, CU_THREADS, c);
  int32_t *idx = a->out2 ? (int32_t *)dnn_data_ptr(a->out2) : NULL;
#ifdef DNN_HAVE_CUDNN
  if (a->out->dtype == DNN_FLOAT32 && !g.adaptive && !idx) { /* the argmax only comes from our kernel */
    cudnn_pool_geom cg = {g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl};
    bool done = false;
    DNN_RETURN_IF_ERR(cudnn_pool2d_forward(name, c, cg, a->flag, (const float *)dnn_data_ptr(a->in[0]),
                                           (float *)dnn_data_ptr(a->out), &done));
    if (done) return DNN_OK;
  }
#endif
  if (a->out->dtype == DNN_FLOAT32)
    pool_fwd<float><<<grid, CU_THREADS, 0, c->stream>>>((const float *)dnn_data_ptr(a->in[0]),
                                                        (float *)dnn_data_ptr(a->out), idx, g, a->flag);
  else
    pool_fwd<double><<<grid, CU_THREADS, 0, c->stream>>>((const double *)dnn_data_ptr(a->in[0]),
                                                         (double *)dnn_data_ptr(a->out), idx, g, a->flag);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] grad (N,OH,OW,C), in[1] argmax (max) or NULL, out (N,H,W,C). */
dnn_status cu_pool2d_backward(const dnn_op_args *a) {
  const char *name = "pool2d_backward";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  pool_geom g = pool_geometry(a, a->out, a->in[0]);
  int64_t total = g.n * g.h * g.w * g.c;
  if (total == 0) return DNN_OK;
  bool is_max = a->in[1] != NULL;
  const int32_t *idx = is_max ? (const int32_t *)dnn_data_ptr(a->in[1]) : NULL;
  unsigned grid = cuda_grid(total, CU_THREADS, c);
  if (a->out->dtype == DNN_FLOAT32)
    pool_bwd<float><<<grid, CU_THREADS, 0, c->stream>>>((const float *)dnn_data_ptr(a->in[0]), idx,
                                                        (float *)dnn_data_ptr(a->out), g, is_max);
  else
    pool_bwd<double><<<grid, CU_THREADS, 0, c->stream>>>((const double *)dnn_data_ptr(a->in[0]), idx,
                                                         (double *)dnn_data_ptr(a->out), g, is_max);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}
