/* The CUDA backend table, per-device contexts (stream, cuBLAS handle), error
 * reporting and the strided-operand set-up shared by the elementwise kernels.
 * Ops without a CUDA kernel stay NULL in the table: dnn_dispatch then says
 * "<op>: not implemented on cuda", which names the op. */
#include <mutex>
#include <stdio.h>
#include <string.h>

#include "common.cuh"

/* ---- errors ---- */

static bool cuda_error_is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
      return true;
    default:
      return false;
  }
}

dnn_status cuda_fail(const char *op, const char *expr, cudaError_t e) {
  (void)cudaGetLastError(); /* clear a non-sticky error so later calls work */
  if (e == cudaErrorMemoryAllocation)
    return dnn_error(DNN_ERR_MEMORY, "%s: CUDA out of memory (%s)", op, expr);
  if (cuda_error_is_sticky(e))
    return dnn_error(DNN_ERR_INTERNAL,
                     "%s: CUDA error %s: %s (in %s); the GPU context is lost, restart the process", op,
                     cudaGetErrorName(e), cudaGetErrorString(e), expr);
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInvalidDevice)
    return dnn_error(DNN_ERR_DEVICE, "%s: CUDA device not available: %s (%s)", op, cudaGetErrorString(e), expr);
  return dnn_error(DNN_ERR_INTERNAL, "%s: CUDA error %s: %s (in %s)", op, cudaGetErrorName(e),
                   cudaGetErrorString(e), expr);
}

static const char *cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_?";
  }
}

dnn_status cublas_fail(const char *op, const char *expr, cublasStatus_t s) {
  (void)cudaGetLastError();
  return dnn_error(s == CUBLAS_STATUS_ALLOC_FAILED ? DNN_ERR_MEMORY : DNN_ERR_INTERNAL, "%s: cuBLAS error %s (in %s)",
                   op, cublas_status_name(s), expr);
}

#ifdef DNN_HAVE_CUDNN
/* cuDNN statuses group by thousands: 3xxx not supported, 4003/4004 allocation
 * failures; cudnnGetLastErrorString adds the library's own explanation. */
dnn_status cudnn_fail(const char *op, const char *expr, cudnnStatus_t s) {
  (void)cudaGetLastError();
  char detail[256];
  detail[0] = 0;
  cudnnGetLastErrorString(detail, sizeof detail);
  bool oom = s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
             s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
  return dnn_error(oom ? DNN_ERR_MEMORY : DNN_ERR_INTERNAL, "%s: cuDNN error %s (in %s)%s%s", op,
                   cudnnGetErrorString(s), expr, detail[0] ? ": " : "", detail);
}
#endif

extern "C" int dnn_cuda_cudnn_version(void) {
#ifdef DNN_HAVE_CUDNN
  return (int)cudnnGetVersion();
#else
  return 0;
#endif
}

/* ---- devices and contexts ---- */

static std::mutex ctx_lock;
static cuda_ctx contexts[DNN_CUDA_MAX_DEVICES];
static thread_local int current_device = -1;

extern "C" int dnn_cuda_device_count(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    n = 0;
  }
  if (n > DNN_CUDA_MAX_DEVICES) n = DNN_CUDA_MAX_DEVICES;
  cached = n;
  return n;
}

extern "C" dnn_status dnn_cuda_check_device(const char *op, dnn_device dev) {
  int n = dnn_cuda_device_count();
  if (dev.type != DNN_DEVICE_CUDA)
    return dnn_error(DNN_ERR_DEVICE, "%s: not a CUDA device", op);
  if (n == 0)
    return dnn_error(DNN_ERR_DEVICE,
                     "%s: device cuda:%d is not available: no CUDA device was found (this build has the CUDA "
                     "backend, but the driver or a GPU is missing; dnn.cuda.is_available() says so)",
                     op, (int)dev.index);
  if (dev.index < 0 || dev.index >= n)
    return dnn_error(DNN_ERR_DEVICE, "%s: device cuda:%d is not available (%d CUDA device%s: cuda:0..cuda:%d)", op,
                     (int)dev.index, n, n == 1 ? "" : "s", n - 1);
  return DNN_OK;
}

