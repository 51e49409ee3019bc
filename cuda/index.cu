/* Indexing kernels with cpu/index.c's contracts (core/ops_index.c has checked
 * shapes, dtypes and index ranges): gather, scatter and scatter_add,
 * index_select, index_add, masked_fill, one_hot, and the embedding lookup and
 * its backward (src/dnn/nn.h).  Elements move as raw words of their size.
 * Writes that may collide (scatter, the adds) give each output line to one
 * thread, which applies the indices in order: results are deterministic and
 * duplicates behave as on the CPU (the last write wins, adds in order). */
#include "elementwise.cuh"

namespace {

/* The index's shape without `dim` (rows), with per-operand strides. */
struct rows_geom {
  cu_offsets off; /* over the other dims; operands as the caller orders them */
  int64_t rows, len;
  int64_t dst[3]; /* strides along dim */
};

rows_geom rows_of(int dim, const dnn_tensor *shape_of, int n, const dnn_tensor *const *ts) {
  rows_geom g;
  memset(&g, 0, sizeof g);
  g.len = shape_of->ndim ? shape_of->shape[dim] : 1;
  int nd = 0;
  for (int i = 0; i < shape_of->ndim; i++) {
    if (i == dim) continue;
    g.off.shape[nd] = shape_of->shape[i];
    for (int k = 0; k < n; k++) g.off.strides[k][nd] = ts[k]->strides[i];
    nd++;
  }
  if (nd == 0) {
    g.off.shape[0] = 1;
    nd = 1;
  }
  for (int d = nd; d < DNN_MAX_DIMS; d++) g.off.shape[d] = 1;
  g.off.ndim = nd;
  g.rows = g.len > 0 ? 1 : 0;
  for (int i = 0; i < nd; i++) g.rows *= g.off.shape[i];
  for (int k = 0; k < n; k++) g.dst[k] = ts[k]->ndim ? ts[k]->strides[dim] : 0;
  return g;
}

/* operands: 0 = out, 1 = input, 2 = index (int64) */
template <typename W>
__global__ void gather_kernel(rows_geom g, W *out, const W *in, const int64_t *ix) {
  int64_t total = g.rows * g.len;
  CU_GRID_STRIDE(e, total) {
    int64_t r = e / g.len, j = e % g.len, off[3];
    cu_offsets_at<3>(g.off, r, off);
    out[off[0] + j * g.dst[0]] = in[off[1] + ix[off[2] + j * g.dst[2]] * g.dst[1]];
  }
}

/* operands: 0 = out, 1 = index (int64), 2 = src; one thread per row */
template <typename T, bool ADD>
__global__ void scatter_kernel(rows_geom g, T *out, const int64_t *ix, const T *src) {
  CU_GRID_STRIDE(r, g.rows) {
    int64_t off[3];
    cu_offsets_at<3>(g.off, r, off);
    T *o = out + off[0];
    const int64_t *x = ix + off[1];
    const T *s = src + off[2];
    for (int64_t j = 0; j < g.len; j++) {
      T *dst = o + x[j * g.dst[1]] * g.dst[0];
      T v = s[j * g.dst[2]];
      if (ADD) *dst = (T)(*dst + v);
      else *dst = v;
    }
  }
}
__global__ void scatter_or_kernel(rows_geom g, uint8_t *out, const int64_t *ix, const uint8_t *src) {
  CU_GRID_STRIDE(r, g.rows) {
    int64_t off[3];
    cu_offsets_at<3>(g.off, r, off);
    for (int64_t j = 0; j < g.len; j++) {
      uint8_t *dst = out + off[0] + ix[off[1] + j * g.dst[1]] * g.dst[0];
      *dst = (uint8_t)(*dst || src[off[2] + j * g.dst[2]]);
    }
  }
}

/* out (outer, n, inner) = in (outer, D, inner) at index */
template <typename W>
__global__ void index_select_kernel(W *out, const W *in, const int64_t *ix, int64_t is, int64_t D, int64_t n,
                                    int64_t inner, int64_t total) {
  CU_GRID_STRIDE(e, total) {
    int64_t i = e % inner, r = e / inner, j = r % n, o = r / n;
    out[e] = in[(o * D + ix[j * is]) * inner + i];
  }
}

/* out (outer, D, inner) += src (outer, n, inner) at index; a thread per (o, i) */
template <typename T>
__global__ void index_add_kernel(T *out, const T *src, const int64_t *ix, int64_t is, int64_t D, int64_t n,
                                 int64_t inner, int64_t outer, bool logical_or) {
  CU_GRID_STRIDE(c, outer * inner) {
    int64_t o = c / inner, i = c % inner;
    for (int64_t j = 0; j < n; j++) {
      T *dst = out + (o * D + ix[j * is]) * inner + i;
      T v = src[(o * n + j) * inner + i];
      *dst = logical_or ? (T)(*dst || v) : (T)(*dst + v);
    }
  }
}

template <typename W>
__global__ void masked_fill_kernel(int64_t n, cu_offsets off, W *out, const uint8_t *mask, W v) {
  CU_GRID_STRIDE(e, n) {
    int64_t k[2];
    cu_offsets_at<2>(off, e, k);
    if (mask[k[1]]) out[k[0]] = v;
  }
}

__global__ void one_hot_kernel(int64_t n, int64_t C, int64_t *out, const int64_t *lab) {
  CU_GRID_STRIDE(i, n) out[i * C + lab[i]] = 1;
}

__device__ __forceinline__ int64_t id_at(const void *p, dnn_dtype dt, int64_t i) {
  switch (dt) {
    case DNN_INT32: return ((const int32_t *)p)[i];
    case DNN_INT64: return ((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
  }
}

__global__ void check_ids_kernel(int64_t n, const void *ids, dnn_dtype dt, int64_t vocab, int *err) {
  CU_GRID_STRIDE(i, n) {
    int64_t id = id_at(ids, dt, i);
    if (id < 0 || id >= vocab) *err = 4;
  }
}

template <typename W>
__global__ void embedding_kernel(int64_t total, int64_t dim, W *out, const W *w, const void *ids, dnn_dtype dt) {
  CU_GRID_STRIDE(e, total) out[e] = w[id_at(ids, dt, e / dim) * dim + e % dim];
}

/* a thread per column: ids in order, so repeated ids add the same way always */
template <typename T>
__global__ void embedding_backward_kernel(int64_t n, int64_t dim, T *out, const T *g, const void *ids, dnn_dtype dt) {
  CU_GRID_STRIDE(j, dim) {
    for (int64_t i = 0; i < n; i++) out[id_at(ids, dt, i) * dim + j] += g[i * dim + j];
  }
}

size_t esize(const dnn_tensor *t) { return dnn_dtype_size((dnn_dtype)t->dtype); }

#define BY_WORD(es, ...)                                          \
  switch (es) {                                                   \
    case 1: { typedef uint8_t W; __VA_ARGS__; break; }            \
    case 4: { typedef uint32_t W; __VA_ARGS__; break; }           \
    default: { typedef uint64_t W; __VA_ARGS__; break; }          \
  }

/* The first bad id, found on the host as the CPU kernel reports it. */
dnn_status report_bad_ids(const dnn_tensor *ids, int64_t vocab) {
  int64_t n = dnn_numel(ids);
  dnn_tensor *h = dnn_empty(ids->ndim, ids->shape, (dnn_dtype)ids->dtype, DNN_CPU);
  if (!h) return dnn_error_code();
  dnn_status st = dnn_cuda_memcpy_d2h(dnn_data_ptr(h), dnn_data_ptr(ids), (size_t)n * esize(ids),
                                      dnn_tensor_device(ids));
  for (int64_t i = 0; st == DNN_OK && i < n; i++) {
    int64_t id = (int64_t)dnn_get_flat(h, i);
    if (id < 0 || id >= vocab)
      st = dnn_error(DNN_ERR_INDEX,
                     "embedding: id %lld (at flat position %lld) is out of range for a vocabulary of %lld "
                     "(ids are 0-based: 0..%lld)",
                     (long long)id, (long long)i + 1, (long long)vocab, (long long)vocab - 1);
  }
  dnn_tensor_release(h);
  return st == DNN_OK ? dnn_error(DNN_ERR_INDEX, "embedding: an id is out of range") : st;
}

dnn_status check_ids(const char *name, cuda_ctx *c, const dnn_tensor *ids, int64_t vocab) {
  int64_t n = dnn_numel(ids);
  if (n == 0) return DNN_OK;
  if (!dnn_is_contiguous(ids)) return dnn_error(DNN_ERR_INTERNAL, "%s: ids must be contiguous", name);
  check_ids_kernel<<<cuda_grid(n, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(n, dnn_data_ptr(ids),
                                                                              (dnn_dtype)ids->dtype, vocab, c->err_flag);
  CU_CHECK_LAUNCH(name);
  int flag = 0;
  DNN_RETURN_IF_ERR(cuda_read_err_flag(name, c, &flag));
  return flag ? report_bad_ids(ids, vocab) : DNN_OK;
}

int64_t index_stride(const dnn_tensor *idx) { return idx->ndim ? idx->strides[0] : 0; }

}  // namespace

dnn_status cu_gather(const dnn_op_args *a) {
  const char *name = "gather";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  rows_geom g = rows_of(a->dim, a->in[1], 3, ts);
  int64_t total = g.rows * g.len;
  if (total == 0) return DNN_OK;
  unsigned grid = cuda_grid(total, CU_THREADS, c);
  BY_WORD(esize(a->out), gather_kernel<W><<<grid, CU_THREADS, 0, c->stream>>>(
                             g, (W *)dnn_data_ptr(a->out), (const W *)dnn_data_ptr(a->in[0]),
                             (const int64_t *)dnn_data_ptr(a->in[1])));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* out holds the input already; in[0] index, in[1] src (out's dtype). */
dnn_status cu_scatter(const dnn_op_args *a) {
  const char *name = a->op == DNN_OP_SCATTER_ADD ? "scatter_add" : "scatter";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  rows_geom g = rows_of(a->dim, a->in[0], 3, ts);
  if (g.rows == 0) return DNN_OK;
  unsigned grid = cuda_grid(g.rows, CU_THREADS, c);
  const int64_t *ix = (const int64_t *)dnn_data_ptr(a->in[0]);
  dnn_dtype dt = (dnn_dtype)a->out->dtype;
  if (a->op == DNN_OP_SCATTER_ADD) {
    switch (dt) {
#define SA(T)                                                                                               \
  scatter_kernel<T, true><<<grid, CU_THREADS, 0, c->stream>>>(g, (T *)dnn_data_ptr(a->out), ix,            \
                                                              (const T *)dnn_data_ptr(a->in[1]));
      case DNN_FLOAT32: SA(float) break;
      case DNN_FLOAT64: SA(double) break;
      case DNN_INT32: SA(int32_t) break;
      case DNN_INT64: SA(int64_t) break;
      case DNN_UINT8: SA(uint8_t) break;
#undef SA
      default:
        scatter_or_kernel<<<grid, CU_THREADS, 0, c->stream>>>(g, (uint8_t *)dnn_data_ptr(a->out), ix,
                                                              (const uint8_t *)dnn_data_ptr(a->in[1]));
        break;
    }
  } else {
    BY_WORD(esize(a->out), scatter_kernel<W, false><<<grid, CU_THREADS, 0, c->stream>>>(
                               g, (W *)dnn_data_ptr(a->out), ix, (const W *)dnn_data_ptr(a->in[1])));
  }
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] (outer, D, inner) contiguous, in[1] index (n); out (outer, n, inner). */
dnn_status cu_index_select(const dnn_op_args *a) {
  const char *name = "index_select";
  const dnn_tensor *in = a->in[0], *idx = a->in[1], *out = a->out;
  cuda_ctx *c = cuda_ctx_of(name, out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {out, in, idx};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t D = in->shape[1], n = out->shape[1], inner = in->shape[2], outer = in->shape[0];
  int64_t total = outer * n * inner;
  if (total == 0) return DNN_OK;
  unsigned grid = cuda_grid(total, CU_THREADS, c);
  BY_WORD(esize(out), index_select_kernel<W><<<grid, CU_THREADS, 0, c->stream>>>(
                          (W *)dnn_data_ptr(out), (const W *)dnn_data_ptr(in), (const int64_t *)dnn_data_ptr(idx),
                          index_stride(idx), D, n, inner, total));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* out (outer, D, inner) += in[1] (outer, n, inner) at in[0] (n). */
dnn_status cu_index_add(const dnn_op_args *a) {
  const char *name = "index_add";
  const dnn_tensor *out = a->out, *idx = a->in[0], *src = a->in[1];
  cuda_ctx *c = cuda_ctx_of(name, out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {out, idx, src};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  int64_t D = out->shape[1], n = src->shape[1], inner = out->shape[2], outer = out->shape[0];
  if (outer * inner == 0 || n == 0) return DNN_OK;
  unsigned grid = cuda_grid(outer * inner, CU_THREADS, c);
  const int64_t *ix = (const int64_t *)dnn_data_ptr(idx);
  int64_t is = index_stride(idx);
  switch ((dnn_dtype)out->dtype) {
#define IA(T, OR)                                                                                          \
  index_add_kernel<T><<<grid, CU_THREADS, 0, c->stream>>>((T *)dnn_data_ptr(out), (const T *)dnn_data_ptr(src), \
                                                          ix, is, D, n, inner, outer, OR);
    case DNN_FLOAT32: IA(float, false) break;
    case DNN_FLOAT64: IA(double, false) break;
    case DNN_INT32: IA(int32_t, false) break;
    case DNN_INT64: IA(int64_t, false) break;
    case DNN_UINT8: IA(uint8_t, false) break;
    default: IA(uint8_t, true) break;
#undef IA
  }
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* out[mask] = s0 (mask in[0], bool, out's shape by broadcast strides). */
dnn_status cu_masked_fill(const dnn_op_args *a) {
  const char *name = "masked_fill";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  cu_iter it;
  DNN_RETURN_IF_ERR(cu_iter_init(name, &it, 2, ts));
  if (it.numel == 0) return DNN_OK;
  double v = a->s0;
  int64_t iv = v != v ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN
                                                                                               : (int64_t)v;
  union {
    float f32;
    double f64;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint64_t w8;
    uint32_t w4;
  } u;
  memset(&u, 0, sizeof u);
  switch ((dnn_dtype)a->out->dtype) {
    case DNN_FLOAT32: u.f32 = (float)v; break;
    case DNN_FLOAT64: u.f64 = v; break;
    case DNN_INT32: u.i32 = iv > INT32_MAX ? INT32_MAX : iv < INT32_MIN ? INT32_MIN : (int32_t)iv; break;
    case DNN_INT64: u.i64 = iv; break;
    case DNN_UINT8: u.u8 = (uint8_t)iv; break;
    default: u.u8 = v != 0; break;
  }
  unsigned grid = cuda_grid(it.numel, CU_THREADS, c);
  cu_offsets off = cu_offsets_of(it);
  switch (esize(a->out)) {
    case 1:
      masked_fill_kernel<uint8_t><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, off, (uint8_t *)it.base[0],
                                                                      (const uint8_t *)it.base[1], u.u8);
      break;
    case 4:
      masked_fill_kernel<uint32_t><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, off, (uint32_t *)it.base[0],
                                                                       (const uint8_t *)it.base[1], u.w4);
      break;
    default:
      masked_fill_kernel<uint64_t><<<grid, CU_THREADS, 0, c->stream>>>(it.numel, off, (uint64_t *)it.base[0],
                                                                       (const uint8_t *)it.base[1], u.w8);
      break;
  }
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* out (N, C) int64 zeros; in[0] labels (N) int64 contiguous; k = C. */
dnn_status cu_one_hot(const dnn_op_args *a) {
  const char *name = "one_hot";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 2, ts));
  int64_t n = dnn_numel(a->in[0]);
  if (n == 0) return DNN_OK;
  one_hot_kernel<<<cuda_grid(n, CU_THREADS, c), CU_THREADS, 0, c->stream>>>(
      n, a->k, (int64_t *)dnn_data_ptr(a->out), (const int64_t *)dnn_data_ptr(a->in[0]));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] ids, in[1] weight (vocab, dim); out (n, dim); k = vocab. */
dnn_status cu_embedding(const dnn_op_args *a) {
  const char *name = "embedding";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  DNN_RETURN_IF_ERR(check_ids(name, c, a->in[0], a->k));
  int64_t dim = a->in[1]->shape[1], total = dnn_numel(a->in[0]) * dim;
  if (total == 0) return DNN_OK;
  unsigned grid = cuda_grid(total, CU_THREADS, c);
  BY_WORD(esize(a->out), embedding_kernel<W><<<grid, CU_THREADS, 0, c->stream>>>(
                             total, dim, (W *)dnn_data_ptr(a->out), (const W *)dnn_data_ptr(a->in[1]),
                             dnn_data_ptr(a->in[0]), (dnn_dtype)a->in[0]->dtype));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

/* in[0] ids, in[1] g (n, dim); out (vocab, dim) = rows of g added at their ids. */
dnn_status cu_embedding_backward(const dnn_op_args *a) {
  const char *name = "embedding_backward";
  cuda_ctx *c = cuda_ctx_of(name, a->out);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 3, ts));
  DNN_RETURN_IF_ERR(check_ids(name, c, a->in[0], a->out->shape[0]));
  CU_CHECK(name, cudaMemsetAsync(dnn_data_ptr(a->out), 0, (size_t)dnn_numel(a->out) * esize(a->out), c->stream));
  int64_t n = dnn_numel(a->in[0]), dim = a->out->shape[1];
  if (n == 0 || dim == 0) return DNN_OK;
  unsigned grid = cuda_grid(dim, 64, c);
  if (a->out->dtype == DNN_FLOAT32)
    embedding_backward_kernel<float><<<grid, 64, 0, c->stream>>>(n, dim, (float *)dnn_data_ptr(a->out),
                                                                 (const float *)dnn_data_ptr(a->in[1]),
                                                                 dnn_data_ptr(a->in[0]), (dnn_dtype)a->in[0]->dtype);
  else
    embedding_backward_kernel<double><<<grid, 64, 0, c->stream>>>(n, dim, (double *)dnn_data_ptr(a->out),
                                                                  (const double *)dnn_data_ptr(a->in[1]),
                                                                  dnn_data_ptr(a->in[0]), (dnn_dtype)a->in[0]->dtype);
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}
