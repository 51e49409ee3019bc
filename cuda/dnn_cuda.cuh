/* dnn_cuda.cuh -- the CUDA backend's C API (plain C: the Lua bindings include
 * it).  Everything else of the backend is reached through the backend table
 * (dnn_backend_register(DNN_DEVICE_CUDA, ...)), as the CPU backend is.
 *
 * Only compiled in when CMake found nvcc and cuBLAS (DNN_HAVE_CUDA); callers
 * guard their use with #ifdef DNN_HAVE_CUDA. */
#ifndef DNN_CUDA_CUH
#define DNN_CUDA_CUH

#include "dnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the CUDA backend (idempotent).  Cheap: touches no device; the
 * driver is initialised at the first allocation or query. */
void dnn_cuda_backend_init(void);

/* Devices usable now (0 when the driver or the device is missing; never an
 * error: a build with CUDA runs on machines without a GPU). */
int dnn_cuda_device_count(void);

/* The cuDNN library's version (e.g. 91900 for 9.19.0) when the backend was
 * built with cuDNN, else 0.  Touches no device. */
int dnn_cuda_cudnn_version(void);

/* 1 when op (a dnn_op) has a CUDA kernel in the table. */
int dnn_cuda_has_kernel(int op);

/* Checks that dev names an existing CUDA device; error names op. */
dnn_status dnn_cuda_check_device(const char *op, dnn_device dev);

typedef struct {
  int64_t allocated_bytes;      /* bytes of live blocks (rounded sizes) */
  int64_t requested_bytes;      /* bytes the live blocks were asked for */
  int64_t reserved_bytes;       /* bytes taken from cudaMalloc: live + cached */
  int64_t cached_bytes;         /* free blocks kept for reuse */
  int64_t peak_allocated_bytes;
  int64_t peak_reserved_bytes;
  int64_t num_allocs;           /* allocations served */
  int64_t num_cache_hits;       /* of which from the cache */
  int64_t num_device_mallocs;   /* cudaMalloc calls */
  int64_t num_device_frees;     /* cudaFree calls (empty_cache, OOM retries) */
  int64_t num_ooms;             /* allocations that failed even after emptying the cache */
  int64_t h2d_copies, h2d_bytes; /* host -> device copies through the backend */
  int64_t d2h_copies, d2h_bytes; /* device -> host copies */
  int64_t device_free_bytes;    /* cudaMemGetInfo, -1 when unknown */
  int64_t device_total_bytes;
} dnn_cuda_memory_stats;

/* Statistics of one device's caching allocator. */
dnn_status dnn_cuda_get_memory_stats(int device, dnn_cuda_memory_stats *out);
void dnn_cuda_reset_peak_memory_stats(int device);
/* Gives every cached (free) block back to the driver; -1: all devices. */
dnn_status dnn_cuda_empty_cache(int device);
/* Waits for all work queued on the device's stream. */
dnn_status dnn_cuda_synchronize(int device);

/* TF32 tensor-core math for float32 matmul (off by default: float32 results
 * then match the CPU to float32 rounding). */
void dnn_cuda_set_allow_tf32(bool on);
bool dnn_cuda_get_allow_tf32(void);

/* Copies contiguous bytes between host and device (cuda/memcpy.cu).  h2d goes
 * through pinned staging buffers and returns once src may be reused (the DMA
 * may still run, ordered on the device's stream); d2h returns when dst holds
 * the data. */
dnn_status dnn_cuda_memcpy_h2d(void *dst, const void *src, size_t n, dnn_device dev);
dnn_status dnn_cuda_memcpy_d2h(void *dst, const void *src, size_t n, dnn_device dev);
/* Device to device on one device's stream (both pointers on dev). */
dnn_status dnn_cuda_memcpy_d2d(void *dst, const void *src, size_t n, dnn_device dev);

#ifdef __cplusplus
}
#endif

#endif