static dnn_status ctx_create(const char *op, cuda_ctx *c, int device) {
  CU_CHECK(op, cudaSetDevice(device));
  current_device = device;
  CU_CHECK(op, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
  CUBLAS_CHECK(op, cublasCreate(&c->blas));
  CUBLAS_CHECK(op, cublasSetStream(c->blas, c->stream));
  /* no TF32 unless asked per call (matmul.cu picks the compute type) */
  CUBLAS_CHECK(op, cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH));
  CU_CHECK(op, cudaMalloc((void **)&c->err_flag, sizeof(int)));
  CU_CHECK(op, cudaMemsetAsync(c->err_flag, 0, sizeof(int), c->stream));
  CU_CHECK(op, cudaDeviceGetAttribute(&c->sm_count, cudaDevAttrMultiProcessorCount, device));
  c->device = device;
  c->ready = true;
  return DNN_OK;
}

cuda_ctx *cuda_ctx_get(const char *op, dnn_device dev) {
  if (dnn_cuda_check_device(op, dev) != DNN_OK) return NULL;
  cuda_ctx *c = &contexts[dev.index];
  if (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE)) {
    std::lock_guard<std::mutex> g(ctx_lock);
    if (!c->ready && ctx_create(op, c, dev.index) != DNN_OK) return NULL;
  }
  if (current_device != dev.index) {
    cudaError_t e = cudaSetDevice(dev.index);
    if (e != cudaSuccess) {
      cuda_fail(op, "cudaSetDevice", e);
      return NULL;
    }
    current_device = dev.index;
  }
  return c;
}

#ifdef DNN_HAVE_CUDNN
/* Lazily, under the context lock: a failed cudnnCreate (library pieces
 * missing, driver too old) is remembered and the callers use their own
 * kernels; it is not an error of the op. */
cudnnHandle_t cuda_cudnn_handle(cuda_ctx *c) {
  int st = __atomic_load_n(&c->cudnn_state, __ATOMIC_ACQUIRE);
  if (st != 0) return st > 0 ? c->cudnn : NULL;
  std::lock_guard<std::mutex> g(ctx_lock);
  if (c->cudnn_state == 0) {
    cudnnHandle_t h = NULL;
    int next = -1;
    if (cudnnCreate(&h) == CUDNN_STATUS_SUCCESS) {
      if (cudnnSetStream(h, c->stream) == CUDNN_STATUS_SUCCESS) {
        c->cudnn = h;
        next = 1;
      } else {
        cudnnDestroy(h);
      }
    }
    (void)cudaGetLastError();
    __atomic_store_n(&c->cudnn_state, next, __ATOMIC_RELEASE);
  }
  return c->cudnn_state > 0 ? c->cudnn : NULL;
}
#endif

dnn_status cuda_read_err_flag(const char *op, cuda_ctx *c, int *flag) {
  CU_CHECK(op, cudaMemcpyAsync(flag, c->err_flag, sizeof(int), cudaMemcpyDeviceToHost, c->stream));
  CU_CHECK(op, cudaStreamSynchronize(c->stream));
  if (*flag) CU_CHECK(op, cudaMemsetAsync(c->err_flag, 0, sizeof(int), c->stream));
  return DNN_OK;
}

dnn_status cu_check_operands(const char *op, const cuda_ctx *c, int n, const dnn_tensor *const *ts) {
  for (int k = 0; k < n; k++) {
    if (!ts[k]) continue;
    dnn_device d = dnn_tensor_device(ts[k]);
    if (d.type != DNN_DEVICE_CUDA || d.index != c->device) {
      char buf[16];
      return dnn_error(DNN_ERR_DEVICE, "%s: operand %d is on %s but the op runs on cuda:%d; move it with :to()", op,
                       k + 1, dnn_device_str(d, buf), c->device);
    }
  }
  return DNN_OK;
}

