/* Sorting and counting kernels with cpu/sort.c's contracts (core/ops_sort.c
 * has checked the arguments and allocated the outputs): sort, topk, unique,
 * bincount.  Results equal the CPU's bit for bit, ties and NaNs included:
 *
 *  - Order.  Values are sorted as unsigned radix keys (radix<T> below) whose
 *    ascending order is the CPU's: numbers ascending, every NaN one value
 *    above +inf, -0.0 equal to +0.0.  Descending flips the keys' bits, so NaNs
 *    come first there, as on the CPU.  CUB's radix sort is stable, so equal
 *    keys keep their input order (the lower index first) either way, as the
 *    CPU's merge sort does.  The outputs are gathered from the input by the
 *    sorted positions: values keep their own bits (-0.0, NaN payloads).
 *  - Rows.  sort/topk get (outer, R, inner) and sort the outer*inner rows of
 *    length R.  A single row is one radix sort; several are a stable sort of
 *    every key followed by a stable sort by row id (only the row ids' bits),
 *    which keeps each row's key order: O(n) whatever the row lengths, with
 *    one CUB algorithm for all shapes.
 *  - topk is the first k of the stable sort.  The CPU's heap ranks by (value,
 *    index), a total order, so its k best, best first, are exactly that prefix.
 *  - unique sorts the flat input once; a run of equal keys is one value (NaNs
 *    one run, -0.0 with +0.0, its first element in input order gives the
 *    value, as the CPU's).  The run count goes to aux[2n], which the front end
 *    reads back (one small d2h copy) to size the results.
 *  - bincount without weights counts with 64-bit integer atomics (exact, so
 *    order does not matter).  With float weights, atomics would add in a
 *    different order each run; instead the (bin, weight) pairs are sorted by
 *    bin (stable: input order kept within a bin) and one thread sums each
 *    bin's weights in input order, starting from 0: the CPU's sequential
 *    sum, bit for bit.  A bin holding most of a huge input is then summed by
 *    one thread (slow, still exact). */
#include "cub_run.cuh"

