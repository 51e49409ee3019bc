/* Reductions over the middle dim of a contiguous (outer, R, inner) view, as
 * cpu/reduce.c defines them: floats accumulate in double, integers in
 * wrapping uint64; max/min/argmax/argmin take the first occurrence and let
 * NaN win (the first NaN); var is the corrected two-pass formula around the
 * mean; logsumexp subtracts the max (0 for an all-infinite row).
 *
 * A block is (TX, TY) = 256 threads: TX consecutive inner positions (so the
 * loads are coalesced whether inner is 1 or large) by TY threads striding
 * over R, combined by a tree in shared memory.  The split over threads
 * depends only on the shape, so results are the same on every run.  Few
 * outputs over a long R (a full sum) split R over many blocks and combine
 * their partials, in order, in a second kernel. */
#include <math.h>

#include "common.cuh"

namespace {

#define RED_THREADS 256

struct store_args {
  dnn_op op;
  void *out;
  int64_t *out2;
  dnn_dtype odt;
  int64_t R;
  int64_t correction;
};

__device__ __forceinline__ void store_d(dnn_dtype dt, void *out, int64_t k, double v) {
  switch (dt) {
    case DNN_FLOAT32: ((float *)out)[k] = (float)v; break;
    case DNN_FLOAT64: ((double *)out)[k] = v; break;
    case DNN_INT32: ((int32_t *)out)[k] = (int32_t)(int64_t)v; break;
    case DNN_INT64: ((int64_t *)out)[k] = (int64_t)v; break;
    case DNN_UINT8: ((uint8_t *)out)[k] = (uint8_t)(int64_t)v; break;
    default: ((uint8_t *)out)[k] = v != 0; break;
  }
}
__device__ __forceinline__ void store_i(dnn_dtype dt, void *out, int64_t k, int64_t v) {
  switch (dt) {
    case DNN_FLOAT32: ((float *)out)[k] = (float)v; break;
    case DNN_FLOAT64: ((double *)out)[k] = (double)v; break;
    case DNN_INT32: ((int32_t *)out)[k] = (int32_t)v; break;
    case DNN_INT64: ((int64_t *)out)[k] = v; break;
    case DNN_UINT8: ((uint8_t *)out)[k] = (uint8_t)v; break;
    default: ((uint8_t *)out)[k] = v != 0; break;
  }
}

/* ---- policies: an accumulator, how a value joins it, how two combine ---- */

template <typename T> struct P_sumf { /* SUM, MEAN of floats */
  struct acc { double s; };
  __device__ static acc init() { return {0.0}; }
  __device__ static void add(acc &a, T v, int64_t, double) { a.s += (double)v; }
  __device__ static void combine(acc &a, const acc &b) { a.s += b.s; }
  __device__ static void store(const acc &a, const store_args &s, int64_t k) {
    store_d(s.odt, s.out, k, s.op == DNN_OP_MEAN ? a.s / (double)s.R : a.s);
  }
};

template <typename T> struct P_sumi { /* SUM of integers: wraps */
  struct acc { uint64_t s; };
  __device__ static acc init() { return {0}; }
  __device__ static void add(acc &a, T v, int64_t, double) { a.s += (uint64_t)(int64_t)v; }
  __device__ static void combine(acc &a, const acc &b) { a.s += b.s; }
  __device__ static void store(const acc &a, const store_args &s, int64_t k) {
    if (s.op == DNN_OP_MEAN) store_d(s.odt, s.out, k, (double)(int64_t)a.s / (double)s.R);
    else store_i(s.odt, s.out, k, (int64_t)a.s);
  }
};

template <typename T> struct P_prodf {
  struct acc { double p; };
  __device__ static acc init() { return {1.0}; }
  __device__ static void add(acc &a, T v, int64_t, double) { a.p *= (double)v; }
  __device__ static void combine(acc &a, const acc &b) { a.p *= b.p; }
  __device__ static void store(const acc &a, const store_args &s, int64_t k) { store_d(s.odt, s.out, k, a.p); }
};

template <typename T> struct P_prodi {
  struct acc { uint64_t p; };
  __device__ static acc init() { return {1}; }
  __device__ static void add(acc &a, T v, int64_t, double) { a.p *= (uint64_t)(int64_t)v; }
  __device__ static void combine(acc &a, const acc &b) { a.p *= b.p; }
  __device__ static void store(const acc &a, const store_args &s, int64_t k) {
    store_i(s.odt, s.out, k, (int64_t)a.p);
  }
};

template <typename T, bool ALL> struct P_logic {
  struct acc { int v; };
  __device__ static acc init() { return {ALL ? 1 : 0}; }
  __device__ static void add(acc &a, T v, int64_t, double) {
    if (ALL) a.v = a.v && (v != 0);
    else a.v = a.v || (v != 0);
  }
  __device__ static void combine(acc &a, const acc &b) {
    if (ALL) a.v = a.v && b.v;
    else a.v = a.v || b.v;
  }
  __device__ static void store(const acc &a, const store_args &s, int64_t k) { store_i(s.odt, s.out, k, a.v); }
};

/* MAX/MIN/ARGMAX/ARGMIN: the best value and its index; the first NaN wins;
 * ties go to the smaller index, which is the first occurrence. */
template <typename T, bool MAXI> struct P_arg {
  struct acc { T v; int64_t i; };
  __device__ static acc init() { return {(T)0, -1}; }
  __device__ static void combine(acc &a, const acc &b) {
    if (b.i < 0) return;
    if (a.i < 0) { a = b; return; }
    bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) {
      if (an && bn) { if (b.i < a.i) a = b; }
      else if (bn) a = b;
      return;
    }
    if (MAXI ? b.v > a.v : b.v < a.v) a = b;
    else if (b.v == a.v && b.i < a.i) a = b;
  }
  __device__ static void add(acc &a, T v, int64_t r, double) { combine(a, acc{v, r}); }
  __device__ static void store(const acc &a, const store_args &s, int64_t k) {
    if (s.op == DNN_OP_ARGMAX || s.op == DNN_OP_ARGMIN) {
      ((int64_t *)s.out)[k] = a.i;
    } else {
      ((T *)s.out)[k] = a.v;
      if (s.out2) s.out2[k] = a.i;
    }
  }
};

