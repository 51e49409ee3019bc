/* 2-d convolution through cuDNN's legacy API (see cudnn_route.cuh for when
 * it declines and conv.cu's own kernels run instead).
 *
 * Layouts: x, y, dx, dy are NHWC tensors (CUDNN_TENSOR_NHWC).  A cuDNN filter
 * in NHWC format is stored (Cout, kh, kw, Cin/groups), while the Keras kernel
 * is (kh, kw, Cin/groups, Cout): both are the same (K = kh*kw*Cin/g, Cout)
 * matrix, one the transpose of the other.  So the forward and the data
 * gradient transpose the kernel into a scratch (Cout, K) buffer per call (the
 * kernel changes at every step, and it is small next to the activations),
 * and the filter gradient is computed into a scratch (Cout, K) buffer and
 * transposed back into the (K, Cout) result.  Groups agree: output channel o
 * belongs to group o / (Cout/g) and reads input channels of that group, as
 * in conv.cu's im2col path.
 *
 * Padding: only the top/left pads travel (DNN_CONV_PT/PL); cuDNN pads both
 * sides by them.  Cells beyond the bottom/right edge are zeros either way, so
 * the results agree exactly when cuDNN's output size for symmetric padding
 * equals ours; otherwise ("same" with an odd total, more at the bottom/right)
 * the route declines.  cudnnGetConvolution2dForwardOutputDim is asked too.
 *
 * Numbers: float32 only (float64 stays on cuBLAS), cross-correlation as
 * Keras, math type CUDNN_FMA_MATH unless dnn.cuda.set_allow_tf32(true)
 * (CUDNN_DEFAULT_MATH would allow TF32 on Ampere and later), algorithms from
 * the cudnnGet*_v7 heuristics in their order of expected speed, keeping only
 * deterministic ones (BackwardData ALGO_0 and BackwardFilter ALGO_0/3 use
 * atomics) and leaving out FFT and Winograd (transform-domain rounding,
 * further from the CPU's direct sums than a different summation order).
 * Workspace comes from the caching allocator, at most WS_MAX bytes.
 *
 * Descriptors and the chosen algorithms are cached per device and shape (and
 * TF32 setting); the handle and the cache are used under one per-device lock
 * (a cuDNN handle must not be used by two threads at once). */
#include "elementwise.cuh"
#include "cudnn_route.cuh"

#ifdef DNN_HAVE_CUDNN
#include <array>
#include <map>
#include <new>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

