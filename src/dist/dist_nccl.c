/* NCCL collectives for tensors on GPUs: one GPU per local rank, the NCCL
 * communicator set up through MPI (rank 0's unique id is broadcast); without
 * MPI it is a communicator of one, which still runs the whole path.
 *
 * Minimal on purpose.  It compiles wherever the CUDA toolkit's nccl.h is
 * found, loads libnccl and libcudart at first use (so a build made on a CUDA
 * machine still runs on CPU-only nodes), reduces CUDA tensors in place with
 * one NCCL call per tensor inside a group (NCCL fuses grouped calls itself),
 * and has a self-test that runs the path on device buffers.  UNTESTED: no GPU
 * was available to this work (spec/distributed_spec.lua has #gpu cases). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

#define g dnn_dist_g

#if defined(DNN_HAVE_NCCL)
#include <dlfcn.h>
#include <nccl.h>

bool dnn_dist_nccl_compiled(void) { return true; }

#define NCCL_FNS(X)                                                                                     \
  X(ncclGetUniqueId) X(ncclCommInitRank) X(ncclAllReduce) X(ncclBroadcast) X(ncclGroupStart)          \
  X(ncclGroupEnd) X(ncclGetErrorString) X(ncclCommAbort) X(ncclRedOpCreatePreMulSum) X(ncclRedOpDestroy)
#define CUDA_FNS(X)                                                                                     \
  X(cudaGetDeviceCount) X(cudaSetDevice) X(cudaStreamCreate) X(cudaStreamQuery) X(cudaMalloc)        \
  X(cudaFree) X(cudaMemcpy) X(cudaGetErrorString)

static struct {
  bool ready;
  void *nccl, *cudart;
  ncclComm_t comm;
  cudaStream_t stream;
  int device;
#define DECL(f) __typeof__(&f) f;
  NCCL_FNS(DECL) CUDA_FNS(DECL)
#undef DECL
} nc;

/* The CUDA backend (cuda/, when linked) runs every kernel on one stream per
 * device; NCCL runs on a stream of its own, so each collective first waits
 * for the backend's queued work (the gradients) and returns only when NCCL is
 * done (the backend's later kernels then see the result).  Weak: libdnn
 * links without the backend. */
extern dnn_status dnn_cuda_synchronize(int device) __attribute__((weak));

static dnn_status backend_ready(int n, dnn_tensor *const *ts, const char *op) {
  for (int i = 0; i < n; i++) {
    int dev = dnn_tensor_device(ts[i]).index;
    if (dev != nc.device)
      return dnn_error(DNN_ERR_DEVICE, "%s: tensor %d is on cuda:%d but this replica's GPU is cuda:%d (one GPU per "
                                       "local rank: local_rank %d)", op, i + 1, dev, nc.device, g.local_rank);
  }
  if (dnn_cuda_synchronize) return dnn_cuda_synchronize(nc.device);
  return DNN_OK;
}

static void *open_first(const char *const *names) {
  for (int i = 0; names[i]; i++) {
    void *h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (h) return h;
  }
  return NULL;
}

