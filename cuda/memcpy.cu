/* Host <-> device copies through pinned staging buffers.
 *
 * A copy from pageable memory is staged by the driver anyway and blocks the
 * host; staging it ourselves in page-locked buffers lets a host -> device
 * copy return as soon as the bytes are in a buffer, the DMA queued on the
 * device's stream behind earlier kernels (so a batch's upload overlaps the
 * previous step's work).  Each buffer has an event; a buffer is refilled only
 * after its last DMA finished.  Device -> host copies pipeline the same ring:
 * chunk i+1's DMA runs while chunk i is copied out to the caller.
 *
 * Counters of copies and bytes per device feed dnn.cuda.memory_stats(), so a
 * spec can check that fit moves nothing but its batches. */
#include <mutex>
#include <string.h>

#include "common.cuh"

#define STAGE_BUFFERS 4
#define STAGE_BYTES ((size_t)4 << 20)

namespace {

struct stage_ring {
  std::mutex mu;
  void *buf[STAGE_BUFFERS];
  cudaEvent_t done[STAGE_BUFFERS];
  bool ready;
  int next;
};

stage_ring rings[DNN_CUDA_MAX_DEVICES];

struct copy_counters {
  int64_t h2d, h2d_bytes, d2h, d2h_bytes;
};
copy_counters counters[DNN_CUDA_MAX_DEVICES];

dnn_status ring_init(const char *op, stage_ring &r) {
  if (r.ready) return DNN_OK;
  for (int i = 0; i < STAGE_BUFFERS; i++) {
    CU_CHECK(op, cudaHostAlloc(&r.buf[i], STAGE_BYTES, cudaHostAllocDefault));
    CU_CHECK(op, cudaEventCreateWithFlags(&r.done[i], cudaEventDisableTiming));
  }
  r.ready = true;
  r.next = 0;
  return DNN_OK;
}

}  // namespace

void cuda_copy_counters(int device, int64_t *h2d, int64_t *h2d_bytes, int64_t *d2h, int64_t *d2h_bytes) {
  copy_counters &k = counters[device];
  *h2d = __atomic_load_n(&k.h2d, __ATOMIC_RELAXED);
  *h2d_bytes = __atomic_load_n(&k.h2d_bytes, __ATOMIC_RELAXED);
  *d2h = __atomic_load_n(&k.d2h, __ATOMIC_RELAXED);
  *d2h_bytes = __atomic_load_n(&k.d2h_bytes, __ATOMIC_RELAXED);
}

extern "C" dnn_status dnn_cuda_memcpy_h2d(void *dst, const void *src, size_t n, dnn_device dev) {
  const char *op = "copy to cuda";
  cuda_ctx *c = cuda_ctx_get(op, dev);
  if (!c) return dnn_error_code();
  copy_counters &k = counters[dev.index];
  __atomic_add_fetch(&k.h2d, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&k.h2d_bytes, (int64_t)n, __ATOMIC_RELAXED);
  if (n == 0) return DNN_OK;
  stage_ring &r = rings[dev.index];
  std::lock_guard<std::mutex> g(r.mu);
  DNN_RETURN_IF_ERR(ring_init(op, r));
  for (size_t done = 0; done < n; done += STAGE_BYTES) {
    size_t len = n - done < STAGE_BYTES ? n - done : STAGE_BYTES;
    int b = r.next;
    r.next = (r.next + 1) % STAGE_BUFFERS;
    CU_CHECK(op, cudaEventSynchronize(r.done[b])); /* its previous DMA has finished */
    memcpy(r.buf[b], (const char *)src + done, len);
    CU_CHECK(op, cudaMemcpyAsync((char *)dst + done, r.buf[b], len, cudaMemcpyHostToDevice, c->stream));
    CU_CHECK(op, cudaEventRecord(r.done[b], c->stream));
  }
  return DNN_OK;
}

extern "C" dnn_status dnn_cuda_memcpy_d2h(void *dst, const void *src, size_t n, dnn_device dev) {
  const char *op = "copy to cpu";
  cuda_ctx *c = cuda_ctx_get(op, dev);
  if (!c) return dnn_error_code();
  copy_counters &k = counters[dev.index];
  __atomic_add_fetch(&k.d2h, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&k.d2h_bytes, (int64_t)n, __ATOMIC_RELAXED);
  if (n == 0) return DNN_OK;
  stage_ring &r = rings[dev.index];
  std::lock_guard<std::mutex> g(r.mu);
  DNN_RETURN_IF_ERR(ring_init(op, r));
  size_t nchunks = (n + STAGE_BYTES - 1) / STAGE_BYTES;
  int slot[STAGE_BUFFERS];
  /* queue up to STAGE_BUFFERS chunks ahead, copy each out when its event fires */
  size_t issued = 0;
  for (size_t i = 0; i < nchunks; i++) {
    while (issued < nchunks && issued < i + STAGE_BUFFERS) {
      size_t off = issued * STAGE_BYTES, len = n - off < STAGE_BYTES ? n - off : STAGE_BYTES;
      int b = r.next;
      r.next = (r.next + 1) % STAGE_BUFFERS;
      CU_CHECK(op, cudaEventSynchronize(r.done[b])); /* an earlier h2d may still read it */
      CU_CHECK(op, cudaMemcpyAsync(r.buf[b], (const char *)src + off, len, cudaMemcpyDeviceToHost, c->stream));
      CU_CHECK(op, cudaEventRecord(r.done[b], c->stream));
      slot[issued % STAGE_BUFFERS] = b;
      issued++;
    }
    size_t off = i * STAGE_BYTES, len = n - off < STAGE_BYTES ? n - off : STAGE_BYTES;
    int b = slot[i % STAGE_BUFFERS];
    CU_CHECK(op, cudaEventSynchronize(r.done[b]));
    memcpy((char *)dst + off, r.buf[b], len);
  }
  return DNN_OK;
}

extern "C" dnn_status dnn_cuda_memcpy_d2d(void *dst, const void *src, size_t n, dnn_device dev) {
  const char *op = "copy";
  cuda_ctx *c = cuda_ctx_get(op, dev);
  if (!c) return dnn_error_code();
  if (n == 0) return DNN_OK;
  CU_CHECK(op, cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, c->stream));
  return DNN_OK;
}