namespace {

const size_t WS_MAX = (size_t)1 << 30;
const size_t CACHE_MAX = 256; /* plans per device before the cache is emptied */

enum { DIR_FWD, DIR_DATA, DIR_FILTER, NDIR };
const int ALGO_UNKNOWN = -2, ALGO_NONE = -1;

struct conv_plan {
  bool usable;
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  int algo[NDIR];
  cudnnMathType_t math[NDIR];
  size_t ws[NDIR];
  char desc[256]; /* the geometry, for the log */
};

typedef std::array<int64_t, 17> conv_key; /* the geometry, then the TF32 flag */

std::map<conv_key, conv_plan *> caches[DNN_CUDA_MAX_DEVICES];
std::mutex locks[DNN_CUDA_MAX_DEVICES];

void plan_destroy(conv_plan *p) {
  if (p->x) cudnnDestroyTensorDescriptor(p->x);
  if (p->y) cudnnDestroyTensorDescriptor(p->y);
  if (p->w) cudnnDestroyFilterDescriptor(p->w);
  if (p->conv) cudnnDestroyConvolutionDescriptor(p->conv);
  delete p;
}

/* cuDNN's output size with pad p on both sides equals ours */
bool symmetric_fits(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int64_t out) {
  int64_t ek = (k - 1) * d + 1, padded = in + 2 * p;
  return padded >= ek && (padded - ek) / s + 1 == out;
}

const char *const DIR_NAME[NDIR] = {"forward", "backward data", "backward filter"};

/* "x [N,H,W,C] k [kh,kw,Cin/g,Co] s a,b p t,l d a,b g n" for the log */
void describe(const cudnn_conv_geom &g, char *buf, size_t n) {
  snprintf(buf, n, "x [%lld,%lld,%lld,%lld] kernel [%lld,%lld,%lld,%lld] -> [%lld,%lld,%lld,%lld] strides %lld,%lld "
           "pads %lld,%lld dilation %lld,%lld groups %lld",
           (long long)g.N, (long long)g.H, (long long)g.W, (long long)g.C, (long long)g.kh, (long long)g.kw,
           (long long)(g.groups ? g.C / g.groups : 0), (long long)g.Co, (long long)g.N, (long long)g.OH,
           (long long)g.OW, (long long)g.Co, (long long)g.sh, (long long)g.sw, (long long)g.pt, (long long)g.pl,
           (long long)g.dh, (long long)g.dw, (long long)g.groups);
}

bool geometry_ok(const cudnn_conv_geom &g) {
  const int64_t v[] = {g.N, g.H, g.W, g.C, g.OH, g.OW, g.Co, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups};
  for (int64_t x : v)
    if (!cudnn_fits(x)) return false;
  if (g.pt < 0 || g.pl < 0 || g.pt > 0x7fffffff || g.pl > 0x7fffffff) return false;
  if (g.C % g.groups || g.Co % g.groups) return false;
  if (!cudnn_numel_fits(g.N, g.H, g.W, g.C) || !cudnn_numel_fits(g.N, g.OH, g.OW, g.Co) ||
      !cudnn_numel_fits(g.kh, g.kw, g.C / g.groups, g.Co))
    return false;
  return symmetric_fits(g.H, g.kh, g.sh, g.pt, g.dh, g.OH) && symmetric_fits(g.W, g.kw, g.sw, g.pl, g.dw, g.OW);
}

/* Descriptors for g; usable = false when cuDNN refuses any of them. */
conv_plan *plan_make(const cudnn_conv_geom &g, bool tf32) {
  conv_plan *p = new (std::nothrow) conv_plan();
  if (!p) return NULL;
  for (int d = 0; d < NDIR; d++) p->algo[d] = ALGO_UNKNOWN;
  bool ok = cudnnCreateTensorDescriptor(&p->x) == CUDNN_STATUS_SUCCESS &&
            cudnnCreateTensorDescriptor(&p->y) == CUDNN_STATUS_SUCCESS &&
            cudnnCreateFilterDescriptor(&p->w) == CUDNN_STATUS_SUCCESS &&
            cudnnCreateConvolutionDescriptor(&p->conv) == CUDNN_STATUS_SUCCESS;
  /* NHWC tensors take their dims in (n, c, h, w) order */
  ok = ok && cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, (int)g.N, (int)g.C, (int)g.H,
                                        (int)g.W) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, (int)g.N, (int)g.Co, (int)g.OH,
                                        (int)g.OW) == CUDNN_STATUS_SUCCESS;
  /* NHWC filter: dims (k, c, h, w) = (Cout, Cin/g, kh, kw), stored (Cout, kh, kw, Cin/g) */
  ok = ok && cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, (int)g.Co, (int)(g.C / g.groups),
                                        (int)g.kh, (int)g.kw) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetConvolution2dDescriptor(p->conv, (int)g.pt, (int)g.pl, (int)g.sh, (int)g.sw, (int)g.dh,
                                             (int)g.dw, CUDNN_CROSS_CORRELATION,
                                             CUDNN_DATA_FLOAT) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetConvolutionGroupCount(p->conv, (int)g.groups) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetConvolutionMathType(p->conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH) == CUDNN_STATUS_SUCCESS;
  int n = 0, co = 0, oh = 0, ow = 0;
  ok = ok && cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &n, &co, &oh, &ow) == CUDNN_STATUS_SUCCESS;
  p->usable = ok && n == g.N && co == g.Co && oh == g.OH && ow == g.OW;
  describe(g, p->desc, sizeof p->desc);
  if (!p->usable)
    cudnn_log("conv2d of %s: declined, descriptors refused (%s; cuDNN output [%d,%d,%d,%d])", p->desc,
              ok ? "output size differs" : "a descriptor call failed", n, oh, ow, co);
  return p;
}

/* The cached plan of g on c's device (caller holds the device lock); NULL
 * when out of host memory. */