/* VAR's second pass: squared deviations from the center and their sum. */
template <typename T> struct P_var {
  struct acc { double ss, d; };
  __device__ static acc init() { return {0.0, 0.0}; }
  __device__ static void add(acc &a, T v, int64_t, double c) {
    double d = (double)v - c;
    a.ss += d * d;
    a.d += d;
  }
  __device__ static void combine(acc &a, const acc &b) { a.ss += b.ss; a.d += b.d; }
};

/* LOGSUMEXP's second pass. */
template <typename T> struct P_sumexp {
  struct acc { double s; };
  __device__ static acc init() { return {0.0}; }
  __device__ static void add(acc &a, T v, int64_t, double c) { a.s += exp((double)v - c); }
  __device__ static void combine(acc &a, const acc &b) { a.s += b.s; }
};

/* The block's combined accumulator for inner position j (every thread of
 * column tx gets it).  Threads of the block must all call it together. */
template <typename T, typename P>
__device__ typename P::acc block_reduce(const T *x, int64_t o, int64_t j, int64_t r0, int64_t r1, int64_t R,
                                        int64_t inner, double center) {
  __shared__ typename P::acc sh[RED_THREADS];
  int tx = threadIdx.x, ty = threadIdx.y, TX = blockDim.x, TY = blockDim.y;
  typename P::acc a = P::init();
  if (j < inner) {
    const T *base = x + o * R * inner + j;
    for (int64_t r = r0 + ty; r < r1; r += TY) P::add(a, base[r * inner], r, center);
  }
  sh[ty * TX + tx] = a;
  __syncthreads();
  for (int s = TY / 2; s > 0; s >>= 1) {
    if (ty < s) P::combine(sh[ty * TX + tx], sh[(ty + s) * TX + tx]);
    __syncthreads();
  }
  a = sh[tx];
  __syncthreads(); /* sh is reused by the next call */
  return a;
}

/* One output per (o, j): tiles of TX inner positions, grid-stride over tiles. */
template <typename T, typename P>
__global__ void reduce_kernel(const T *x, int64_t outer, int64_t R, int64_t inner, store_args s) {
  int64_t tiles_per_o = (inner + blockDim.x - 1) / blockDim.x, ntiles = outer * tiles_per_o;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    int64_t o = t / tiles_per_o, j = (t % tiles_per_o) * blockDim.x + threadIdx.x;
    typename P::acc a = block_reduce<T, P>(x, o, j, 0, R, R, inner, 0.0);
    if (threadIdx.y == 0 && j < inner) P::store(a, s, o * inner + j);
  }
}