extern "C" dnn_status dnn_cuda_synchronize(int device) {
  int n = dnn_cuda_device_count();
  for (int i = 0; i < n; i++) {
    if (device >= 0 && i != device) continue;
    if (!contexts[i].ready) continue;
    dnn_device d = {DNN_DEVICE_CUDA, (int8_t)i};
    cuda_ctx *c = cuda_ctx_get("synchronize", d);
    if (!c) return dnn_error_code();
    CU_CHECK("synchronize", cudaStreamSynchronize(c->stream));
  }
  return DNN_OK;
}

/* ---- strided operands ---- */

dnn_status cu_iter_init(const char *op, cu_iter *it, int nops, const dnn_tensor *const *ts) {
  const dnn_tensor *t0 = ts[0];
  dnn_device dev = dnn_tensor_device(t0);
  for (int k = 1; k < nops; k++)
    if (!dnn_device_eq(dnn_tensor_device(ts[k]), dev)) {
      char b0[16], b1[16];
      return dnn_error(DNN_ERR_DEVICE, "%s: operand %d is on %s but the result is on %s", op, k + 1,
                       dnn_device_str(dnn_tensor_device(ts[k]), b0), dnn_device_str(dev, b1));
    }
  it->nops = nops;
  it->numel = dnn_numel(t0);
  for (int k = 0; k < nops; k++) it->base[k] = (char *)dnn_data_ptr(ts[k]);
  it->ndim = dnn_coalesce_dims(nops, ts, false, it->shape, it->strides);
  /* flat: every operand contiguous or a broadcast scalar, so one linear
   * index serves all (the common case: no division per element) */
  it->flat = true;
  for (int k = 0; k < nops; k++) {
    bool zero = true, contig = true;
    int64_t expect = 1;
    for (int d = it->ndim - 1; d >= 0; d--) {
      zero = zero && it->strides[k][d] == 0;
      if (it->strides[k][d] != expect) contig = false;
      expect *= it->shape[d];
    }
    if (zero || it->numel <= 1) it->step[k] = 0;
    else if (contig) it->step[k] = 1;
    else it->flat = false;
  }
  return DNN_OK;
}

/* ---- the table ---- */

void *cuda_alloc(size_t n, dnn_device dev); /* allocator.cu */
void cuda_free(void *p, dnn_device dev);
dnn_status cu_sort(const dnn_op_args *a); /* sort.cu: SORT and TOPK */
dnn_status cu_unique(const dnn_op_args *a);
dnn_status cu_bincount(const dnn_op_args *a);
dnn_status cu_masked_select(const dnn_op_args *a); /* masked.cu */
dnn_status cu_masked_scatter(const dnn_op_args *a);

#define K(op) [DNN_OP_##op]
static dnn_backend cuda_backend;

