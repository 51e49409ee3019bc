/* The caching device allocator: cudaMalloc is slow and synchronising, so
 * freed blocks are kept in free lists by size and handed to the next request
 * that fits (no cudaMalloc per op once a training loop is warm).
 *
 * Sizes are rounded to classes: 512 bytes at least, then four classes per
 * power of two (at most 25% slack); a cached block serves a request when it
 * is at most 25% larger, so the odd last batch reuses a full batch's block.
 * Every kernel and copy of a device runs on its one stream, so a block freed
 * by the host may be handed out again at once: the next user's work is queued
 * after the last user's (PyTorch's caching allocator makes the same argument).
 *
 * Out of memory: the cache is emptied (cudaFree of every free block) and the
 * allocation retried; if that fails too, the error says how much the tensors
 * hold, how much the cache held and what the device has left, and the Lua
 * binding raises it (the process and the REPL survive). */
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "common.cuh"

namespace {

struct dev_pool {
  std::mutex mu;
  std::unordered_map<void *, std::pair<size_t, size_t>> live; /* ptr -> (block bytes, requested) */
  std::multimap<size_t, void *> free_blocks;                   /* block bytes -> ptr */
  int64_t allocated = 0, requested = 0, reserved = 0, cached = 0;
  int64_t peak_allocated = 0, peak_reserved = 0;
  int64_t n_allocs = 0, n_hits = 0, n_mallocs = 0, n_frees = 0, n_ooms = 0;
};

dev_pool pools[DNN_CUDA_MAX_DEVICES];

size_t round_size(size_t n) {
  if (n <= 512) return 512;
  int k = 63 - __builtin_clzll((unsigned long long)n); /* 2^k <= n */
  size_t step = ((size_t)1 << k) / 4;
  if (step < 512) step = 512;
  return (n + step - 1) / step * step;
}

/* Frees every cached block of the pool (lock held).  cudaFree waits for the
 * device, so no queued kernel still uses them. */
void release_cached(dev_pool &p) {
  for (auto &kv : p.free_blocks) {
    cudaFree(kv.second);
    p.reserved -= (int64_t)kv.first;
    p.n_frees++;
  }
  p.free_blocks.clear();
  p.cached = 0;
  (void)cudaGetLastError();
}

void format_bytes(char *buf, size_t len, int64_t b) {
  if (b >= (int64_t)1 << 30) snprintf(buf, len, "%.2f GiB", (double)b / (double)((int64_t)1 << 30));
  else if (b >= (int64_t)1 << 20) snprintf(buf, len, "%.2f MiB", (double)b / (double)((int64_t)1 << 20));
  else snprintf(buf, len, "%lld bytes", (long long)b);
}

}  // namespace

void *cuda_alloc(size_t n, dnn_device dev) {
  cuda_ctx *c = cuda_ctx_get("alloc", dev);
  if (!c) return NULL;
  dev_pool &p = pools[dev.index];
  size_t want = round_size(n);
  if (want < n) { /* wrapped: absurd size */
    dnn_error(DNN_ERR_MEMORY, "CUDA out of memory: %zu bytes cannot be allocated", n);
    return NULL;
  }
  std::lock_guard<std::mutex> g(p.mu);
  try {
    void *ptr = NULL;
    size_t got = 0;
    auto it = p.free_blocks.lower_bound(want);
    if (it != p.free_blocks.end() && it->first <= want + want / 4) {
      ptr = it->second;
      got = it->first;
      p.free_blocks.erase(it);
      p.cached -= (int64_t)got;
      p.n_hits++;
    } else {
      cudaError_t e = cudaMalloc(&ptr, want);
      if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        release_cached(p);
        e = cudaMalloc(&ptr, want);
      }
      if (e != cudaSuccess) {
        (void)cudaGetLastError();
        if (e != cudaErrorMemoryAllocation) {
          cuda_fail("alloc", "cudaMalloc", e);
          return NULL;
        }
        p.n_ooms++;
        size_t fr = 0, tot = 0;
        if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) (void)cudaGetLastError();
        char b0[32], b1[32], b2[32], b3[32];
        format_bytes(b0, sizeof b0, (int64_t)n);
        format_bytes(b1, sizeof b1, p.allocated);
        format_bytes(b2, sizeof b2, (int64_t)fr);
        format_bytes(b3, sizeof b3, (int64_t)tot);
        dnn_error(DNN_ERR_MEMORY,
                  "CUDA out of memory on cuda:%d allocating %s (tensors hold %s; the device has %s free of "
                  "%s; the cache was emptied first). Free tensors (t = nil; collectgarbage()) or use smaller "
                  "batches",
                  dev.index, b0, b1, b2, b3);
        return NULL;
      }
      got = want;
      p.reserved += (int64_t)got;
      p.n_mallocs++;
      if (p.reserved > p.peak_reserved) p.peak_reserved = p.reserved;
    }
    p.live.emplace(ptr, std::make_pair(got, n));
    p.allocated += (int64_t)got;
    p.requested += (int64_t)n;
    p.n_allocs++;
    if (p.allocated > p.peak_allocated) p.peak_allocated = p.allocated;
    return ptr;
  } catch (const std::bad_alloc &) {
    dnn_error(DNN_ERR_MEMORY, "alloc: out of host memory for the CUDA allocator's tables");
    return NULL;
  }
}