template <typename T>
__global__ void var_kernel(const T *x, int64_t outer, int64_t R, int64_t inner, store_args s) {
  int64_t tiles_per_o = (inner + blockDim.x - 1) / blockDim.x, ntiles = outer * tiles_per_o;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    int64_t o = t / tiles_per_o, j = (t % tiles_per_o) * blockDim.x + threadIdx.x;
    typename P_sumf<T>::acc m = block_reduce<T, P_sumf<T>>(x, o, j, 0, R, R, inner, 0.0);
    double center = R ? m.s / (double)R : 0.0;
    typename P_var<T>::acc v = block_reduce<T, P_var<T>>(x, o, j, 0, R, R, inner, center);
    if (threadIdx.y == 0 && j < inner) {
      double n = (double)R - (double)s.correction;
      double ss = v.ss - (R ? v.d * v.d / (double)R : 0.0);
      store_d(s.odt, s.out, o * inner + j, n > 0 ? ss / n : (double)NAN);
    }
  }
}

template <typename T>
__global__ void lse_kernel(const T *x, int64_t outer, int64_t R, int64_t inner, store_args s) {
  int64_t tiles_per_o = (inner + blockDim.x - 1) / blockDim.x, ntiles = outer * tiles_per_o;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    int64_t o = t / tiles_per_o, j = (t % tiles_per_o) * blockDim.x + threadIdx.x;
    typename P_arg<T, true>::acc m = block_reduce<T, P_arg<T, true>>(x, o, j, 0, R, R, inner, 0.0);
    double center = (m.i < 0 || isinf((double)m.v)) ? 0.0 : (double)m.v;
    typename P_sumexp<T>::acc e = block_reduce<T, P_sumexp<T>>(x, o, j, 0, R, R, inner, center);
    if (threadIdx.y == 0 && j < inner)
      store_d(s.odt, s.out, o * inner + j, R ? center + log(e.s) : -(double)INFINITY);
  }
}

/* Split R: stage 1 writes partial accumulators part[k * S + chunk]. */
template <typename T, typename P>
__global__ void reduce_split_kernel(const T *x, int64_t outer, int64_t R, int64_t inner, int64_t S, int64_t chunk,
                                    typename P::acc *part) {
  int64_t tiles_per_o = (inner + blockDim.x - 1) / blockDim.x, ntiles = outer * tiles_per_o * S;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    int64_t sidx = t % S, tile = t / S;
    int64_t o = tile / tiles_per_o, j = (tile % tiles_per_o) * blockDim.x + threadIdx.x;
    int64_t r0 = sidx * chunk, r1 = r0 + chunk < R ? r0 + chunk : R;
    typename P::acc a = block_reduce<T, P>(x, o, j, r0, r1, R, inner, 0.0);
    if (threadIdx.y == 0 && j < inner) part[(o * inner + j) * S + sidx] = a;
  }
}

/* Stage 2: one block of 256 threads (1 x 256) per output combines its S partials. */
template <typename T, typename P>
__global__ void combine_kernel(const typename P::acc *part, int64_t nout, int64_t S, store_args s) {
  __shared__ typename P::acc sh[RED_THREADS];
  for (int64_t k = blockIdx.x; k < nout; k += gridDim.x) {
    typename P::acc a = P::init();
    for (int64_t i = threadIdx.y; i < S; i += blockDim.y) P::combine(a, part[k * S + i]);
    sh[threadIdx.y] = a;
    __syncthreads();
    for (int st = blockDim.y / 2; st > 0; st >>= 1) {
      if ((int)threadIdx.y < st) P::combine(sh[threadIdx.y], sh[threadIdx.y + st]);
      __syncthreads();
    }
    if (threadIdx.y == 0) P::store(sh[0], s, k);
    __syncthreads();
  }
}

dim3 block_shape(int64_t inner) {
  int tx = 1;
  while (tx < 32 && tx < inner) tx *= 2;
  return dim3(tx, RED_THREADS / tx);
}

unsigned tiles_grid(int64_t ntiles, const cuda_ctx *c) {
  int64_t cap = (int64_t)c->sm_count * 16;
  if (cap < 1) cap = 1;
  return (unsigned)(ntiles < 1 ? 1 : ntiles < cap ? ntiles : cap);
}

