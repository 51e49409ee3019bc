/* cuDNN routes of the conv ops (cudnn_conv.cu, cudnn_pool.cu), used by
 * conv.cu when the build has cuDNN (DNN_HAVE_CUDNN).
 *
 * Each route either does the work (*done = true), declines (*done = false,
 * DNN_OK: the caller runs its own kernel, which is always correct), or fails
 * with an error naming op.  A route declines what cuDNN cannot do the way the
 * CPU kernels define it: float64 (kept on our cuBLAS/own kernels), padding
 * that is not the same on both sides (TensorFlow's "same" puts the odd pixel
 * at the bottom/right; cuDNN's legacy API pads symmetrically), sizes beyond
 * cuDNN's int descriptors, pointers not 16-byte aligned, shapes for which no
 * deterministic, FMA-only (no TF32 unless dnn.cuda.set_allow_tf32(true))
 * algorithm exists, and everything when DNN_CUDNN=0 is set in the environment
 * (to compare the two paths on a GPU) or cudnnCreate failed.  DNN_CUDNN_LOG=1
 * prints each decision (algorithm chosen, route declined and why) to stderr,
 * for checking on a GPU which path a shape takes.
 *
 * The legacy API is used (cudnnConvolution*, cudnnPoolingForward): cuDNN 9
 * marks it deprecated in favour of the graph API but ships and supports it;
 * its warnings are only emitted when CUDNN_WARN_DEPRECATED is defined. */
#ifndef DNN_CUDA_CUDNN_ROUTE_CUH
#define DNN_CUDA_CUDNN_ROUTE_CUH

#include "common.cuh"

#ifdef DNN_HAVE_CUDNN
#include <map>
#include <mutex>
#include <new>

/* channels-last geometry, as conv.cu's conv_geom: x (N,H,W,C), y (N,OH,OW,Co),
 * kernel (kh,kw,C/groups,Co); pt/pl are the top/left pads */
struct cudnn_conv_geom {
  int64_t N, H, W, C, OH, OW, Co, kh, kw, sh, sw, pt, pl, dh, dw, groups;
};

/* y = conv(x, w) (no bias) */
dnn_status cudnn_conv2d_forward(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, const float *x,
                                const float *w, float *y, bool *done);
/* dx = conv_backward_data(dy, w) */
dnn_status cudnn_conv2d_backward_data(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, const float *dy,
                                      const float *w, float *dx, bool *done);
/* dw (kh,kw,C/groups,Co) = conv_backward_filter(x, dy) */
dnn_status cudnn_conv2d_backward_filter(const char *op, cuda_ctx *c, const cudnn_conv_geom &g, const float *x,
                                        const float *dy, float *dw, bool *done);

/* x (N,H,W,C) -> y (N,OH,OW,C), regular (not adaptive) windows */
struct cudnn_pool_geom {
  int64_t N, H, W, C, OH, OW, kh, kw, sh, sw, pt, pl;
};
/* Max (values only: the argmax the backward needs comes from our kernel) or
 * average over the cells inside the input. */
dnn_status cudnn_pool2d_forward(const char *op, cuda_ctx *c, const cudnn_pool_geom &g, bool is_max, const float *x,
                                float *y, bool *done);

/* ---- shared by the two files ---- */

/* false when DNN_CUDNN=0 (read once) */
bool cudnn_route_enabled(void);
/* DNN_CUDNN_LOG=1: cudnn_log(...) prints a line to stderr (read once) */
bool cudnn_route_log(void);
void cudnn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Serialises the use of one device's cuDNN handle and route caches. */
std::mutex &cudnn_device_lock(int device);
/* a value cuDNN's int descriptors take, >= 1 */
static inline bool cudnn_fits(int64_t v) { return v >= 1 && v <= 0x7fffffff; }
/* a*b*c*d <= INT32_MAX (cuDNN's descriptors count elements in int), each
 * factor already checked by cudnn_fits, so no step overflows */
static inline bool cudnn_numel_fits(int64_t a, int64_t b, int64_t c, int64_t d) {
  const int64_t lim = 0x7fffffff;
  int64_t p = a * b;
  if (p > lim) return false;
  p *= c;
  if (p > lim) return false;
  return p * d <= lim;
}
static inline bool cudnn_aligned(const void *p) { return ((uintptr_t)p & 15) == 0; }

/* The plan of key k in one device's cache (caller holds the device lock),
 * made by make() the first time; the cache starts again past max_plans
 * (many shapes: varying image sizes).  NULL when make() or the host
 * allocation fails. */
template <typename Key, typename Plan, typename Make>
Plan *cudnn_cached_plan(std::map<Key, Plan *> &cache, const Key &k, size_t max_plans, Make make,
                        void (*destroy)(Plan *)) {
  auto it = cache.find(k);
  if (it != cache.end()) return it->second;
  if (cache.size() >= max_plans) {
    for (auto &e : cache) destroy(e.second);
    cache.clear();
  }
  Plan *p = make();
  if (!p) return NULL;
  try {
    cache.emplace(k, p);
  } catch (const std::bad_alloc &) {
    destroy(p);
    return NULL;
  }
  return p;
}
/* cuDNN's status families: 3xxx means "not supported" */
static inline bool cudnn_not_supported(cudnnStatus_t s) { return (int)s >= 3000 && (int)s < 4000; }
#endif

#endif
