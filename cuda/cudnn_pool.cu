/* Pooling forward through cuDNN's legacy API (cudnnPoolingForward), for the
 * cases where it computes what src/cpu/pool2d.c computes:
 *
 * - average: windows clipped to the input, so "same" padding averages only
 *   real cells (TensorFlow's rule) = CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
 * - max, values only: the op asked for no argmax (no gradient recorded).
 *   When the backward needs the argmax, conv.cu's kernel runs, since
 *   cudnnPoolingForward does not report positions and cudnnPoolingBackward
 *   wants x and y, which the POOL2D_BACKWARD op does not carry (it carries
 *   the argmax, and the CPU's tie rule -- first maximum in row-major window
 *   order, NaN wins -- is defined on it).  NaN propagates (CUDNN_PROPAGATE_NAN)
 *   as the CPU's "NaN wins" does.  Padded cells must never win: cuDNN's max
 *   pooling skips the padding, which TensorFlow's symmetric "same" max
 *   pooling relies on (cuda_cudnn_spec.lua checks it on a GPU with all-
 *   negative inputs).
 *
 * Backward passes always use conv.cu's kernels.  Adaptive bins, float64,
 * padding that is not symmetric (the odd "same" cell at the bottom/right),
 * padding as large as the window and sizes past cuDNN's ints decline.
 * Descriptors are cached per device and shape, used under the device lock
 * that the convolution route also takes (one cuDNN handle per device). */
#include "cudnn_route.cuh"

#ifdef DNN_HAVE_CUDNN
#include <array>
#include <map>
#include <new>

namespace {

const size_t CACHE_MAX = 256;

struct pool_plan {
  bool usable;
  cudnnTensorDescriptor_t x, y;
  cudnnPoolingDescriptor_t pool;
};

typedef std::array<int64_t, 13> pool_key; /* the geometry, then is_max */

std::map<pool_key, pool_plan *> caches[DNN_CUDA_MAX_DEVICES];

void plan_destroy(pool_plan *p) {
  if (p->x) cudnnDestroyTensorDescriptor(p->x);
  if (p->y) cudnnDestroyTensorDescriptor(p->y);
  if (p->pool) cudnnDestroyPoolingDescriptor(p->pool);
  delete p;
}

/* windows start at i*s - p and cuDNN's output size with p on both sides is ours */
bool axis_ok(int64_t in, int64_t k, int64_t s, int64_t p, int64_t out) {
  return p >= 0 && p < k && in + 2 * p >= k && (in + 2 * p - k) / s + 1 == out;
}

bool geometry_ok(const cudnn_pool_geom &g) {
  const int64_t v[] = {g.N, g.H, g.W, g.C, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw};
  for (int64_t x : v)
    if (!cudnn_fits(x)) return false;
  if (!cudnn_numel_fits(g.N, g.H, g.W, g.C)) return false;
  return axis_ok(g.H, g.kh, g.sh, g.pt, g.OH) && axis_ok(g.W, g.kw, g.sw, g.pl, g.OW);
}

pool_plan *plan_make(const cudnn_pool_geom &g, bool is_max) {
  pool_plan *p = new (std::nothrow) pool_plan();
  if (!p) return NULL;
  bool ok = cudnnCreateTensorDescriptor(&p->x) == CUDNN_STATUS_SUCCESS &&
            cudnnCreateTensorDescriptor(&p->y) == CUDNN_STATUS_SUCCESS &&
            cudnnCreatePoolingDescriptor(&p->pool) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, (int)g.N, (int)g.C, (int)g.H,
                                        (int)g.W) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, (int)g.N, (int)g.C, (int)g.OH,
                                        (int)g.OW) == CUDNN_STATUS_SUCCESS;
  ok = ok && cudnnSetPooling2dDescriptor(p->pool,
                                         is_max ? CUDNN_POOLING_MAX : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING,
                                         CUDNN_PROPAGATE_NAN, (int)g.kh, (int)g.kw, (int)g.pt, (int)g.pl, (int)g.sh,
                                         (int)g.sw) == CUDNN_STATUS_SUCCESS;
  int n = 0, c = 0, h = 0, w = 0;
  ok = ok && cudnnGetPooling2dForwardOutputDim(p->pool, p->x, &n, &c, &h, &w) == CUDNN_STATUS_SUCCESS;
  p->usable = ok && n == g.N && c == g.C && h == g.OH && w == g.OW;
  cudnn_log("%s of [%lld,%lld,%lld,%lld] window %lldx%lld strides %lld,%lld pads %lld,%lld: %s",
            is_max ? "max_pool2d" : "avg_pool2d", (long long)g.N, (long long)g.H, (long long)g.W, (long long)g.C, (long long)g.kh, (long long)g.kw,
            (long long)g.sh, (long long)g.sw, (long long)g.pt, (long long)g.pl,
            p->usable ? "cuDNN" : "declined, descriptors refused");
  return p;
}

pool_plan *plan_get(const cuda_ctx *c, const cudnn_pool_geom &g, bool is_max) {
  pool_key k = {g.N, g.H, g.W, g.C, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, is_max};
  return cudnn_cached_plan(caches[c->device], k, CACHE_MAX, [&] { return plan_make(g, is_max); }, plan_destroy);
}

}  // namespace

dnn_status cudnn_pool2d_forward(const char *op, cuda_ctx *c, const cudnn_pool_geom &g, bool is_max, const float *x,
                                float *y, bool *done) {
  *done = false;
  if (!cudnn_route_enabled()) return DNN_OK;
  if (!geometry_ok(g) || !cudnn_aligned(x) || !cudnn_aligned(y)) {
    cudnn_log("%s of [%lld,%lld,%lld,%lld] window %lldx%lld pads %lld,%lld: declined (asymmetric padding, sizes or "
              "alignment)", op, (long long)g.N, (long long)g.H, (long long)g.W, (long long)g.C, (long long)g.kh,
              (long long)g.kw, (long long)g.pt, (long long)g.pl);
    return DNN_OK;
  }
  cudnnHandle_t h = cuda_cudnn_handle(c);
  if (!h) return DNN_OK;
  std::lock_guard<std::mutex> lock(cudnn_device_lock(c->device));
  pool_plan *p = plan_get(c, g, is_max);
  if (!p || !p->usable) return DNN_OK;
  const float one = 1.0f, zero = 0.0f;
  cudnnStatus_t st = cudnnPoolingForward(h, p->pool, &one, p->x, x, &zero, p->y, y);
  if (st == CUDNN_STATUS_SUCCESS) {
    *done = true;
    return DNN_OK;
  }
  if (cudnn_not_supported(st)) { /* remembered: this shape takes our kernel from now on */
    cudnn_log("%s: cudnnPoolingForward refused the shape at run time (%s)", op, cudnnGetErrorString(st));
    p->usable = false;
    return DNN_OK;
  }
  return cudnn_fail(op, "cudnnPoolingForward", st);
}

#endif /* DNN_HAVE_CUDNN */
