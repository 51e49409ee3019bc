/* Sorting and counting kernels: sort (stable merge sort), topk (bounded heap),
 * bincount, unique.  Sort and topk get (outer, R, inner) views and work on
 * the outer*inner rows of length R independently, so rows run in parallel.
 * Floats order NaN above every number, as PyTorch does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend_cpu.h"
#include "dtype_dispatch.h"
#include "iter.h"

#define RUN 16 /* insertion-sorted run length before merging */

/* Per-row scratch is allocated once per thread range; a failed allocation is
 * reported after the parallel region (errors are per thread). */
typedef struct {
  const dnn_op_args *a;
  int64_t R, inner, k; /* k: outputs per row */
  volatile int failed;
} rows_ctx;

#define NAN_F(x) ((x) != (x))
#define NAN_I(x) 0

/* For each dtype: before(a, b) is the strict order (ascending or descending,
 * NaN largest); msort is a stable merge sort of keys with their indices;
 * the heap keeps the k best by (value, index), a total order. */
#define DEF_SORT(T, S, ISNAN)                                                                        \
  static inline bool before_##S(T a, T b, bool desc) {                                               \
    if (desc) return ISNAN(a) ? !ISNAN(b) : a > b;                                                   \
    return ISNAN(b) ? !ISNAN(a) : a < b;                                                             \
  }                                                                                                  \
  static void msort_##S(T *k, int64_t *x, T *k2, int64_t *x2, int64_t n, bool desc) {                \
    for (int64_t s = 0; s < n; s += RUN) {                                                           \
      int64_t e = s + RUN < n ? s + RUN : n;                                                         \
      for (int64_t i = s + 1; i < e; i++) {                                                          \
        T v = k[i];                                                                                  \
        int64_t xi = x[i], j = i;                                                                    \
        while (j > s && before_##S(v, k[j - 1], desc)) {                                             \
          k[j] = k[j - 1];                                                                           \
          x[j] = x[j - 1];                                                                           \
          j--;                                                                                       \
        }                                                                                            \
        k[j] = v;                                                                                    \
        x[j] = xi;                                                                                   \
      }                                                                                              \
    }                                                                                                \
    T *ks = k, *kd = k2;                                                                             \
    int64_t *xs = x, *xd = x2;                                                                       \
    for (int64_t w = RUN; w < n; w *= 2) {                                                           \
      for (int64_t lo = 0; lo < n; lo += 2 * w) {                                                    \
        int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;                 \
        int64_t i = lo, j = mid, o = lo;                                                             \
        while (i < mid && j < hi) {                                                                  \
          if (before_##S(ks[j], ks[i], desc)) kd[o] = ks[j], xd[o++] = xs[j++];                      \
          else kd[o] = ks[i], xd[o++] = xs[i++];                                                     \
        }                                                                                            \
        while (i < mid) kd[o] = ks[i], xd[o++] = xs[i++];                                            \
        while (j < hi) kd[o] = ks[j], xd[o++] = xs[j++];                                             \
      }                                                                                              \
      T *tk = ks; ks = kd; kd = tk;                                                                  \
      int64_t *tx = xs; xs = xd; xd = tx;                                                            \
    }                                                                                                \
    if (ks != k) {                                                                                   \
      memcpy(k, ks, sizeof(T) * (size_t)n);                                                          \
      memcpy(x, xs, sizeof(int64_t) * (size_t)n);                                                    \
    }                                                                                                \
  }                                                                                                  \
  /* a (index ia) ranks after b (index ib) */                                                       \
  static inline bool worse_##S(T a, int64_t ia, T b, int64_t ib, bool desc) {                        \
    return before_##S(b, a, desc) || (!before_##S(a, b, desc) && ia > ib);                           \
  }                                                                                                  \
  static void sift_down_##S(T *k, int64_t *x, int64_t n, int64_t i, bool desc) {                     \
    for (;;) {                                                                                       \
      int64_t l = 2 * i + 1, r = l + 1, w = i;                                                       \
      if (l < n && worse_##S(k[l], x[l], k[w], x[w], desc)) w = l;                                   \
      if (r < n && worse_##S(k[r], x[r], k[w], x[w], desc)) w = r;                                   \
      if (w == i) return;                                                                            \
      T tk = k[i]; k[i] = k[w]; k[w] = tk;                                                           \
      int64_t tx = x[i]; x[i] = x[w]; x[w] = tx;                                                     \
      i = w;                                                                                         \
    }                                                                                                \
  }                                                                                                  \
  /* k best of row (R values at stride st) into k[0..kk) best first */                              \
  static void topk_row_##S(const T *row, int64_t st, int64_t R, T *k, int64_t *x, int64_t kk,        \
                           bool desc) {                                                              \
    int64_t n = 0;                                                                                   \
    for (int64_t j = 0; j < R && kk > 0; j++) {                                                      \
      T v = row[j * st];                                                                             \
      if (n < kk) { /* heap with the worst kept at the root */                                       \
        int64_t i = n++;                                                                             \
        k[i] = v, x[i] = j;                                                                          \
        while (i > 0) {                                                                              \
          int64_t p = (i - 1) / 2;                                                                   \
          if (!worse_##S(k[i], x[i], k[p], x[p], desc)) break;                                       \
          T tk = k[i]; k[i] = k[p]; k[p] = tk;                                                       \
          int64_t tx = x[i]; x[i] = x[p]; x[p] = tx;                                                 \
          i = p;                                                                                     \
        }                                                                                            \
      } else if (worse_##S(k[0], x[0], v, j, desc)) {                                                \
        k[0] = v, x[0] = j;                                                                          \
        sift_down_##S(k, x, n, 0, desc);                                                             \
      }                                                                                              \
    }                                                                                                \
    for (int64_t end = n - 1; end > 0; end--) { /* pop the worst to the back */                     \
      T tk = k[0]; k[0] = k[end]; k[end] = tk;                                                       \
      int64_t tx = x[0]; x[0] = x[end]; x[end] = tx;                                                 \
      sift_down_##S(k, x, end, 0, desc);                                                             \
    }                                                                                                \
  }                                                                                                  \
  static void sort_rows_##S(void *vctx, int64_t b, int64_t e) {                                      \
    rows_ctx *c = vctx;                                                                              \
    const dnn_op_args *a = c->a;                                                                     \
    bool topk = a->op == DNN_OP_TOPK;                                                                \
    int64_t R = c->R, inner = c->inner, kk = c->k, m = topk ? kk : R;                                \
    T *k = malloc(sizeof(T) * (size_t)(2 * m + 1));                                                  \
    int64_t *x = malloc(sizeof(int64_t) * (size_t)(2 * m + 1));                                      \
    if (!k || !x) {                                                                                  \
      free(k);                                                                                       \
      free(x);                                                                                       \
      c->failed = 1;                                                                                 \
      return;                                                                                        \
    }                                                                                                \
    const T *in = dnn_data_ptr(a->in[0]);                                                            \
    T *out = dnn_data_ptr(a->out);                                                                   \
    int64_t *oi = dnn_data_ptr(a->out2);                                                             \
    for (int64_t r = b; r < e; r++) {                                                                \
      int64_t o = r / inner, i = r % inner;                                                          \
      const T *row = in + o * R * inner + i;                                                         \
      if (topk) {                                                                                    \
        topk_row_##S(row, inner, R, k, x, kk, a->flag);                                              \
      } else {                                                                                       \
        for (int64_t j = 0; j < R; j++) k[j] = row[j * inner], x[j] = j;                             \
        msort_##S(k, x, k + m, x + m, R, a->flag);                                                   \
      }                                                                                              \
      T *ov = out + o * m * inner + i;                                                               \
      int64_t *ox = oi + o * m * inner + i;                                                          \
      for (int64_t j = 0; j < m; j++) ov[j * inner] = k[j], ox[j * inner] = x[j];                    \
    }                                                                                                \
    free(k);                                                                                         \
    free(x);                                                                                         \
  }

