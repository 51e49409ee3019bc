/* Indexing kernels: gather, scatter(_add), index_select, index_add, masks,
 * one_hot.  The front ends (core/ops_index.c) have checked shapes, dtypes and
 * index ranges, so these trust the indices.  Element copies move raw bytes
 * (1, 4 or 8 per element), so one kernel serves every dtype. */
#include <limits.h>
#include <string.h>

#include "backend_cpu.h"
#include "dtype_dispatch.h"
#include "iter.h"

static inline void copy_elem(char *dst, const char *src, size_t es) {
  switch (es) {
    case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
    case 4: memcpy(dst, src, 4); break;
    default: memcpy(dst, src, 8); break;
  }
}

static inline char *elem_ptr(const dnn_tensor *t) { return (char *)dnn_data_ptr(t); }

/* ---- gather / scatter: rows over every dim but `dim` ---- */

/* Up to three operands walked over the index's shape with `dim` left out:
 * row r has coordinates (over the other dims) and a base offset per operand;
 * the row itself runs along `dim`. */
typedef struct {
  int nd;                               /* dims other than `dim` */
  int64_t shape[DNN_MAX_DIMS];
  int64_t st[3][DNN_MAX_DIMS];          /* element strides over those dims */
  int64_t len;                          /* index.shape[dim] */
  int64_t dst[3];                       /* element strides along `dim` */
  char *base[3];
  size_t es[3];
} rows_layout;

static void rows_init(rows_layout *l, int dim, const dnn_tensor *shape_of, int n, const dnn_tensor *const *ts) {
  l->nd = 0;
  l->len = shape_of->ndim ? shape_of->shape[dim] : 1;
  for (int k = 0; k < n; k++) {
    l->base[k] = elem_ptr(ts[k]);
    l->es[k] = dnn_dtype_size((dnn_dtype)ts[k]->dtype);
    l->dst[k] = ts[k]->ndim ? ts[k]->strides[dim] : 0;
  }
  for (int i = 0; i < shape_of->ndim; i++) {
    if (i == dim) continue;
    l->shape[l->nd] = shape_of->shape[i];
    for (int k = 0; k < n; k++) l->st[k][l->nd] = ts[k]->strides[i];
    l->nd++;
  }
}

/* Element offsets of row r for n operands. */
static void rows_offsets(const rows_layout *l, int n, int64_t r, int64_t *off) {
  for (int k = 0; k < n; k++) off[k] = 0;
  for (int i = l->nd - 1; i >= 0; i--) {
    int64_t c = r % l->shape[i];
    r /= l->shape[i];
    for (int k = 0; k < n; k++) off[k] += c * l->st[k][i];
  }
}

static int64_t rows_count(const rows_layout *l) {
  int64_t n = l->len > 0 ? 1 : 0;
  for (int i = 0; i < l->nd; i++) n *= l->shape[i];
  return n;
}

/* operands: 0 = out, 1 = input, 2 = index (int64); one loop per element size */
#define DEF_GATHER(T, S)                                                                 \
  static void gather_rows_##S(void *ctx, int64_t b, int64_t e) {                         \
    const rows_layout *l = ctx;                                                          \
    int64_t os = l->dst[0], ts = l->dst[1], is = l->dst[2], len = l->len;                \
    for (int64_t r = b; r < e; r++) {                                                    \
      int64_t off[3];                                                                    \
      rows_offsets(l, 3, r, off);                                                        \
      T *o = (T *)l->base[0] + off[0];                                                   \
      const T *in = (const T *)l->base[1] + off[1];                                      \
      const int64_t *ix = (const int64_t *)l->base[2] + off[2];                          \
      if (os == 1 && is == 1 && ts == 1)                                                 \
        for (int64_t j = 0; j < len; j++) o[j] = in[ix[j]];                              \
      else                                                                               \
        for (int64_t j = 0; j < len; j++) o[j * os] = in[ix[j * is] * ts];               \
    }                                                                                    \
  }
DEF_GATHER(uint8_t, 1)
DEF_GATHER(uint32_t, 4)
DEF_GATHER(uint64_t, 8)