namespace {

/* ---- radix keys ---- */

template <typename T>
struct radix;
template <>
struct radix<float> {
  typedef uint32_t K;
  static const int bits = 32;
  static __device__ __forceinline__ K key(float v) {
    uint32_t b = __float_as_uint(v);
    if (v != v) return 0xffffffffu; /* every NaN: above +inf (0xff800000) */
    if (b == 0x80000000u) b = 0;    /* -0.0 ties with +0.0 */
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
};
template <>
struct radix<double> {
  typedef uint64_t K;
  static const int bits = 64;
  static __device__ __forceinline__ K key(double v) {
    uint64_t b = (uint64_t)__double_as_longlong(v), sign = (uint64_t)1 << 63;
    if (v != v) return ~(uint64_t)0;
    if (b == sign) b = 0;
    return (b & sign) ? ~b : (b | sign);
  }
};
template <>
struct radix<int32_t> {
  typedef uint32_t K;
  static const int bits = 32;
  static __device__ __forceinline__ K key(int32_t v) { return (uint32_t)v ^ 0x80000000u; }
};
template <>
struct radix<int64_t> {
  typedef uint64_t K;
  static const int bits = 64;
  static __device__ __forceinline__ K key(int64_t v) { return (uint64_t)v ^ ((uint64_t)1 << 63); }
};
/* uint8 and bool: 32-bit keys (fewer CUB instantiations), only 8 bits sorted */
template <>
struct radix<uint8_t> {
  typedef uint32_t K;
  static const int bits = 8;
  static __device__ __forceinline__ K key(uint8_t v) { return v; }
};

/* The bits a descending sort flips: the sorted ones. */
template <typename T>
typename radix<T>::K desc_flip() {
  typedef typename radix<T>::K K;
  return radix<T>::bits == (int)(8 * sizeof(K)) ? ~(K)0 : (K)(((K)1 << radix<T>::bits) - 1);
}

/* Bits needed for values 0..v (at least 1). */
int bits_for(uint64_t v) { return v ? 64 - __builtin_clzll((unsigned long long)v) : 1; }

/* ---- sort, topk ---- */

/* keys and flat positions of in (outer, R, inner) row by row: element j of
 * row s = o * inner + i goes to s * R + j */
template <typename T>
__global__ void row_keys_kernel(const T *in, int64_t R, int64_t inner, int64_t n, typename radix<T>::K flip,
                                typename radix<T>::K *keys, int64_t *pos) {
  CU_GRID_STRIDE(e, n) {
    int64_t s = e / R, j = e - s * R, o = s / inner, i = s - o * inner;
    keys[e] = radix<T>::key(in[(o * R + j) * inner + i]) ^ flip;
    pos[e] = e;
  }
}

__global__ void row_ids_kernel(const int64_t *pos, int64_t R, int64_t n, uint64_t *rows) {
  CU_GRID_STRIDE(q, n) rows[q] = (uint64_t)(pos[q] / R);
}

/* Sorts the rows of in (outer, R, inner), contiguous, n = outer * R * inner
 * > 0: *perm[s * R + j'] is the flat position s * R + j of row s's j'-th
 * element in the CPU's order.  With one row, *sorted (when asked) gets the
 * sorted keys.  Buffers live in s. */
template <typename T>
dnn_status sort_rows(cu_scratch &s, cuda_ctx *c, const T *in, int64_t outer, int64_t R, int64_t inner, bool desc,
                     int64_t **perm, typename radix<T>::K **sorted) {
  typedef typename radix<T>::K K;
  int64_t rows = outer * inner, n = rows * R;
  K *k0 = s.get<K>(n), *k1 = k0 ? s.get<K>(n) : NULL;
  int64_t *p0 = k1 ? s.get<int64_t>(n) : NULL, *p1 = p0 ? s.get<int64_t>(n) : NULL;
  if (!p1) return dnn_error_code();
  cudaStream_t st = c->stream;
  unsigned grid = cuda_grid(n, CU_THREADS, c);
  row_keys_kernel<T><<<grid, CU_THREADS, 0, st>>>(in, R, inner, n, desc ? desc_flip<T>() : (K)0, k0, p0);
  CU_CHECK_LAUNCH(s.op);
  int kbits = radix<T>::bits;
  DNN_RETURN_IF_ERR(cu_cub_run(s, "cub::DeviceRadixSort::SortPairs", [&](void *tmp, size_t &bytes) {
    return cub::DeviceRadixSort::SortPairs(tmp, bytes, k0, k1, p0, p1, n, 0, kbits, st);
  }));
  if (sorted) *sorted = k1;
  if (rows == 1) {
    *perm = p1;
    return DNN_OK;
  }
  /* stable by row id: each row's elements stay in key order */
  uint64_t *r0 = s.get<uint64_t>(n), *r1 = r0 ? s.get<uint64_t>(n) : NULL;
  if (!r1) return dnn_error_code();
  row_ids_kernel<<<grid, CU_THREADS, 0, st>>>(p1, R, n, r0);
  CU_CHECK_LAUNCH(s.op);
  int rbits = bits_for((uint64_t)(rows - 1));
  DNN_RETURN_IF_ERR(cu_cub_run(s, "cub::DeviceRadixSort::SortPairs (rows)", [&](void *tmp, size_t &bytes) {
    return cub::DeviceRadixSort::SortPairs(tmp, bytes, r0, r1, p1, p0, n, 0, rbits, st);
  }));
  *perm = p0;
  return DNN_OK;
}

/* out (outer, m, inner) and idx (the positions along R) from the first m of
 * each sorted row */
template <typename W>
__global__ void sorted_out_kernel(const W *in, const int64_t *perm, int64_t R, int64_t m, int64_t inner,
                                  int64_t total, W *out, int64_t *idx) {
  CU_GRID_STRIDE(e, total) {
    int64_t i = e % inner, r = e / inner, jj = r % m, o = r / m;
    int64_t s = o * inner + i, j = perm[s * R + jj] - s * R;
    out[e] = in[(o * R + j) * inner + i];
    idx[e] = j;
  }
}

template <typename T>
dnn_status sort_or_topk(cu_scratch &s, cuda_ctx *c, const dnn_op_args *a) {
  const dnn_tensor *in = a->in[0];
  int64_t outer = in->shape[0], R = in->shape[1], inner = in->shape[2], m = a->out->shape[1];
  int64_t *perm = NULL;
  DNN_RETURN_IF_ERR(sort_rows<T>(s, c, (const T *)dnn_data_ptr(in), outer, R, inner, a->flag, &perm, NULL));
  int64_t total = outer * m * inner;
  sorted_out_kernel<T><<<cuda_grid(total, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
      (const T *)dnn_data_ptr(in), perm, R, m, inner, total, (T *)dnn_data_ptr(a->out),
      (int64_t *)dnn_data_ptr(a->out2));
  CU_CHECK_LAUNCH(s.op);
  return DNN_OK;
}

/* ---- unique ---- */

/* rank[p] = 1 where a run of equal keys starts */
template <typename K>
__global__ void run_starts_kernel(const K *keys, int64_t n, int64_t *rank) {
  CU_GRID_STRIDE(p, n) rank[p] = (p == 0 || keys[p] != keys[p - 1]) ? 1 : 0;
}

/* After the inclusive scan rank[p] - 1 is p's run: the inverse of every
 * element, and per run its value (the run's first element: lowest input
 * position, as the CPU's stable sort leaves it) and its start in cnt. */
template <typename T>
__global__ void unique_first_kernel(const typename radix<T>::K *keys, const int64_t *perm, const int64_t *rank,
                                    const T *in, int64_t n, T *vals, int64_t *inv, int64_t *cnt) {
  CU_GRID_STRIDE(p, n) {
    int64_t r = rank[p] - 1, x = perm[p];
    inv[x] = r;
    if (p == 0 || keys[p] != keys[p - 1]) {
      vals[r] = in[x];
      cnt[r] = p;
    }
  }
}

/* at each run's end: its count (end - start); the last one writes the number
 * of runs */
template <typename K>
__global__ void unique_count_kernel(const K *keys, const int64_t *rank, int64_t n, int64_t *cnt, int64_t *nruns) {
  CU_GRID_STRIDE(p, n) {
    if (p == n - 1 || keys[p + 1] != keys[p]) {
      int64_t r = rank[p] - 1;
      cnt[r] = p + 1 - cnt[r];
      if (p == n - 1) *nruns = r + 1;
    }
  }
}

/* out (n) sorted distinct values; aux (2n + 1): inverse, counts, count */
template <typename T>
dnn_status unique_run(cu_scratch &s, cuda_ctx *c, const dnn_op_args *a, int64_t n) {
  typedef typename radix<T>::K K;
  const T *in = (const T *)dnn_data_ptr(a->in[0]);
  int64_t *perm = NULL, *aux = (int64_t *)dnn_data_ptr(a->out2);
  K *keys = NULL;
  DNN_RETURN_IF_ERR(sort_rows<T>(s, c, in, 1, n, 1, false, &perm, &keys));
  int64_t *rank = s.get<int64_t>(n);
  if (!rank) return dnn_error_code();
  cudaStream_t st = c->stream;
  unsigned grid = cuda_grid(n, CU_THREADS, c);
  run_starts_kernel<K><<<grid, CU_THREADS, 0, st>>>(keys, n, rank);
  CU_CHECK_LAUNCH(s.op);
  DNN_RETURN_IF_ERR(cu_cub_run(s, "cub::DeviceScan::InclusiveSum", [&](void *tmp, size_t &bytes) {
    return cub::DeviceScan::InclusiveSum(tmp, bytes, rank, rank, n, st); /* in place */
  }));
  unique_first_kernel<T><<<grid, CU_THREADS, 0, st>>>(keys, perm, rank, in, n, (T *)dnn_data_ptr(a->out), aux,
                                                      aux + n);
  CU_CHECK_LAUNCH(s.op);
  unique_count_kernel<K><<<grid, CU_THREADS, 0, st>>>(keys, rank, n, aux + n, aux + 2 * n);
  CU_CHECK_LAUNCH(s.op);
  return DNN_OK;
}

/* ---- bincount ---- */

__global__ void bincount_kernel(const int64_t *v, int64_t n, unsigned long long *out) {
  CU_GRID_STRIDE(i, n) atomicAdd(out + v[i], 1ULL);
}

/* bins sorted, w in input order within a bin: the thread at a bin's first
 * element sums it sequentially, from 0 as the CPU's zeroed output starts */
template <typename T>
__global__ void bin_sums_kernel(const uint64_t *bins, const T *w, int64_t n, T *out) {
  CU_GRID_STRIDE(p, n) {
    if (p > 0 && bins[p] == bins[p - 1]) continue;
    T acc = 0;
    for (int64_t q = p; q < n && bins[q] == bins[p]; q++) acc += w[q];
    out[bins[p]] = acc;
  }
}

template <typename T>
dnn_status weighted_bincount(cu_scratch &s, cuda_ctx *c, const dnn_op_args *a, int64_t n, int64_t len) {
  const uint64_t *v = (const uint64_t *)dnn_data_ptr(a->in[0]); /* int64 >= 0: the same order as uint64 */
  const T *w = (const T *)dnn_data_ptr(a->in[1]);
  uint64_t *bins = s.get<uint64_t>(n);
  T *ws = bins ? s.get<T>(n) : NULL;
  if (!ws) return dnn_error_code();
  cudaStream_t st = c->stream;
  int bits = bits_for((uint64_t)(len - 1)); /* every value is < len */
  DNN_RETURN_IF_ERR(cu_cub_run(s, "cub::DeviceRadixSort::SortPairs", [&](void *tmp, size_t &bytes) {
    return cub::DeviceRadixSort::SortPairs(tmp, bytes, v, bins, w, ws, n, 0, bits, st);
  }));
  bin_sums_kernel<T><<<cuda_grid(n, CU_THREADS, c), CU_THREADS, 0, st>>>(bins, ws, n, (T *)dnn_data_ptr(a->out));
  CU_CHECK_LAUNCH(s.op);
  return DNN_OK;
}

dnn_status unsupported(const char *name, const dnn_tensor *t) {
  return dnn_error(DNN_ERR_DTYPE, "%s: dtype %s is not supported on cuda", name, dnn_dtype_name((dnn_dtype)t->dtype));
}

}  // namespace

/* SORT and TOPK: in[0] (outer, R, inner) contiguous; out (outer, m, inner) of
 * its dtype and out2 int64 positions along R, m = R (sort) or k (topk);
 * flag: descending / largest. */
dnn_status cu_sort(const dnn_op_args *a) {
  const char *name = dnn_op_name(a->op);
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->out2, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  if (dnn_numel(a->out) == 0) return DNN_OK; /* also R == 0 or k == 0 */
  cu_scratch s(name, dnn_tensor_device(a->out));
  dnn_status st = DNN_OK;
  bool known = false;
  CU_DISPATCH_ALL((dnn_dtype)a->in[0]->dtype, T, known = true; st = sort_or_topk<T>(s, c, a));
  return known ? st : unsupported(name, a->in[0]);
}

/* UNIQUE: in[0] flat (n) contiguous; out (n) gets the sorted distinct values;
 * out2 (2n + 1) int64: inverse [0, n), counts [n, 2n), distinct count [2n]. */
dnn_status cu_unique(const dnn_op_args *a) {
  const char *name = "unique";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->out2, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t n = dnn_numel(a->in[0]);
  if (n == 0) {
    CU_CHECK(name, cudaMemsetAsync(dnn_data_ptr(a->out2), 0, sizeof(int64_t), c->stream));
    return DNN_OK;
  }
  cu_scratch s(name, dnn_tensor_device(a->out));
  dnn_status st = DNN_OK;
  bool known = false;
  CU_DISPATCH_ALL((dnn_dtype)a->in[0]->dtype, T, known = true; st = unique_run<T>(s, c, a, n));
  return known ? st : unsupported(name, a->in[0]);
}

/* BINCOUNT: out (len) zeros, int64 or the weights' dtype; in[0] int64 values
 * (n) in [0, len), contiguous; in[1] optional weights (n) of out's dtype. */
dnn_status cu_bincount(const dnn_op_args *a) {
  const char *name = "bincount";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *w = a->n_in > 1 ? a->in[1] : NULL;
  const dnn_tensor *ts[3] = {a->out, a->in[0], w};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t n = dnn_numel(a->in[0]), len = dnn_numel(a->out);
  if (n == 0 || len == 0) return DNN_OK;
  if (!w) {
    bincount_kernel<<<cuda_grid(n, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
        (const int64_t *)dnn_data_ptr(a->in[0]), n, (unsigned long long *)dnn_data_ptr(a->out));
    CU_CHECK_LAUNCH(name);
    return DNN_OK;
  }
  cu_scratch s(name, dnn_tensor_device(a->out));
  dnn_status st = DNN_OK;
  bool known = false;
  CU_DISPATCH_FLOAT((dnn_dtype)a->out->dtype, T, known = true; st = weighted_bincount<T>(s, c, a, n, len));
  return known ? st : unsupported(name, a->out);
}
