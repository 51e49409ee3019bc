/* Launchers shared by the elementwise kernels (binary.cu, unary.cu, copy.cu):
 * a grid-stride loop over the flat index, either with one linear index for
 * every operand (flat: contiguous or broadcast-scalar operands) or with each
 * operand's offset worked out from the shape (any strides, broadcasts). */
#ifndef DNN_CUDA_ELEMENTWISE_CUH
#define DNN_CUDA_ELEMENTWISE_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "common.cuh"

#define CU_THREADS 256

/* ---- float16 / bfloat16 storage ----
 * Half operands are loaded to float32 (exact) and results stored with
 * round-to-nearest-even, overflow to Inf, NaN staying NaN: the rules of the
 * CPU's dnn_f32_to_f16 / dnn_f32_to_bf16 (only NaN payloads may differ). */
__device__ __forceinline__ float cu_load_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float cu_load_f(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename H> __device__ H cu_store_h(float v);
template <> __device__ __forceinline__ __half cu_store_h<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 cu_store_h<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

/* F (a float32 functor) over half operands: compute in float32, round once. */
template <typename H, typename F> struct cu_half_map1 {
  F f;
  __device__ H operator()(H x) const { return cu_store_h<H>(f(cu_load_f(x))); }
};
template <typename H, typename F> struct cu_half_map2 {
  F f;
  __device__ H operator()(H x, H y) const { return cu_store_h<H>(f(cu_load_f(x), cu_load_f(y))); }
};
/* F returns a bool (uint8) result: comparisons, isnan, isinf. */
template <typename H, typename F> struct cu_half_test1 {
  F f;
  __device__ uint8_t operator()(H x) const { return f(cu_load_f(x)); }
};
template <typename H, typename F> struct cu_half_test2 {
  F f;
  __device__ uint8_t operator()(H x, H y) const { return f(cu_load_f(x), cu_load_f(y)); }
};

#define CU_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* out = f(a) */
template <typename TO, typename TI, typename F>
__global__ void cu_map1_flat(int64_t n, TO *o, int64_t so, const TI *a, int64_t sa, F f) {
  CU_GRID_STRIDE(i, n) o[i * so] = f(a[i * sa]);
}
template <typename TO, typename TI, typename F>
__global__ void cu_map1_strided(int64_t n, cu_offsets off, TO *o, const TI *a, F f) {
  CU_GRID_STRIDE(i, n) {
    int64_t k[2];
    cu_offsets_at<2>(off, i, k);
    o[k[0]] = f(a[k[1]]);
  }
}

/* out = f(a, b) */
template <typename TO, typename TI, typename F>
__global__ void cu_map2_flat(int64_t n, TO *o, int64_t so, const TI *a, int64_t sa, const TI *b, int64_t sb, F f) {
  CU_GRID_STRIDE(i, n) o[i * so] = f(a[i * sa], b[i * sb]);
}
template <typename TO, typename TI, typename F>
__global__ void cu_map2_strided(int64_t n, cu_offsets off, TO *o, const TI *a, const TI *b, F f) {
  CU_GRID_STRIDE(i, n) {
    int64_t k[3];
    cu_offsets_at<3>(off, i, k);
    o[k[0]] = f(a[k[1]], b[k[2]]);
  }
}

/* Runs out = f(in) over an initialised 2-operand iterator. */
template <typename TO, typename TI, typename F>
dnn_status cu_run_map1(const char *op, cuda_ctx *c, const cu_iter &it, F f) {
  if (it.numel == 0) return DNN_OK;
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  if (it.flat)
    cu_map1_flat<TO, TI, F><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, (TO *)it.base[0], it.step[0],
                                                                 (const TI *)it.base[1], it.step[1], f);
  else
    cu_map1_strided<TO, TI, F><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, cu_offsets_of(it), (TO *)it.base[0],
                                                                    (const TI *)it.base[1], f);
  CU_CHECK_LAUNCH(op);
  return DNN_OK;
}

/* Runs out = f(a, b) over an initialised 3-operand iterator. */
template <typename TO, typename TI, typename F>
dnn_status cu_run_map2(const char *op, cuda_ctx *c, const cu_iter &it, F f) {
  if (it.numel == 0) return DNN_OK;
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  if (it.flat)
    cu_map2_flat<TO, TI, F><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, (TO *)it.base[0], it.step[0],
                                                                 (const TI *)it.base[1], it.step[1],
                                                                 (const TI *)it.base[2], it.step[2], f);
  else
    cu_map2_strided<TO, TI, F><<<grid, CU_THREADS, 0, c->stream>>>(
        it.numel, cu_offsets_of(it), (TO *)it.base[0], (const TI *)it.base[1], (const TI *)it.base[2], f);
  CU_CHECK_LAUNCH(op);
  return DNN_OK;
}

#endif