#define SPLIT_MIN_R 32768   /* below this one block per output is fast enough */
#define SPLIT_CHUNK 16384   /* elements of R per block in the split stage */

template <typename T, typename P>
dnn_status run_policy(const char *name, cuda_ctx *c, const dnn_op_args *a, const T *x, int64_t outer, int64_t R,
                      int64_t inner, const store_args &s) {
  int64_t nout = outer * inner;
  dim3 blk = block_shape(inner);
  int64_t tiles = outer * ((inner + blk.x - 1) / blk.x);
  if (R >= SPLIT_MIN_R && tiles < (int64_t)c->sm_count) {
    int64_t S = (R + SPLIT_CHUNK - 1) / SPLIT_CHUNK;
    if (S > 1024) S = 1024;
    int64_t chunk = (R + S - 1) / S;
    S = (R + chunk - 1) / chunk;
    dnn_device dev = dnn_tensor_device(a->in[0]);
    typename P::acc *part =
        (typename P::acc *)cuda_scratch_alloc(name, (size_t)(nout * S) * sizeof(typename P::acc), dev);
    if (!part) return dnn_error_code();
    reduce_split_kernel<T, P><<<tiles_grid(tiles * S, c), blk, 0, c->stream>>>(x, outer, R, inner, S, chunk, part);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) {
      combine_kernel<T, P><<<tiles_grid(nout, c), dim3(1, RED_THREADS), 0, c->stream>>>(part, nout, S, s);
      e = cudaGetLastError();
    }
    cuda_scratch_free(part, dev); /* stream order: freed after the kernels ran */
    if (e != cudaSuccess) return cuda_fail(name, "reduce kernel launch", e);
    return DNN_OK;
  }
  reduce_kernel<T, P><<<tiles_grid(tiles, c), blk, 0, c->stream>>>(x, outer, R, inner, s);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

template <typename T, bool IS_FLOAT>
dnn_status run_typed(const char *name, cuda_ctx *c, const dnn_op_args *a, int64_t outer, int64_t R, int64_t inner,
                     const store_args &s) {
  const T *x = (const T *)dnn_data_ptr(a->in[0]);
  dim3 blk = block_shape(inner);
  int64_t tiles = outer * ((inner + blk.x - 1) / blk.x);
  switch (a->op) {
    case DNN_OP_SUM:
    case DNN_OP_MEAN:
      if (IS_FLOAT) return run_policy<T, P_sumf<T>>(name, c, a, x, outer, R, inner, s);
      return run_policy<T, P_sumi<T>>(name, c, a, x, outer, R, inner, s);
    case DNN_OP_PROD:
      if (IS_FLOAT) return run_policy<T, P_prodf<T>>(name, c, a, x, outer, R, inner, s);
      return run_policy<T, P_prodi<T>>(name, c, a, x, outer, R, inner, s);
    case DNN_OP_ALL: return run_policy<T, P_logic<T, true>>(name, c, a, x, outer, R, inner, s);
    case DNN_OP_ANY: return run_policy<T, P_logic<T, false>>(name, c, a, x, outer, R, inner, s);
    case DNN_OP_MAX:
    case DNN_OP_ARGMAX: return run_policy<T, P_arg<T, true>>(name, c, a, x, outer, R, inner, s);
    case DNN_OP_MIN:
    case DNN_OP_ARGMIN: return run_policy<T, P_arg<T, false>>(name, c, a, x, outer, R, inner, s);
    case DNN_OP_VAR:
      var_kernel<T><<<tiles_grid(tiles, c), blk, 0, c->stream>>>(x, outer, R, inner, s);
      CU_CHECK_LAUNCH(name);
      return DNN_OK;
    case DNN_OP_LOGSUMEXP:
      lse_kernel<T><<<tiles_grid(tiles, c), blk, 0, c->stream>>>(x, outer, R, inner, s);
      CU_CHECK_LAUNCH(name);
      return DNN_OK;
    default: return dnn_error(DNN_ERR_ARG, "%s is not a reduction", name);
  }
}