static dnn_status load(void) {
  static const char *const nccl_names[] = {"libnccl.so.2", "libnccl.so",
#ifdef DNN_NCCL_LIBRARY
                                           DNN_NCCL_LIBRARY,
#endif
                                           "/usr/local/cuda/lib/libnccl.so.2", NULL};
  static const char *const cudart_names[] = {"libcudart.so", "libcudart.so.13", "libcudart.so.12",
#ifdef DNN_CUDART_LIBRARY
                                             DNN_CUDART_LIBRARY,
#endif
                                             "/usr/local/cuda/lib64/libcudart.so", NULL};
  if (!nc.cudart) nc.cudart = open_first(cudart_names);
  if (!nc.nccl) nc.nccl = open_first(nccl_names);
  if (!nc.cudart || !nc.nccl)
    return dnn_error(DNN_ERR_DEVICE, "nccl: cannot load %s (%s)", nc.cudart ? "libnccl.so.2" : "libcudart.so",
                     dlerror());
#define LOADF(f, lib)                                                              \
  if (!(nc.f = (__typeof__(&f))dlsym(lib, #f)))                                     \
    return dnn_error(DNN_ERR_DEVICE, "nccl: %s is missing from the library", #f);
#define LN(f) LOADF(f, nc.nccl)
#define LC(f) LOADF(f, nc.cudart)
  NCCL_FNS(LN) CUDA_FNS(LC)
#undef LN
#undef LC
#undef LOADF
  return DNN_OK;
}

#define CUDA_TRY(op, call)                                                                          \
  do {                                                                                              \
    cudaError_t e_ = (call);                                                                        \
    if (e_ != cudaSuccess) return dnn_error(DNN_ERR_DEVICE, "%s: %s", op, nc.cudaGetErrorString(e_)); \
  } while (0)
#define NCCL_TRY(op, call)                                                                          \
  do {                                                                                              \
    ncclResult_t r_ = (call);                                                                       \
    if (r_ != ncclSuccess) return dnn_dist_fail(DNN_ERR_DEVICE, "%s: %s", op, nc.ncclGetErrorString(r_)); \
  } while (0)

dnn_status dnn_dist_nccl_init(void) {
  if (nc.ready) return DNN_OK;
  DNN_RETURN_IF_ERR(dnn_dist_init());
  DNN_RETURN_IF_ERR(load());
  int ndev = 0;
  CUDA_TRY("nccl", nc.cudaGetDeviceCount(&ndev));
  if (ndev < 1) return dnn_error(DNN_ERR_DEVICE, "nccl: no CUDA device");
  nc.device = g.local_rank % ndev; /* one GPU per local rank */
  CUDA_TRY("nccl", nc.cudaSetDevice(nc.device));
  ncclUniqueId id;
  if (g.rank == 0) NCCL_TRY("nccl", nc.ncclGetUniqueId(&id));
#ifdef DNN_HAVE_MPI
  if (g.mpi && g.size > 1) {
    MPI_Request req;
    int rc = MPI_Ibcast(&id, (int)sizeof id, MPI_BYTE, 0, g.comm, &req);
    if (rc != MPI_SUCCESS) return dnn_dist_mpi_error("nccl", rc);
    DNN_RETURN_IF_ERR(dnn_dist_wait(1, &req, "nccl"));
  }
#endif
  NCCL_TRY("nccl", nc.ncclCommInitRank(&nc.comm, g.size, id, g.rank));
  CUDA_TRY("nccl", nc.cudaStreamCreate(&nc.stream));
  nc.ready = true;
  return DNN_OK;
}

static int nccl_type(dnn_dtype dt) {
  switch (dt) {
  case DNN_FLOAT32: return ncclFloat32;
  case DNN_FLOAT64: return ncclFloat64;
  case DNN_INT32: return ncclInt32;
  case DNN_INT64: return ncclInt64;
  default: return ncclUint8;
  }
}

/* Waits for the stream under the deadline; a stuck peer aborts the communicator. */
static dnn_status sync_stream(const char *op) {
  double start = dnn_dist_now();
  for (;;) {
    cudaError_t e = nc.cudaStreamQuery(nc.stream);
    if (e == cudaSuccess) return DNN_OK;
    if (e != cudaErrorNotReady) return dnn_dist_fail(DNN_ERR_DEVICE, "%s: %s", op, nc.cudaGetErrorString(e));
    if (g.timeout > 0 && dnn_dist_now() - start > g.timeout) {
      nc.ncclCommAbort(nc.comm);
      nc.ready = false;
      return dnn_dist_fail(DNN_ERR_INTERNAL, "%s: no answer from the other GPUs after %.3g s", op, g.timeout);
    }
  }
}

dnn_status dnn_dist_nccl_allreduce_(int n, dnn_tensor *const *ts, const dnn_dist_reduce_opts *o) {
  DNN_RETURN_IF_ERR(dnn_dist_nccl_init());
  for (int i = 0; i < n; i++)
    if (!dnn_is_contiguous(ts[i]))
      return dnn_error(DNN_ERR_ARG, "allreduce: cuda tensor %d is not contiguous", i + 1);
  DNN_RETURN_IF_ERR(backend_ready(n, ts, "allreduce"));
  double pre = o->prescale != 0.0 ? o->prescale : 1.0, div = o->divide_by != 0.0 ? o->divide_by : 1.0;
  if (o->op == DNN_DIST_AVG) div *= (double)g.size;
  bool scaled = pre != 1.0 || div != 1.0;
  NCCL_TRY("allreduce", nc.ncclGroupStart());
  for (int i = 0; i < n; i++) {
    dnn_tensor *t = ts[i];
    ncclRedOp_t op = ncclSum;
    bool custom = false;
    if (o->op == DNN_DIST_MIN) op = ncclMin;
    else if (o->op == DNN_DIST_MAX) op = ncclMax;
    else if (o->op == DNN_DIST_PROD) op = ncclProd;
    else if (scaled) {
      /* sum(pre * x) / div == sum((pre / div) * x): NCCL's pre-multiplied sum */
      double sd = pre / div;
      float sf = (float)sd;
      void *scalar = t->dtype == DNN_FLOAT32 ? (void *)&sf : (void *)&sd;
      NCCL_TRY("allreduce", nc.ncclRedOpCreatePreMulSum(&op, scalar, (ncclDataType_t)nccl_type((dnn_dtype)t->dtype),
                                                        ncclScalarHostImmediate, nc.comm));
      custom = true;
    }
    void *p = dnn_data_ptr(t);
    NCCL_TRY("allreduce", nc.ncclAllReduce(p, p, (size_t)dnn_numel(t), (ncclDataType_t)nccl_type((dnn_dtype)t->dtype),
                                           op, nc.comm, nc.stream));
    if (custom) nc.ncclRedOpDestroy(op, nc.comm);
    t->storage->version++;
    g.stats.bytes += (uint64_t)dnn_numel(t) * dnn_dtype_size((dnn_dtype)t->dtype);
  }
  NCCL_TRY("allreduce", nc.ncclGroupEnd());
  g.stats.collectives++;
  g.stats.reduce_calls++;
  return sync_stream("allreduce");
}

dnn_status dnn_dist_nccl_broadcast_(int n, dnn_tensor *const *ts, int root) {
  DNN_RETURN_IF_ERR(dnn_dist_nccl_init());
  for (int i = 0; i < n; i++)
    if (!dnn_is_contiguous(ts[i]))
      return dnn_error(DNN_ERR_ARG, "broadcast: cuda tensor %d is not contiguous", i + 1);
  DNN_RETURN_IF_ERR(backend_ready(n, ts, "broadcast"));
  NCCL_TRY("broadcast", nc.ncclGroupStart());
  for (int i = 0; i < n; i++) {
    void *p = dnn_data_ptr(ts[i]);
    NCCL_TRY("broadcast", nc.ncclBroadcast(p, p, (size_t)dnn_numel(ts[i]),
                                           (ncclDataType_t)nccl_type((dnn_dtype)ts[i]->dtype), root, nc.comm,
                                           nc.stream));
    ts[i]->storage->version++;
  }
  NCCL_TRY("broadcast", nc.ncclGroupEnd());
  g.stats.collectives++;
  return sync_stream("broadcast");
}

dnn_status dnn_dist_nccl_selftest(int64_t count, double *got, double *want) {
  DNN_RETURN_IF_ERR(dnn_dist_nccl_init());
  if (count < 1) count = 1;
  float *host = malloc(sizeof(float) * (size_t)count);
  if (!host) return dnn_error(DNN_ERR_MEMORY, "nccl_selftest: out of memory");
  for (int64_t i = 0; i < count; i++) host[i] = (float)(g.rank + 1);
  void *dev = NULL;
  cudaError_t e = nc.cudaMalloc(&dev, sizeof(float) * (size_t)count);
  if (e == cudaSuccess) e = nc.cudaMemcpy(dev, host, sizeof(float) * (size_t)count, cudaMemcpyHostToDevice);
  dnn_status st = DNN_OK;
  if (e != cudaSuccess) st = dnn_error(DNN_ERR_DEVICE, "nccl_selftest: %s", nc.cudaGetErrorString(e));
  if (st == DNN_OK) {
    ncclResult_t r = nc.ncclAllReduce(dev, dev, (size_t)count, ncclFloat32, ncclSum, nc.comm, nc.stream);
    st = r == ncclSuccess ? sync_stream("nccl_selftest")
                          : dnn_dist_fail(DNN_ERR_DEVICE, "nccl_selftest: %s", nc.ncclGetErrorString(r));
  }
  if (st == DNN_OK) {
    e = nc.cudaMemcpy(host, dev, sizeof(float) * (size_t)count, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) st = dnn_error(DNN_ERR_DEVICE, "nccl_selftest: %s", nc.cudaGetErrorString(e));
  }
  if (st == DNN_OK) {
    *want = (double)g.size * (g.size + 1) / 2.0;
    *got = host[0];
    for (int64_t i = 1; i < count; i++)
      if (host[i] != host[0]) *got = host[i]; /* any disagreement shows */
  }
  if (dev) nc.cudaFree(dev);
  free(host);
  return st;
}

#else /* built without NCCL */

bool dnn_dist_nccl_compiled(void) { return false; }

static dnn_status no_nccl(const char *op) {
  return dnn_error(DNN_ERR_UNSUPPORTED,
                   "%s: tensors on a GPU need NCCL, and this build has none (it needs the CUDA toolkit's "
                   "nccl.h at configure time)",
                   op);
}

dnn_status dnn_dist_nccl_init(void) { return no_nccl("nccl"); }
dnn_status dnn_dist_nccl_allreduce_(int n, dnn_tensor *const *ts, const dnn_dist_reduce_opts *o) {
  (void)n, (void)ts, (void)o;
  return no_nccl("allreduce");
}
dnn_status dnn_dist_nccl_broadcast_(int n, dnn_tensor *const *ts, int root) {
  (void)n, (void)ts, (void)root;
  return no_nccl("broadcast");
}
dnn_status dnn_dist_nccl_selftest(int64_t count, double *got, double *want) {
  (void)count, (void)got, (void)want;
  return no_nccl("nccl_selftest");
}

#endif