conv_plan *plan_get(const cuda_ctx *c, const cudnn_conv_geom &g, bool tf32) {
  conv_key k = {g.N, g.H, g.W, g.C, g.OH, g.OW, g.Co, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.groups, tf32};
  return cudnn_cached_plan(caches[c->device], k, CACHE_MAX, [&] { return plan_make(g, tf32); }, plan_destroy);
}

bool algo_excluded(int dir, int algo) {
  switch (dir) {
    case DIR_FWD:
      return algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
             algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
    case DIR_DATA:
      return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
             algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
             algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
    default:
      return algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
             algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD ||
             algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
  }
}

/* Without TF32 only FMA kernels (the descriptor asks for CUDNN_FMA_MATH; an
 * entry reported as default math runs under it); with TF32 tensor cores too,
 * but never down-conversion to half precision. */
bool math_ok(cudnnMathType_t m, bool tf32) {
  if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false;
  return tf32 || m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
}

/* One heuristic result, whatever the direction. */
struct candidate {
  int algo;
  cudnnStatus_t status;
  cudnnDeterminism_t det;
  cudnnMathType_t math;
};

template <typename P>
int to_candidates(const P *perf, int n, candidate *out) {
  for (int i = 0; i < n; i++) out[i] = {(int)perf[i].algo, perf[i].status, perf[i].determinism, perf[i].mathType};
  return n;
}

cudnnStatus_t workspace_size(cudnnHandle_t h, const conv_plan *p, int dir, int algo, size_t *ws) {
  switch (dir) {
    case DIR_FWD:
      return cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y, (cudnnConvolutionFwdAlgo_t)algo, ws);
    case DIR_DATA:
      return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv, p->x,
                                                          (cudnnConvolutionBwdDataAlgo_t)algo, ws);
    default:
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv, p->w,
                                                            (cudnnConvolutionBwdFilterAlgo_t)algo, ws);
  }
}

/* Picks p->algo[dir] (ALGO_NONE when nothing qualifies). */
void choose_algo(cudnnHandle_t h, conv_plan *p, int dir, bool tf32) {
  enum { MAXC = 16 };
  candidate cand[MAXC];
  int n = 0;
  cudnnStatus_t st;
  /* heuristics are asked with the descriptor's own math type */
  cudnnSetConvolutionMathType(p->conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH);
  if (dir == DIR_FWD) {
    cudnnConvolutionFwdAlgoPerf_t perf[MAXC];
    st = cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y, MAXC, &n, perf);
    if (st == CUDNN_STATUS_SUCCESS) to_candidates(perf, n, cand);
  } else if (dir == DIR_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[MAXC];
    st = cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv, p->x, MAXC, &n, perf);
    if (st == CUDNN_STATUS_SUCCESS) to_candidates(perf, n, cand);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[MAXC];
    st = cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv, p->w, MAXC, &n, perf);
    if (st == CUDNN_STATUS_SUCCESS) to_candidates(perf, n, cand);
  }
  p->algo[dir] = ALGO_NONE;
  if (st != CUDNN_STATUS_SUCCESS) return;
  if (n > MAXC) n = MAXC;
  for (int i = 0; i < n; i++) {
    const candidate &k = cand[i];
    if (k.status != CUDNN_STATUS_SUCCESS || k.det != CUDNN_DETERMINISTIC || !math_ok(k.math, tf32) ||
        algo_excluded(dir, k.algo))
      continue;
    cudnnMathType_t m = tf32 ? k.math : CUDNN_FMA_MATH;
    size_t ws = 0;
    if (cudnnSetConvolutionMathType(p->conv, m) != CUDNN_STATUS_SUCCESS) continue;
    if (workspace_size(h, p, dir, k.algo, &ws) != CUDNN_STATUS_SUCCESS || ws > WS_MAX) continue;
    p->algo[dir] = k.algo;
    p->math[dir] = m;
    p->ws[dir] = ws;
    cudnn_log("conv2d %s of %s: algorithm %d, math type %d, workspace %zu bytes (heuristic rank %d of %d)",
              DIR_NAME[dir], p->desc, k.algo, (int)m, ws, i + 1, n);
    return;
  }
  cudnn_log("conv2d %s of %s: declined, no deterministic%s algorithm within the workspace limit (heuristics: %s, "
            "%d results)", DIR_NAME[dir], p->desc, tf32 ? "" : " FMA-only", cudnnGetErrorString(st), n);
}