void cuda_free(void *ptr, dnn_device dev) {
  if (!ptr || dev.index < 0 || dev.index >= DNN_CUDA_MAX_DEVICES) return;
  dev_pool &p = pools[dev.index];
  std::lock_guard<std::mutex> g(p.mu);
  auto it = p.live.find(ptr);
  if (it == p.live.end()) return; /* not ours: never hand it out */
  size_t got = it->second.first, req = it->second.second;
  p.live.erase(it);
  p.allocated -= (int64_t)got;
  p.requested -= (int64_t)req;
  try {
    p.free_blocks.emplace(got, ptr);
    p.cached += (int64_t)got;
  } catch (const std::bad_alloc &) { /* cannot cache it: give it back */
    cudaFree(ptr);
    p.reserved -= (int64_t)got;
    p.n_frees++;
  }
}

void *cuda_scratch_alloc(const char *op, size_t n, dnn_device dev) {
  void *p = cuda_alloc(n ? n : 1, dev);
  if (!p) dnn_error_prefix(op);
  return p;
}

void cuda_scratch_free(void *p, dnn_device dev) { cuda_free(p, dev); }

extern "C" dnn_status dnn_cuda_empty_cache(int device) {
  int n = dnn_cuda_device_count();
  for (int i = 0; i < n; i++) {
    if (device >= 0 && i != device) continue;
    dev_pool &p = pools[i];
    std::lock_guard<std::mutex> g(p.mu);
    if (p.free_blocks.empty()) continue;
    dnn_device d = {DNN_DEVICE_CUDA, (int8_t)i};
    if (!cuda_ctx_get("empty_cache", d)) return dnn_error_code();
    release_cached(p);
  }
  return DNN_OK;
}

/* Copy counters live in memcpy.cu. */
void cuda_copy_counters(int device, int64_t *h2d, int64_t *h2d_bytes, int64_t *d2h, int64_t *d2h_bytes);

extern "C" dnn_status dnn_cuda_get_memory_stats(int device, dnn_cuda_memory_stats *out) {
  memset(out, 0, sizeof *out);
  out->device_free_bytes = out->device_total_bytes = -1;
  if (device < 0 || device >= DNN_CUDA_MAX_DEVICES)
    return dnn_error(DNN_ERR_DEVICE, "memory_stats: cuda:%d does not exist", device);
  {
    dev_pool &p = pools[device];
    std::lock_guard<std::mutex> g(p.mu);
    out->allocated_bytes = p.allocated;
    out->requested_bytes = p.requested;
    out->reserved_bytes = p.reserved;
    out->cached_bytes = p.cached;
    out->peak_allocated_bytes = p.peak_allocated;
    out->peak_reserved_bytes = p.peak_reserved;
    out->num_allocs = p.n_allocs;
    out->num_cache_hits = p.n_hits;
    out->num_device_mallocs = p.n_mallocs;
    out->num_device_frees = p.n_frees;
    out->num_ooms = p.n_ooms;
  }
  cuda_copy_counters(device, &out->h2d_copies, &out->h2d_bytes, &out->d2h_copies, &out->d2h_bytes);
  if (device < dnn_cuda_device_count()) {
    dnn_device d = {DNN_DEVICE_CUDA, (int8_t)device};
    if (cuda_ctx_get("memory_stats", d)) {
      size_t fr = 0, tot = 0;
      if (cudaMemGetInfo(&fr, &tot) == cudaSuccess) {
        out->device_free_bytes = (int64_t)fr;
        out->device_total_bytes = (int64_t)tot;
      } else {
        (void)cudaGetLastError();
      }
    } else {
      dnn_error_clear();
    }
  }
  return DNN_OK;
}

extern "C" void dnn_cuda_reset_peak_memory_stats(int device) {
  if (device < 0 || device >= DNN_CUDA_MAX_DEVICES) return;
  dev_pool &p = pools[device];
  std::lock_guard<std::mutex> g(p.mu);
  p.peak_allocated = p.allocated;
  p.peak_reserved = p.reserved;
}
