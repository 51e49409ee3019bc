/* COPY (any strides, dtype conversion) and FILL, with cpu/copy.c's
 * conversion rules: to bool is != 0, float to integer truncates with NaN -> 0
 * and out-of-range values clamped, integers convert between themselves by
 * wrapping as C does; float16/bfloat16 go through float32 with round to
 * nearest even (elementwise.cuh).  A same-dtype copy between contiguous
 * tensors is one cudaMemcpyAsync. */
#include "elementwise.cuh"

namespace {

template <typename TO, typename TI, bool FROM_FLOAT> struct conv;

/* float sources */
template <typename TI> struct conv<float, TI, true> { __device__ float operator()(TI x) const { return (float)x; } };
template <typename TI> struct conv<double, TI, true> { __device__ double operator()(TI x) const { return (double)x; } };
template <typename TI> struct conv<int32_t, TI, true> {
  __device__ int32_t operator()(TI x) const { return cu_f2i32((double)x); }
};
template <typename TI> struct conv<int64_t, TI, true> {
  __device__ int64_t operator()(TI x) const { return cu_f2i64((double)x); }
};
template <typename TI> struct conv<uint8_t, TI, true> {
  __device__ uint8_t operator()(TI x) const { return (uint8_t)cu_f2i64((double)x); }
};
/* integer sources */
template <typename TI> struct conv<float, TI, false> { __device__ float operator()(TI x) const { return (float)x; } };
template <typename TI> struct conv<double, TI, false> { __device__ double operator()(TI x) const { return (double)x; } };
template <typename TI> struct conv<int32_t, TI, false> {
  __device__ int32_t operator()(TI x) const { return (int32_t)(int64_t)x; }
};
template <typename TI> struct conv<int64_t, TI, false> {
  __device__ int64_t operator()(TI x) const { return (int64_t)x; }
};
template <typename TI> struct conv<uint8_t, TI, false> {
  __device__ uint8_t operator()(TI x) const { return (uint8_t)(int64_t)x; }
};

template <typename TI> struct to_bool { __device__ uint8_t operator()(TI x) const { return x != 0; } };

/* Half sources widen to float32 (exact) and then follow the float rules;
 * half destinations take the value as float32 (a float64 or int64 source
 * rounds twice, as the CPU and c10 do) and round it to nearest even. */
template <typename TO, typename H> struct from_half {
  __device__ TO operator()(H x) const { return conv<TO, float, true>()(cu_load_f(x)); }
};
template <typename H> struct half_to_bool { __device__ uint8_t operator()(H x) const { return cu_load_f(x) != 0.0f; } };
template <typename H, typename TI> struct to_half { __device__ H operator()(TI x) const { return cu_store_h<H>((float)x); } };
template <typename H, typename HI> struct half_to_half {
  __device__ H operator()(HI x) const { return cu_store_h<H>(cu_load_f(x)); }
};

template <typename TO>
dnn_status copy_to(const char *name, cuda_ctx *c, const cu_iter &it, dnn_dtype src) {
  switch (src) {
    case DNN_FLOAT32: return cu_run_map1<TO, float>(name, c, it, conv<TO, float, true>());
    case DNN_FLOAT64: return cu_run_map1<TO, double>(name, c, it, conv<TO, double, true>());
    case DNN_INT32: return cu_run_map1<TO, int32_t>(name, c, it, conv<TO, int32_t, false>());
    case DNN_INT64: return cu_run_map1<TO, int64_t>(name, c, it, conv<TO, int64_t, false>());
    case DNN_UINT8: return cu_run_map1<TO, uint8_t>(name, c, it, conv<TO, uint8_t, false>());
    case DNN_BOOL: return cu_run_map1<TO, uint8_t>(name, c, it, conv<TO, uint8_t, false>());
    case DNN_FLOAT16: return cu_run_map1<TO, __half>(name, c, it, from_half<TO, __half>());
    case DNN_BFLOAT16: return cu_run_map1<TO, __nv_bfloat16>(name, c, it, from_half<TO, __nv_bfloat16>());
    default: return dnn_error(DNN_ERR_DTYPE, "copy: unknown dtype %d", (int)src);
  }
}

template <typename H>
dnn_status copy_to_half(const char *name, cuda_ctx *c, const cu_iter &it, dnn_dtype src) {
  switch (src) {
    case DNN_FLOAT32: return cu_run_map1<H, float>(name, c, it, to_half<H, float>());
    case DNN_FLOAT64: return cu_run_map1<H, double>(name, c, it, to_half<H, double>());
    case DNN_INT32: return cu_run_map1<H, int32_t>(name, c, it, to_half<H, int32_t>());
    case DNN_INT64: return cu_run_map1<H, int64_t>(name, c, it, to_half<H, int64_t>());
    case DNN_UINT8:
    case DNN_BOOL: return cu_run_map1<H, uint8_t>(name, c, it, to_half<H, uint8_t>());
    case DNN_FLOAT16: return cu_run_map1<H, __half>(name, c, it, half_to_half<H, __half>());
    case DNN_BFLOAT16: return cu_run_map1<H, __nv_bfloat16>(name, c, it, half_to_half<H, __nv_bfloat16>());
    default: return dnn_error(DNN_ERR_DTYPE, "copy: unknown dtype %d", (int)src);
  }
}

dnn_status copy_to_bool(const char *name, cuda_ctx *c, const cu_iter &it, dnn_dtype src) {
  switch (src) {
    case DNN_FLOAT32: return cu_run_map1<uint8_t, float>(name, c, it, to_bool<float>());
    case DNN_FLOAT64: return cu_run_map1<uint8_t, double>(name, c, it, to_bool<double>());
    case DNN_INT32: return cu_run_map1<uint8_t, int32_t>(name, c, it, to_bool<int32_t>());
    case DNN_INT64: return cu_run_map1<uint8_t, int64_t>(name, c, it, to_bool<int64_t>());
    case DNN_FLOAT16: return cu_run_map1<uint8_t, __half>(name, c, it, half_to_bool<__half>());
    case DNN_BFLOAT16: return cu_run_map1<uint8_t, __nv_bfloat16>(name, c, it, half_to_bool<__nv_bfloat16>());
    default: return cu_run_map1<uint8_t, uint8_t>(name, c, it, to_bool<uint8_t>());
  }
}

/* Same dtype: move words of the element's size. */
template <typename T> struct ident { __device__ T operator()(T x) const { return x; } };

template <typename T>
__global__ void fill_flat(int64_t n, T *o, T v) {
  CU_GRID_STRIDE(i, n) o[i] = v;
}
template <typename T>
__global__ void fill_strided(int64_t n, cu_offsets off, T *o, T v) {
  CU_GRID_STRIDE(i, n) {
    int64_t k[1];
    cu_offsets_at<1>(off, i, k);
    o[k[0]] = v;
  }
}

template <typename T>
dnn_status run_fill(const char *name, cuda_ctx *c, const cu_iter &it, T v) {
  if (it.numel == 0) return DNN_OK;
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  if (it.flat && it.step[0] == 1)
    fill_flat<T><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, (T *)it.base[0], v);
  else
    fill_strided<T><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, cu_offsets_of(it), (T *)it.base[0], v);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