dnn_status cpu_gather(const dnn_op_args *a) {
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  rows_layout l;
  rows_init(&l, a->dim, a->in[1], 3, ts);
  void (*fn)(void *, int64_t, int64_t) = l.es[0] == 1 ? gather_rows_1 : l.es[0] == 4 ? gather_rows_4 : gather_rows_8;
  cpu_parallel_for(rows_count(&l), l.len, fn, &l);
  return DNN_OK;
}

typedef struct {
  rows_layout l; /* operands: 0 = out, 1 = index (int64), 2 = src */
  bool add;
  dnn_dtype dt;
} scatter_ctx;

#define DEF_SCATTER_ADD(DT, T, S)                                                       \
  static void scatter_add_##S(char *o, int64_t os, const char *s, int64_t ss,            \
                              const int64_t *ix, int64_t is, int64_t len) {              \
    for (int64_t j = 0; j < len; j++) {                                                  \
      T *dst = (T *)o + ix[j * is] * os;                                                 \
      *dst = (T)(*dst + ((const T *)s)[j * ss]);                                         \
    }                                                                                    \
  }
DNN_FOR_EACH_NUMERIC(DEF_SCATTER_ADD)

static void scatter_add_b8(char *o, int64_t os, const char *s, int64_t ss, const int64_t *ix, int64_t is,
                           int64_t len) {
  for (int64_t j = 0; j < len; j++) {
    uint8_t *dst = (uint8_t *)o + ix[j * is] * os;
    *dst = (uint8_t)(*dst || ((const uint8_t *)s)[j * ss]);
  }
}

typedef void (*scatter_add_fn)(char *, int64_t, const char *, int64_t, const int64_t *, int64_t, int64_t);
static const scatter_add_fn scatter_add_fns[DNN_DTYPE_COUNT] = {
    scatter_add_f32, scatter_add_f64, scatter_add_i32, scatter_add_i64, scatter_add_u8, scatter_add_b8};

/* Rows differ in a coordinate other than `dim`, so they never write the same
 * output element: rows can run on any thread, and within a row duplicates
 * apply in index order (the last write wins for scatter). */
static void scatter_rows(void *ctx, int64_t b, int64_t e) {
  const scatter_ctx *c = ctx;
  const rows_layout *l = &c->l;
  size_t es = l->es[0];
  for (int64_t r = b; r < e; r++) {
    int64_t off[3];
    rows_offsets(l, 3, r, off);
    char *o = l->base[0] + off[0] * (int64_t)es;
    const int64_t *ix = (const int64_t *)l->base[1] + off[1];
    const char *s = l->base[2] + off[2] * (int64_t)es;
    if (c->add) {
      scatter_add_fns[c->dt](o, l->dst[0], s, l->dst[2], ix, l->dst[1], l->len);
    } else {
      for (int64_t j = 0; j < l->len; j++)
        copy_elem(o + ix[j * l->dst[1]] * l->dst[0] * (int64_t)es, s + j * l->dst[2] * (int64_t)es, es);
    }
  }
}

dnn_status cpu_scatter(const dnn_op_args *a) {
  const dnn_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  scatter_ctx c = {.add = a->op == DNN_OP_SCATTER_ADD, .dt = (dnn_dtype)a->out->dtype};
  rows_init(&c.l, a->dim, a->in[0], 3, ts);
  cpu_parallel_for(rows_count(&c.l), c.l.len, scatter_rows, &c);
  return DNN_OK;
}

/* ---- index_select / index_add over (outer, D, inner) ---- */

typedef struct {
  char *out;
  const char *in;
  const int64_t *ix;
  int64_t is;     /* index element stride */
  int64_t D, n, inner, outer;
  size_t es;
  dnn_dtype dt;
} slab_ctx;

static void select_rows(void *ctx, int64_t b, int64_t e) {
  const slab_ctx *c = ctx;
  size_t row = (size_t)c->inner * c->es;
  for (int64_t r = b; r < e; r++) {
    int64_t o = r / c->n, j = r % c->n;
    memcpy(c->out + (size_t)r * row, c->in + (size_t)(o * c->D + c->ix[j * c->is]) * row, row);
  }
}