/* CUMSUM / CUMPROD: one thread per (o, j) line walks R in order. */
template <typename T, bool IS_FLOAT>
__global__ void cumulative_kernel(const T *x, int64_t outer, int64_t R, int64_t inner, bool prod, void *out,
                                  dnn_dtype odt) {
  int64_t lines = outer * inner;
  for (int64_t l = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; l < lines; l += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = l / inner, j = l % inner;
    double acc = prod ? 1.0 : 0.0;
    uint64_t iacc = prod ? 1 : 0;
    for (int64_t r = 0; r < R; r++) {
      int64_t k = (o * R + r) * inner + j;
      T v = x[k];
      if (IS_FLOAT) {
        acc = prod ? acc * (double)v : acc + (double)v;
        store_d(odt, out, k, acc);
      } else {
        iacc = prod ? iacc * (uint64_t)(int64_t)v : iacc + (uint64_t)(int64_t)v;
        store_i(odt, out, k, (int64_t)iacc);
      }
    }
  }
}

}  // namespace

/* in[0]: contiguous 3-d (outer, R, inner); out: outer*inner values of the
 * front end's dtype; out2: int64 indices for MAX/MIN when wanted; k: VAR's
 * correction. */
dnn_status cu_reduce(const dnn_op_args *a) {
  const char *name = dnn_op_name(a->op);
  const dnn_tensor *x = a->in[0];
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, x, a->out2};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  if (x->ndim != 3 || !dnn_is_contiguous(x) || !dnn_is_contiguous(a->out))
    return dnn_error(DNN_ERR_INTERNAL, "%s: expects a contiguous (outer, R, inner) input", name);
  int64_t outer = x->shape[0], R = x->shape[1], inner = x->shape[2];
  if (outer * inner == 0) return DNN_OK;
  store_args s = {a->op, dnn_data_ptr(a->out), a->out2 ? (int64_t *)dnn_data_ptr(a->out2) : NULL,
                  (dnn_dtype)a->out->dtype, R, a->k};
  switch ((dnn_dtype)x->dtype) {
    case DNN_FLOAT32: return run_typed<float, true>(name, c, a, outer, R, inner, s);
    case DNN_FLOAT64: return run_typed<double, true>(name, c, a, outer, R, inner, s);
    case DNN_INT32: return run_typed<int32_t, false>(name, c, a, outer, R, inner, s);
    case DNN_INT64: return run_typed<int64_t, false>(name, c, a, outer, R, inner, s);
    case DNN_UINT8:
    case DNN_BOOL: return run_typed<uint8_t, false>(name, c, a, outer, R, inner, s);
    default: return dnn_error(DNN_ERR_DTYPE, "%s: unknown dtype", name);
  }
}

dnn_status cu_cumulative(const dnn_op_args *a) {
  const char *name = dnn_op_name(a->op);
  const dnn_tensor *x = a->in[0];
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, x};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  int64_t outer = x->shape[0], R = x->shape[1], inner = x->shape[2];
  int64_t lines = outer * inner;
  if (lines == 0 || R == 0) return DNN_OK;
  bool prod = a->op == DNN_OP_CUMPROD;
  void *out = dnn_data_ptr(a->out);
  dnn_dtype odt = (dnn_dtype)a->out->dtype;
  unsigned grid = cuda_grid(lines, 128, c);
  switch ((dnn_dtype)x->dtype) {
    case DNN_FLOAT32:
      cumulative_kernel<float, true><<<grid, 128, 0, c->stream>>>((const float *)dnn_data_ptr(x), outer, R, inner,
                                                                  prod, out, odt);
      break;
    case DNN_FLOAT64:
      cumulative_kernel<double, true><<<grid, 128, 0, c->stream>>>((const double *)dnn_data_ptr(x), outer, R, inner,
                                                                   prod, out, odt);
      break;
    case DNN_INT32:
      cumulative_kernel<int32_t, false><<<grid, 128, 0, c->stream>>>((const int32_t *)dnn_data_ptr(x), outer, R,
                                                                     inner, prod, out, odt);
      break;
    case DNN_INT64:
      cumulative_kernel<int64_t, false><<<grid, 128, 0, c->stream>>>((const int64_t *)dnn_data_ptr(x), outer, R,
                                                                     inner, prod, out, odt);
      break;
    default:
      cumulative_kernel<uint8_t, false><<<grid, 128, 0, c->stream>>>((const uint8_t *)dnn_data_ptr(x), outer, R,
                                                                     inner, prod, out, odt);
      break;
  }
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}
