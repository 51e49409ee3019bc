/* CUB device algorithms on the backend's stream with scratch memory from the
 * caching allocator (sort.cu, masked.cu).
 *
 * A CUB call runs twice: first with no temp storage, to learn how many bytes
 * it needs, then with a block of that size.  cu_scratch owns every block an
 * op takes and gives them back when it goes out of scope, on every return
 * path; stream order makes that safe while the kernels are still queued (the
 * allocator hands a freed block out only to work queued after them). */
#ifndef DNN_CUDA_CUB_RUN_CUH
#define DNN_CUDA_CUB_RUN_CUH

#include <cub/cub.cuh>

#include "elementwise.cuh"

#define CU_SCRATCH_MAX 12

struct cu_scratch {
  const char *op;
  dnn_device dev;
  void *blocks[CU_SCRATCH_MAX];
  int n;

  cu_scratch(const char *op_, dnn_device dev_) : op(op_), dev(dev_), n(0) {}
  ~cu_scratch() {
    for (int i = n - 1; i >= 0; i--) cuda_scratch_free(blocks[i], dev);
  }
  cu_scratch(const cu_scratch &) = delete;
  cu_scratch &operator=(const cu_scratch &) = delete;

  /* count elements of T, or NULL with the error set (naming op) */
  template <typename T>
  T *get(int64_t count) {
    if (n == CU_SCRATCH_MAX) {
      dnn_error(DNN_ERR_INTERNAL, "%s: too many scratch blocks", op);
      return NULL;
    }
    void *p = cuda_scratch_alloc(op, (size_t)(count > 0 ? count : 1) * sizeof(T), dev);
    if (p) blocks[n++] = p;
    return (T *)p;
  }
};

/* Runs call(temp, bytes) -> cudaError_t the CUB way: size query, then the
 * work with temp storage from s.  what names the CUB algorithm in errors. */
template <typename F>
dnn_status cu_cub_run(cu_scratch &s, const char *what, F call) {
  size_t bytes = 0;
  cudaError_t e = call(NULL, bytes);
  if (e != cudaSuccess) return cuda_fail(s.op, what, e);
  char *tmp = s.get<char>((int64_t)bytes);
  if (!tmp) return dnn_error_code();
  e = call(tmp, bytes);
  if (e != cudaSuccess) return cuda_fail(s.op, what, e);
  return DNN_OK;
}

#endif
