/* masked_select and masked_scatter with cpu/index.c's contracts: masked
 * elements are taken (select) or filled (scatter) in row-major order of the
 * broadcast shape.  The front ends (core/ops_index.c) have counted the mask
 * (a device sum read back), sized select's result and checked scatter's
 * source, so no count comes back to the host here.
 *
 * The place of a masked element in that order is the number of masked
 * elements before it: an exclusive prefix sum of the mask (CUB's DeviceScan)
 * over the flat index, so every element is then moved by its own thread and
 * the result is the CPU's exactly.  Elements move as raw words of their size,
 * so one kernel serves every dtype. */
#include "cub_run.cuh"

namespace {

/* pos[e] = 1 where the mask is set (operand 1 of off) */
__global__ void mask_flags_kernel(int64_t n, cu_offsets off, const uint8_t *mask, int64_t *pos) {
  CU_GRID_STRIDE(e, n) {
    int64_t k[2];
    cu_offsets_at<2>(off, e, k);
    pos[e] = mask[k[1]] != 0;
  }
}

/* operands of off: 0 = input, 1 = mask; out[pos[e] * os] = in */
template <typename W>
__global__ void masked_select_kernel(int64_t n, cu_offsets off, const W *in, const uint8_t *mask,
                                     const int64_t *pos, W *out, int64_t os) {
  CU_GRID_STRIDE(e, n) {
    int64_t k[2];
    cu_offsets_at<2>(off, e, k);
    if (mask[k[1]]) out[pos[e] * os] = in[k[0]];
  }
}

/* operands of off: 0 = out, 1 = mask; out = src[pos[e]] */
template <typename W>
__global__ void masked_scatter_kernel(int64_t n, cu_offsets off, W *out, const uint8_t *mask, const int64_t *pos,
                                      const W *src) {
  CU_GRID_STRIDE(e, n) {
    int64_t k[2];
    cu_offsets_at<2>(off, e, k);
    if (mask[k[1]]) out[k[0]] = src[pos[e]];
  }
}

/* *pos (it.numel, in s): masked elements before each flat index, the mask
 * being operand 1 of it. */
dnn_status mask_positions(cu_scratch &s, cuda_ctx *c, const cu_iter &it, int64_t **pos) {
  int64_t n = it.numel, *p = s.get<int64_t>(n);
  if (!p) return dnn_error_code();
  cudaStream_t st = c->stream;
  mask_flags_kernel<<<cuda_grid(n, CU_THREADS, c), CU_THREADS, 0, st>>>(n, cu_offsets_of(it),
                                                                        (const uint8_t *)it.base[1], p);
  CU_CHECK_LAUNCH(s.op);
  /* int64 flags: the scan adds in int64 (uint8 flags would add in uint8) */
  DNN_RETURN_IF_ERR(cu_cub_run(s, "cub::DeviceScan::ExclusiveSum", [&](void *tmp, size_t &bytes) {
    return cub::DeviceScan::ExclusiveSum(tmp, bytes, p, p, n, st); /* in place */
  }));
  *pos = p;
  return DNN_OK;
}

size_t esize(const dnn_tensor *t) { return dnn_dtype_size((dnn_dtype)t->dtype); }

#define BY_WORD(es, ...)                                          \
  switch (es) {                                                   \
    case 1: { typedef uint8_t W; __VA_ARGS__; break; }            \
    case 4: { typedef uint32_t W; __VA_ARGS__; break; }           \
    default: { typedef uint64_t W; __VA_ARGS__; break; }          \
  }

}  // namespace

/* MASKED_SELECT: in[0] the input and in[1] the bool mask, both with the
 * broadcast shape (zero strides where broadcast); out (count) 1-d. */
dnn_status cu_masked_select(const dnn_op_args *a) {
  const char *name = "masked_select";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  if (dnn_numel(a->out) == 0) return DNN_OK; /* nothing masked (or nothing at all) */
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 2, ts + 1));
  cu_scratch s(name, dnn_tensor_device(a->out));
  int64_t *pos = NULL;
  DNN_RETURN_IF_ERR(mask_positions(s, c, it, &pos));
  int64_t os = a->out->ndim ? a->out->strides[0] : 1;
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  cu_offsets off = cu_offsets_of(it);
  BY_WORD(esize(a->out), masked_select_kernel<W><<<grid, CU_THREADS, 0, c->stream>>>(
                             it.numel, off, (const W *)it.base[0], (const uint8_t *)it.base[1], pos,
                             (W *)dnn_data_ptr(a->out), os));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* MASKED_SCATTER: out holds the input broadcast to the mask's shape; in[0]
 * the bool mask with out's shape (zero strides where broadcast); in[1] the
 * source, out's dtype, contiguous, with at least as many elements as the
 * mask selects. */
dnn_status cu_masked_scatter(const dnn_op_args *a) {
  const char *name = "masked_scatter";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  if (dnn_numel(a->out) == 0) return DNN_OK;
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 2, ts));
  cu_scratch s(name, dnn_tensor_device(a->out));
  int64_t *pos = NULL;
  DNN_RETURN_IF_ERR(mask_positions(s, c, it, &pos));
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  cu_offsets off = cu_offsets_of(it);
  BY_WORD(esize(a->out), masked_scatter_kernel<W><<<grid, CU_THREADS, 0, c->stream>>>(
                             it.numel, off, (W *)it.base[0], (const uint8_t *)it.base[1], pos,
                             (const W *)dnn_data_ptr(a->in[1])));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}