/* dst (C, R) = src (R, C)^T: a thread per destination element, so the writes
 * are coalesced; kernels are small, the strided reads do not matter. */
__global__ void transpose_rc(const float *src, float *dst, int64_t R, int64_t C) {
  CU_GRID_STRIDE(e, R * C) {
    int64_t col = e / R, row = e - col * R;
    dst[e] = src[row * C + col];
  }
}

dnn_status transpose(const char *op, cuda_ctx *c, const float *src, float *dst, int64_t R, int64_t C) {
  transpose_rc<<<cuda_grid(R * C, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(src, dst, R, C);
  CU_CHECK_LAUNCH(op);
  return DNN_OK;
}

/* What every direction shares: the decision to decline, the lock, the plan
 * and its algorithm, the scratch kernel buffer and the workspace. */
struct conv_call {
  std::unique_lock<std::mutex> lock;
  cudnnHandle_t h = NULL;
  conv_plan *p = NULL;
  float *wt = NULL; /* (Cout, K) */
  void *ws = NULL;
  dnn_device dev;
  ~conv_call() {
    cuda_scratch_free(wt, dev);
    cuda_scratch_free(ws, dev);
  }
};

/* DNN_OK with *ready = false to decline.  ptrs: the two activation operands
 * (cuDNN's vectorised kernels want 16-byte aligned data). */
dnn_status conv_begin(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, int dir, const void *const *ptrs,
                      conv_call *k, bool *ready) {
  *ready = false;
  k->dev = dnn_device{DNN_DEVICE_CUDA, (int8_t)c->device};
  if (!cudnn_route_enabled()) return DNN_OK;
  if (!geometry_ok(g) || !cudnn_aligned(ptrs[0]) || !cudnn_aligned(ptrs[1])) {
    /* (the kernel goes through our own scratch buffer: its alignment does not matter) */
    if (cudnn_route_log()) {
      char buf[256];
      describe(g, buf, sizeof buf);
      cudnn_log("conv2d %s of %s: declined (asymmetric padding, sizes or alignment)", DIR_NAME[dir], buf);
    }
    return DNN_OK;
  }
  k->h = cuda_cudnn_handle(c);
  if (!k->h) {
    cudnn_log("conv2d: declined, no cuDNN handle (cudnnCreate failed)");
    return DNN_OK;
  }
  bool tf32 = dnn_cuda_get_allow_tf32();
  k->lock = std::unique_lock<std::mutex>(cudnn_device_lock(c->device));
  k->p = plan_get(c, g, tf32);
  if (!k->p || !k->p->usable) return DNN_OK;
  if (k->p->algo[dir] == ALGO_UNKNOWN) choose_algo(k->h, k->p, dir, tf32);
  if (k->p->algo[dir] == ALGO_NONE) return DNN_OK;
  int64_t K = g.kh * g.kw * (g.C / g.groups);
  k->wt = (float *)cuda_scratch_alloc(op, (size_t)(K * g.Co) * sizeof(float), k->dev);
  if (!k->wt) return dnn_error_code();
  if (k->p->ws[dir] > 0) {
    k->ws = cuda_scratch_alloc(op, k->p->ws[dir], k->dev);
    if (!k->ws) return dnn_error_code();
  }
  CUDNN_CHECK(op, cudnnSetConvolutionMathType(k->p->conv, k->p->math[dir]));
  *ready = true;
  return DNN_OK;
}

/* After the cuDNN call: "not supported" at run time (an engine refusing the
 * pointers, say) retires the algorithm and declines; other failures are
 * errors. */
dnn_status conv_end(const char *op, conv_call *k, int dir, cudnnStatus_t st, const char *expr, bool *done) {
  if (st == CUDNN_STATUS_SUCCESS) {
    *done = true;
    return DNN_OK;
  }
  if (cudnn_not_supported(st)) {
    cudnn_log("conv2d %s of %s: algorithm %d refused at run time (%s); our kernels from now on", DIR_NAME[dir],
              k->p->desc, k->p->algo[dir], cudnnGetErrorString(st));
    k->p->algo[dir] = ALGO_NONE;
    return DNN_OK;
  }
  return cudnn_fail(op, expr, st);
}

}  // namespace