DEF_SORT(float, f32, NAN_F)
DEF_SORT(double, f64, NAN_F)
DEF_SORT(int32_t, i32, NAN_I)
DEF_SORT(int64_t, i64, NAN_I)
DEF_SORT(uint8_t, u8, NAN_I)

typedef void (*rows_fn)(void *, int64_t, int64_t);
static const rows_fn sort_rows_fns[DNN_DTYPE_COUNT] = {sort_rows_f32, sort_rows_f64, sort_rows_i32,
                                                       sort_rows_i64, sort_rows_u8,  sort_rows_u8};

static dnn_status sort_or_topk(const dnn_op_args *a) {
  const dnn_tensor *in = a->in[0];
  rows_ctx c = {.a = a, .R = in->shape[1], .inner = in->shape[2], .k = a->k, .failed = 0};
  int64_t rows = in->shape[0] * in->shape[2];
  if (c.R > 0) cpu_parallel_for(rows, c.R * 8, sort_rows_fns[in->dtype], &c);
  if (c.failed) return dnn_error(DNN_ERR_MEMORY, "%s: out of memory for a row of %lld", dnn_op_name(a->op), (long long)c.R);
  return DNN_OK;
}

dnn_status cpu_sort(const dnn_op_args *a) { return sort_or_topk(a); }
dnn_status cpu_topk(const dnn_op_args *a) { return sort_or_topk(a); }

/* out (len) zeros; in[0] values int64 (n), in[1] optional weights (n) of out's dtype. */
dnn_status cpu_bincount(const dnn_op_args *a) {
  const int64_t *v = dnn_data_ptr(a->in[0]);
  int64_t n = dnn_numel(a->in[0]);
  if (a->n_in < 2) {
    int64_t *o = dnn_data_ptr(a->out);
    for (int64_t i = 0; i < n; i++) o[v[i]]++;
  } else if (a->out->dtype == DNN_FLOAT32) {
    float *o = dnn_data_ptr(a->out);
    const float *w = dnn_data_ptr(a->in[1]);
    for (int64_t i = 0; i < n; i++) o[v[i]] += w[i];
  } else {
    double *o = dnn_data_ptr(a->out);
    const double *w = dnn_data_ptr(a->in[1]);
    for (int64_t i = 0; i < n; i++) o[v[i]] += w[i];
  }
  return DNN_OK;
}