int64_t host_f2i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}
int32_t host_f2i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}

}  // namespace

/* in[0] has out's shape (the front end expanded it); any strides. */
dnn_status cu_copy(const dnn_op_args *a) {
  const char *name = "copy";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 2, ts));
  dnn_dtype dto = (dnn_dtype)a->out->dtype, dti = (dnn_dtype)a->in[0]->dtype;
  if (it.numel == 0) return DNN_OK;
  if (dto == dti) {
    size_t es = dnn_dtype_size(dto);
    if (it.flat && it.step[0] == 1 && it.step[1] == 1) {
      CU_CHECK(name, cudaMemcpyAsync(it.base[0], it.base[1], (size_t)it.numel * es, cudaMemcpyDeviceToDevice,
                                     c->stream));
      return DNN_OK;
    }
    switch (es) {
      case 1: return cu_run_map1<uint8_t, uint8_t>(name, c, it, ident<uint8_t>());
      case 2: return cu_run_map1<uint16_t, uint16_t>(name, c, it, ident<uint16_t>());
      case 4: return cu_run_map1<uint32_t, uint32_t>(name, c, it, ident<uint32_t>());
      default: return cu_run_map1<uint64_t, uint64_t>(name, c, it, ident<uint64_t>());
    }
  }
  switch (dto) {
    case DNN_FLOAT32: return copy_to<float>(name, c, it, dti);
    case DNN_FLOAT64: return copy_to<double>(name, c, it, dti);
    case DNN_INT32: return copy_to<int32_t>(name, c, it, dti);
    case DNN_INT64: return copy_to<int64_t>(name, c, it, dti);
    case DNN_UINT8: return copy_to<uint8_t>(name, c, it, dti);
    case DNN_BOOL: return copy_to_bool(name, c, it, dti);
    case DNN_FLOAT16: return copy_to_half<__half>(name, c, it, dti);
    case DNN_BFLOAT16: return copy_to_half<__nv_bfloat16>(name, c, it, dti);
    default: return dnn_error(DNN_ERR_DTYPE, "copy: unknown dtype %d", (int)dto);
  }
}

/* s0 = value; has_s1: the exact integer value is in k (beyond 2^53). */
dnn_status cu_fill(const dnn_op_args *a) {
  const char *name = "fill_";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[1] = {a->out};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 1, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 1, ts));
  double v = a->s0;
  int64_t iv = a->has_s1 ? a->k : a->out->dtype == DNN_INT32 ? host_f2i32(v) : host_f2i64(v);
  switch ((dnn_dtype)a->out->dtype) {
    case DNN_FLOAT32: return run_fill<float>(name, c, it, (float)v);
    case DNN_FLOAT64: return run_fill<double>(name, c, it, v);
    case DNN_INT32: return run_fill<int32_t>(name, c, it, (int32_t)iv);
    case DNN_INT64: return run_fill<int64_t>(name, c, it, iv);
    case DNN_UINT8: return run_fill<uint8_t>(name, c, it, (uint8_t)iv);
    case DNN_BOOL: return run_fill<uint8_t>(name, c, it, (uint8_t)(v != 0));
    /* the bit pattern is made on the host by the CPU's own conversion */
    case DNN_FLOAT16: return run_fill<uint16_t>(name, c, it, dnn_f32_to_f16((float)v));
    case DNN_BFLOAT16: return run_fill<uint16_t>(name, c, it, dnn_f32_to_bf16((float)v));
    default: return dnn_error(DNN_ERR_DTYPE, "fill_: unknown dtype %d", (int)a->out->dtype);
  }
}