std::mutex &cudnn_device_lock(int device) { return locks[device]; }

bool cudnn_route_enabled(void) {
  static const bool on = [] {
    const char *e = getenv("DNN_CUDNN");
    return !(e && e[0] == '0' && e[1] == 0);
  }();
  return on;
}

bool cudnn_route_log(void) {
  static const bool on = [] {
    const char *e = getenv("DNN_CUDNN_LOG");
    return e && e[0] && !(e[0] == '0' && e[1] == 0);
  }();
  return on;
}

void cudnn_log(const char *fmt, ...) {
  if (!cudnn_route_log()) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("dnn cudnn: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

dnn_status cudnn_conv2d_forward(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, const float *x,
                                const float *w, float *y, bool *done) {
  *done = false;
  conv_call k;
  bool ready;
  const void *ptrs[2] = {x, y};
  DNN_RETURN_IF_ERR(conv_begin(op, c, g, DIR_FWD, ptrs, &k, &ready));
  if (!ready) return DNN_OK;
  int64_t K = g.kh * g.kw * (g.C / g.groups);
  DNN_RETURN_IF_ERR(transpose(op, c, w, k.wt, K, g.Co)); /* (K, Co) -> (Co, K) */
  const float one = 1.0f, zero = 0.0f;
  cudnnStatus_t st = cudnnConvolutionForward(k.h, &one, k.p->x, x, k.p->w, k.wt, k.p->conv,
                                             (cudnnConvolutionFwdAlgo_t)k.p->algo[DIR_FWD], k.ws, k.p->ws[DIR_FWD],
                                             &zero, k.p->y, y);
  return conv_end(op, &k, DIR_FWD, st, "cudnnConvolutionForward", done);
}

dnn_status cudnn_conv2d_backward_data(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, const float *dy,
                                      const float *w, float *dx, bool *done) {
  *done = false;
  conv_call k;
  bool ready;
  const void *ptrs[2] = {dy, dx};
  DNN_RETURN_IF_ERR(conv_begin(op, c, g, DIR_DATA, ptrs, &k, &ready));
  if (!ready) return DNN_OK;
  int64_t K = g.kh * g.kw * (g.C / g.groups);
  DNN_RETURN_IF_ERR(transpose(op, c, w, k.wt, K, g.Co));
  const float one = 1.0f, zero = 0.0f;
  cudnnStatus_t st = cudnnConvolutionBackwardData(k.h, &one, k.p->w, k.wt, k.p->y, dy, k.p->conv,
                                                  (cudnnConvolutionBwdDataAlgo_t)k.p->algo[DIR_DATA], k.ws,
                                                  k.p->ws[DIR_DATA], &zero, k.p->x, dx);
  return conv_end(op, &k, DIR_DATA, st, "cudnnConvolutionBackwardData", done);
}

dnn_status cudnn_conv2d_backward_filter(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, const float *x,
                                        const float *dy, float *dw, bool *done) {
  *done = false;
  conv_call k;
  bool ready;
  const void *ptrs[2] = {x, dy};
  DNN_RETURN_IF_ERR(conv_begin(op, c, g, DIR_FILTER, ptrs, &k, &ready));
  if (!ready) return DNN_OK;
  const float one = 1.0f, zero = 0.0f;
  cudnnStatus_t st = cudnnConvolutionBackwardFilter(k.h, &one, k.p->x, x, k.p->y, dy, k.p->conv,
                                                    (cudnnConvolutionBwdFilterAlgo_t)k.p->algo[DIR_FILTER], k.ws,
                                                    k.p->ws[DIR_FILTER], &zero, k.p->w, k.wt);
  DNN_RETURN_IF_ERR(conv_end(op, &k, DIR_FILTER, st, "cudnnConvolutionBackwardFilter", done));
  if (!*done) return DNN_OK;
  int64_t K = g.kh * g.kw * (g.C / g.groups);
  return transpose(op, c, k.wt, dw, g.Co, K); /* (Co, K) -> (K, Co) */
}

#endif /* DNN_HAVE_CUDNN */