static int64_t index_stride(const dnn_tensor *idx) { return idx->ndim ? idx->strides[0] : 0; }

dnn_status cpu_index_select(const dnn_op_args *a) {
  const dnn_tensor *in = a->in[0], *idx = a->in[1], *out = a->out;
  slab_ctx c = {.out = elem_ptr(out), .in = elem_ptr(in), .ix = dnn_data_ptr(idx), .is = index_stride(idx),
                .D = in->shape[1], .n = out->shape[1], .inner = in->shape[2], .outer = in->shape[0],
                .es = dnn_dtype_size((dnn_dtype)in->dtype)};
  cpu_parallel_for(c.outer * c.n, c.inner, select_rows, &c);
  return DNN_OK;
}

/* index_add: out (outer, D, inner) += src (outer, n, inner) at index.  Work
 * is split over outer slices, or over inner columns when outer is small, so
 * every output element belongs to one thread and duplicates add in order. */
#define DEF_INDEX_ADD(DT, T, S)                                                                   \
  static void index_add_##S(const slab_ctx *c, int64_t o0, int64_t o1, int64_t i0, int64_t i1) { \
    T *out = (T *)c->out;                                                                         \
    const T *src = (const T *)c->in;                                                              \
    for (int64_t o = o0; o < o1; o++)                                                             \
      for (int64_t j = 0; j < c->n; j++) {                                                        \
        T *dst = out + (o * c->D + c->ix[j * c->is]) * c->inner;                                  \
        const T *s = src + (o * c->n + j) * c->inner;                                             \
        for (int64_t i = i0; i < i1; i++) dst[i] = (T)(dst[i] + s[i]);                            \
      }                                                                                           \
  }
DNN_FOR_EACH_NUMERIC(DEF_INDEX_ADD)

static void index_add_b8(const slab_ctx *c, int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
  uint8_t *out = (uint8_t *)c->out;
  const uint8_t *src = (const uint8_t *)c->in;
  for (int64_t o = o0; o < o1; o++)
    for (int64_t j = 0; j < c->n; j++) {
      uint8_t *dst = out + (o * c->D + c->ix[j * c->is]) * c->inner;
      const uint8_t *s = src + (o * c->n + j) * c->inner;
      for (int64_t i = i0; i < i1; i++) dst[i] = (uint8_t)(dst[i] || s[i]);
    }
}

typedef void (*index_add_fn)(const slab_ctx *, int64_t, int64_t, int64_t, int64_t);
static const index_add_fn index_add_fns[DNN_DTYPE_COUNT] = {index_add_f32, index_add_f64, index_add_i32,
                                                            index_add_i64, index_add_u8,  index_add_b8};

static void index_add_outer(void *ctx, int64_t b, int64_t e) {
  const slab_ctx *c = ctx;
  index_add_fns[c->dt](c, b, e, 0, c->inner);
}

static void index_add_inner(void *ctx, int64_t b, int64_t e) {
  const slab_ctx *c = ctx;
  index_add_fns[c->dt](c, 0, c->outer, b, e);
}

dnn_status cpu_index_add(const dnn_op_args *a) {
  const dnn_tensor *out = a->out, *idx = a->in[0], *src = a->in[1];
  slab_ctx c = {.out = elem_ptr(out), .in = elem_ptr(src), .ix = dnn_data_ptr(idx), .is = index_stride(idx),
                .D = out->shape[1], .n = src->shape[1], .inner = out->shape[2], .outer = out->shape[0],
                .es = dnn_dtype_size((dnn_dtype)out->dtype), .dt = (dnn_dtype)out->dtype};
  if (c.outer >= c.inner)
    cpu_parallel_for(c.outer, c.n * c.inner, index_add_outer, &c);
  else
    cpu_parallel_for(c.inner, c.n * c.outer, index_add_inner, &c);
  return DNN_OK;
}

/* ---- masks ---- */

/* Float-to-int conversion without undefined behaviour (as cpu/copy.c). */
static int64_t to_i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}

typedef struct {
  union {
    float f32;
    double f64;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
  } v;
  size_t es;
} fill_value;