/* UNIQUE: in[0] flat (n); out (n) gets the sorted distinct values; out2 (2n+1)
 * int64 gets inverse [0,n), counts [n,2n) and the distinct count at [2n].
 * NaNs count as one value (NumPy's equal_nan), sorted last. */
#define DEF_UNIQUE(T, S, ISNAN)                                                                 \
  static dnn_status unique_##S(const dnn_op_args *a, int64_t n) {                               \
    T *k = malloc(sizeof(T) * (size_t)(2 * n + 1));                                             \
    int64_t *x = malloc(sizeof(int64_t) * (size_t)(2 * n + 1));                                 \
    if (!k || !x) {                                                                             \
      free(k);                                                                                  \
      free(x);                                                                                  \
      return dnn_error(DNN_ERR_MEMORY, "unique: out of memory for %lld values", (long long)n); \
    }                                                                                           \
    const T *in = dnn_data_ptr(a->in[0]);                                                       \
    for (int64_t i = 0; i < n; i++) k[i] = in[i], x[i] = i;                                     \
    msort_##S(k, x, k + n, x + n, n, false);                                                    \
    T *vals = dnn_data_ptr(a->out);                                                             \
    int64_t *inv = dnn_data_ptr(a->out2), *cnt = inv + n, u = 0;                                \
    for (int64_t p = 0; p < n; p++) {                                                           \
      if (p == 0 || !(k[p] == k[p - 1] || (ISNAN(k[p]) && ISNAN(k[p - 1])))) {                  \
        vals[u] = k[p];                                                                         \
        cnt[u++] = 0;                                                                           \
      }                                                                                         \
      cnt[u - 1]++;                                                                             \
      inv[x[p]] = u - 1;                                                                        \
    }                                                                                           \
    inv[2 * n] = u;                                                                             \
    free(k);                                                                                    \
    free(x);                                                                                    \
    return DNN_OK;                                                                              \
  }
/* Integers spanning a small range are counted in a table instead of sorted:
 * O(n + range) rather than O(n log n).  Returns false when the range is too
 * wide (or the table cannot be had) so the caller sorts instead. */
#define DEF_UNIQUE_COUNT(T, S)                                                    \
  static bool unique_count_##S(const dnn_op_args *a, int64_t n) {                 \
    const T *in = dnn_data_ptr(a->in[0]);                                         \
    if (n == 0) return false;                                                     \
    T lo = in[0], hi = in[0];                                                     \
    for (int64_t i = 1; i < n; i++) {                                             \
      if (in[i] < lo) lo = in[i];                                                 \
      if (in[i] > hi) hi = in[i];                                                 \
    }                                                                             \
    uint64_t diff = (uint64_t)(int64_t)hi - (uint64_t)(int64_t)lo; /* no overflow */ \
    if (diff > (uint64_t)n * 2 + 4096) return false;                              \
    uint64_t range = diff + 1;                                                    \
    int64_t *tab = calloc(range, sizeof(int64_t));                                \
    if (!tab) return false;                                                       \
    for (int64_t i = 0; i < n; i++) tab[(int64_t)in[i] - (int64_t)lo]++;          \
    T *vals = dnn_data_ptr(a->out);                                               \
    int64_t *inv = dnn_data_ptr(a->out2), *cnt = inv + n, u = 0;                  \
    for (uint64_t r = 0; r < range; r++) {                                        \
      if (!tab[r]) continue;                                                      \
      vals[u] = (T)((int64_t)lo + (int64_t)r);                                    \
      cnt[u] = tab[r];                                                            \
      tab[r] = u++; /* the table now maps a value to its rank */                  \
    }                                                                             \
    for (int64_t i = 0; i < n; i++) inv[i] = tab[(int64_t)in[i] - (int64_t)lo];   \
    inv[2 * n] = u;                                                               \
    free(tab);                                                                    \
    return true;                                                                  \
  }
DEF_UNIQUE_COUNT(int32_t, i32)
DEF_UNIQUE_COUNT(int64_t, i64)
DEF_UNIQUE_COUNT(uint8_t, u8)

DEF_UNIQUE(float, f32, NAN_F)
DEF_UNIQUE(double, f64, NAN_F)
DEF_UNIQUE(int32_t, i32, NAN_I)
DEF_UNIQUE(int64_t, i64, NAN_I)
DEF_UNIQUE(uint8_t, u8, NAN_I)

dnn_status cpu_unique(const dnn_op_args *a) {
  int64_t n = dnn_numel(a->in[0]);
  switch ((dnn_dtype)a->in[0]->dtype) {
    case DNN_FLOAT32: return unique_f32(a, n);
    case DNN_FLOAT64: return unique_f64(a, n);
    case DNN_INT32: return unique_count_i32(a, n) ? DNN_OK : unique_i32(a, n);
    case DNN_INT64: return unique_count_i64(a, n) ? DNN_OK : unique_i64(a, n);
    default: return unique_count_u8(a, n) ? DNN_OK : unique_u8(a, n);
  }
}