static void table_init(dnn_backend *b) {
  memset(b, 0, sizeof *b);
  b->name = "cuda";
  b->alloc = cuda_alloc;
  b->free = cuda_free;
  b->memcpy_h2d = dnn_cuda_memcpy_h2d;
  b->memcpy_d2h = dnn_cuda_memcpy_d2h;
  dnn_kernel *k = b->kernels;
  for (int op = DNN_OP_ADD; op <= DNN_OP_LOGICAL_XOR; op++) k[op] = cu_binary;
  for (int op = DNN_OP_NEG; op <= DNN_OP_COSH; op++) k[op] = cu_unary;
  k[DNN_OP_CLAMP] = cu_clamp;
  k[DNN_OP_WHERE] = cu_where;
  k[DNN_OP_FILL] = cu_fill;
  k[DNN_OP_COPY] = cu_copy;
  for (int op = DNN_OP_SUM; op <= DNN_OP_LOGSUMEXP; op++) k[op] = cu_reduce;
  k[DNN_OP_CUMSUM] = cu_cumulative;
  k[DNN_OP_CUMPROD] = cu_cumulative;
  k[DNN_OP_MATMUL] = cu_matmul;
  k[DNN_OP_UNIFORM] = cu_random;
  k[DNN_OP_NORMAL] = cu_random;
  k[DNN_OP_BERNOULLI] = cu_random;
  k[DNN_OP_RANDINT] = cu_random;
  k[DNN_OP_SOFTMAX] = cu_softmax;
  k[DNN_OP_SOFTMAX_BACKWARD] = cu_softmax_backward;
  k[DNN_OP_ACTIVATION] = cu_activation;
  k[DNN_OP_ACTIVATION_BACKWARD] = cu_activation_backward;
  k[DNN_OP_LINEAR] = cu_linear;
  k[DNN_OP_LINEAR_BACKWARD] = cu_linear_backward;
  k[DNN_OP_LINEAR_KERNEL_GRAD] = cu_linear_kernel_grad;
  k[DNN_OP_DROPOUT] = cu_dropout;
  k[DNN_OP_OPTIM_UPDATE] = cu_optim_update;
  k[DNN_OP_OPTIM_SQNORM] = cu_optim_sqnorm;
  k[DNN_OP_CATEGORICAL_CROSSENTROPY] = cu_xent_forward;
  k[DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY] = cu_xent_forward;
  k[DNN_OP_BINARY_CROSSENTROPY] = cu_xent_forward;
  k[DNN_OP_CATEGORICAL_CROSSENTROPY_BACKWARD] = cu_xent_backward;
  k[DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD] = cu_xent_backward;
  k[DNN_OP_BINARY_CROSSENTROPY_BACKWARD] = cu_xent_backward;
  k[DNN_OP_GATHER] = cu_gather;
  k[DNN_OP_SCATTER] = cu_scatter;
  k[DNN_OP_SCATTER_ADD] = cu_scatter;
  k[DNN_OP_INDEX_SELECT] = cu_index_select;
  k[DNN_OP_INDEX_ADD] = cu_index_add;
  k[DNN_OP_MASKED_FILL] = cu_masked_fill;
  k[DNN_OP_MASKED_SELECT] = cu_masked_select;
  k[DNN_OP_MASKED_SCATTER] = cu_masked_scatter;
  k[DNN_OP_SORT] = cu_sort;
  k[DNN_OP_TOPK] = cu_sort;
  k[DNN_OP_BINCOUNT] = cu_bincount;
  k[DNN_OP_UNIQUE] = cu_unique;
  k[DNN_OP_ONE_HOT] = cu_one_hot;
  k[DNN_OP_EMBEDDING] = cu_embedding;
  k[DNN_OP_EMBEDDING_BACKWARD] = cu_embedding_backward;
  k[DNN_OP_BATCH_NORM_STATS] = cu_batch_norm_stats;
  k[DNN_OP_BATCH_NORM] = cu_batch_norm;
  k[DNN_OP_BATCH_NORM_BACKWARD] = cu_batch_norm_backward;
  k[DNN_OP_LAYER_NORM] = cu_layer_norm;
  k[DNN_OP_LAYER_NORM_BACKWARD] = cu_layer_norm_backward;
  k[DNN_OP_CONV2D] = cu_conv2d;
  k[DNN_OP_CONV2D_INPUT_GRAD] = cu_conv2d_input_grad;
  k[DNN_OP_CONV2D_KERNEL_GRAD] = cu_conv2d_kernel_grad;
  k[DNN_OP_POOL2D] = cu_pool2d;
  k[DNN_OP_POOL2D_BACKWARD] = cu_pool2d_backward;
}
#undef K

extern "C" void dnn_cuda_backend_init(void) {
  static std::once_flag once;
  std::call_once(once, [] {
    table_init(&cuda_backend);
    dnn_backend_register(DNN_DEVICE_CUDA, &cuda_backend);
  });
}

/* For the parity spec and the report: which ops have a CUDA kernel. */
extern "C" int dnn_cuda_has_kernel(int op) {
  return op >= 0 && op < DNN_OP_COUNT && cuda_backend.kernels[op] != NULL;
}