static void fill_rows(void *ctx, int64_t n, char **p, const int64_t *st) {
  const fill_value *f = ctx;
  for (int64_t i = 0; i < n; i++)
    if (*(const uint8_t *)(p[1] + i * st[1])) memcpy(p[0] + i * st[0], &f->v, f->es);
}

dnn_status cpu_masked_fill(const dnn_op_args *a) {
  fill_value f;
  memset(&f, 0, sizeof f);
  int64_t iv = to_i64(a->s0);
  switch ((dnn_dtype)a->out->dtype) {
    case DNN_FLOAT32: f.v.f32 = (float)a->s0; break;
    case DNN_FLOAT64: f.v.f64 = a->s0; break;
    case DNN_INT32: f.v.i32 = iv > INT32_MAX ? INT32_MAX : iv < INT32_MIN ? INT32_MIN : (int32_t)iv; break;
    case DNN_INT64: f.v.i64 = iv; break;
    case DNN_UINT8: f.v.u8 = (uint8_t)iv; break;
    default: f.v.u8 = a->s0 != 0; break;
  }
  f.es = dnn_dtype_size((dnn_dtype)a->out->dtype);
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  cpu_iter it;
  cpu_iter_init(&it, 2, ts);
  cpu_iter_run(&it, fill_rows, &f, 2);
  return DNN_OK;
}

/* Order-dependent walks (select, scatter) run on one thread. */
#define SERIAL INT_MAX

typedef struct {
  char *dst;
  int64_t dst_stride; /* bytes */
  const char *src;    /* masked_scatter: contiguous source */
  size_t es;
} walk_ctx;

static void select_walk(void *ctx, int64_t n, char **p, const int64_t *st) {
  walk_ctx *w = ctx;
  for (int64_t i = 0; i < n; i++)
    if (*(const uint8_t *)(p[1] + i * st[1])) {
      copy_elem(w->dst, p[0] + i * st[0], w->es);
      w->dst += w->dst_stride;
    }
}

dnn_status cpu_masked_select(const dnn_op_args *a) {
  const dnn_tensor *ts[2] = {a->in[0], a->in[1]};
  size_t es = dnn_dtype_size((dnn_dtype)a->out->dtype);
  walk_ctx w = {.dst = elem_ptr(a->out), .dst_stride = (a->out->ndim ? a->out->strides[0] : 1) * (int64_t)es, .es = es};
  cpu_iter it;
  cpu_iter_init(&it, 2, ts);
  cpu_iter_run(&it, select_walk, &w, SERIAL);
  return DNN_OK;
}

static void scatter_walk(void *ctx, int64_t n, char **p, const int64_t *st) {
  walk_ctx *w = ctx;
  for (int64_t i = 0; i < n; i++)
    if (*(const uint8_t *)(p[1] + i * st[1])) {
      copy_elem(p[0] + i * st[0], w->src, w->es);
      w->src += w->es;
    }
}

dnn_status cpu_masked_scatter(const dnn_op_args *a) {
  const dnn_tensor *ts[2] = {a->out, a->in[0]};
  walk_ctx w = {.src = elem_ptr(a->in[1]), .es = dnn_dtype_size((dnn_dtype)a->out->dtype)};
  cpu_iter it;
  cpu_iter_init(&it, 2, ts);
  cpu_iter_run(&it, scatter_walk, &w, SERIAL);
  return DNN_OK;
}

/* ---- one_hot: out (N, C) int64 zeros, labels (N) int64 contiguous ---- */

typedef struct {
  int64_t *out;
  const int64_t *lab;
  int64_t C;
} one_hot_ctx;

static void one_hot_rows(void *ctx, int64_t b, int64_t e) {
  const one_hot_ctx *c = ctx;
  for (int64_t i = b; i < e; i++) c->out[i * c->C + c->lab[i]] = 1;
}

dnn_status cpu_one_hot(const dnn_op_args *a) {
  one_hot_ctx c = {.out = dnn_data_ptr(a->out), .lab = dnn_data_ptr(a->in[0]), .C = a->k};
  cpu_parallel_for(dnn_numel(a->in[0]), 1, one_hot_rows, &c);
  return DNN_OK;
}
