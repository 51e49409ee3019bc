/* Reductions over the middle dim of a contiguous (outer, R, inner) view.
 * Floats accumulate in double, integers in int64 (sum/prod wrap like C
 * unsigned arithmetic, never UB).  Indices are 0-based int64. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend_cpu.h"
#include "iter.h"

/* A partial result over a run of values, combinable across threads. */
typedef struct {
  double sum, prod, best;
  double dev; /* VAR: sum of deviations from the center */
  int64_t isum, iprod, ibest;
  int64_t arg; /* index of best, first occurrence */
  int64_t count;
  bool nan;
  bool all, any;
} partial;

static void partial_init(partial *p) {
  p->sum = 0, p->prod = 1, p->best = NAN, p->dev = 0;
  p->isum = 0, p->iprod = 1, p->ibest = 0;
  p->arg = -1, p->count = 0, p->nan = false;
  p->all = true, p->any = false;
}

static inline bool better(dnn_op op, double v, double best) {
  return (op == DNN_OP_MAX || op == DNN_OP_ARGMAX) ? v > best : v < best;
}

/* Reads element i of a run starting at base with element stride st. */
#define LOAD(T, base, i, st) (((const T *)(base))[(i) * (st)])

#define DEF_PARTIAL(T, S, IS_FLOAT)                                                          \
  static void partial_##S(dnn_op op, const void *base, int64_t n, int64_t st, int64_t first, \
                          double center, partial *p) {                                       \
    switch (op) {                                                                            \
      case DNN_OP_SUM:                                                                       \
      case DNN_OP_MEAN:                                                                      \
        if (IS_FLOAT) {                                                                      \
          double acc = 0;                                                                    \
          if (st == 1) { /* float lanes per block of 1024, blocks summed in double */        \
            const T *x = base;                                                               \
            for (int64_t b0 = 0; b0 < n; b0 += 1024) {                                       \
              int64_t b1 = b0 + 1024 < n ? b0 + 1024 : n;                                    \
              T bacc = 0;                                                                    \
              _Pragma("omp simd reduction(+ : bacc)") for (int64_t i = b0; i < b1; i++) bacc += x[i]; \
              acc += (double)bacc;                                                           \
            }                                                                                \
          } else {                                                                           \
            for (int64_t i = 0; i < n; i++) acc += LOAD(T, base, i, st);                     \
          }                                                                                  \
          p->sum += acc;                                                                     \
        } else {                                                                             \
          uint64_t acc = 0;                                                                  \
          for (int64_t i = 0; i < n; i++) acc += (uint64_t)(int64_t)LOAD(T, base, i, st);    \
          p->isum = (int64_t)((uint64_t)p->isum + acc);                                      \
          p->sum += (double)(int64_t)acc;                                                    \
        }                                                                                    \
        break;                                                                               \
      case DNN_OP_PROD:                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                    \
          T v = LOAD(T, base, i, st);                                                        \
          p->prod *= (double)v;                                                              \
          p->iprod = (int64_t)((uint64_t)p->iprod * (uint64_t)(int64_t)v);                   \
        }                                                                                    \
        break;                                                                               \
      case DNN_OP_VAR: { /* sum of squared deviations from center */                        \
        double acc = 0, acc1 = 0;                                                            \
        for (int64_t i = 0; i < n; i++) {                                                    \
          double d = (double)LOAD(T, base, i, st) - center;                                  \
          acc += d * d;                                                                      \
          acc1 += d;                                                                         \
        }                                                                                    \
        p->sum += acc;                                                                       \
        p->dev += acc1;                                                                      \
        break;                                                                               \
      }                                                                                      \
      case DNN_OP_LOGSUMEXP: {                                                               \
        double acc = 0;                                                                      \
        for (int64_t i = 0; i < n; i++) acc += exp((double)LOAD(T, base, i, st) - center);   \
        p->sum += acc;                                                                       \
        break;                                                                               \
      }                                                                                      \
      case DNN_OP_ALL:                                                                       \
        for (int64_t i = 0; i < n && p->all; i++)                                            \
          if (!(LOAD(T, base, i, st) != 0)) p->all = false;                                  \
        break;                                                                               \
      case DNN_OP_ANY:                                                                       \
        for (int64_t i = 0; i < n && !p->any; i++)                                           \
          if (LOAD(T, base, i, st) != 0) p->any = true;                                      \
        break;                                                                               \
      default: /* MAX MIN ARGMAX ARGMIN: NaN wins and stops the search */                  \
        for (int64_t i = 0; i < n && !p->nan; i++) {                                         \
          T v = LOAD(T, base, i, st);                                                        \
          if (v != v) {                                                                      \
            p->nan = true;                                                                   \
            p->best = (double)v;                                                             \
            p->arg = first + i;                                                              \
          } else if (p->arg < 0 || better(op, (double)v, p->best)) {                         \
            p->best = (double)v;                                                             \
            p->ibest = (int64_t)v;                                                           \
            p->arg = first + i;                                                              \
          }                                                                                  \
        }                                                                                    \
        break;                                                                               \
    }                                                                                        \
    p->count += n;                                                                           \
  }

DEF_PARTIAL(float, f32, 1)
DEF_PARTIAL(double, f64, 1)
DEF_PARTIAL(int32_t, i32, 0)
DEF_PARTIAL(int64_t, i64, 0)
DEF_PARTIAL(uint8_t, u8, 0)

typedef void (*partial_fn)(dnn_op, const void *, int64_t, int64_t, int64_t, double, partial *);
static const partial_fn partial_fns[DNN_DTYPE_COUNT] = {partial_f32, partial_f64, partial_i32,
                                                        partial_i64, partial_u8,  partial_u8};

/* Later partial q (covering later indices) into p. */
static void partial_combine(dnn_op op, partial *p, const partial *q) {
  p->sum += q->sum;
  p->isum = (int64_t)((uint64_t)p->isum + (uint64_t)q->isum);
  p->dev += q->dev;
  p->prod *= q->prod;
  p->iprod = (int64_t)((uint64_t)p->iprod * (uint64_t)q->iprod);
  p->all = p->all && q->all;
  p->any = p->any || q->any;
  if (q->arg >= 0 && !p->nan && (p->arg < 0 || q->nan || better(op, q->best, p->best))) {
    p->best = q->best, p->ibest = q->ibest, p->arg = q->arg, p->nan = q->nan;
  }
  p->count += q->count;
}

typedef struct {
  const dnn_op_args *a;
  dnn_op op; /* pass op (VAR and LOGSUMEXP run a first pass as MEAN / MAX) */
  partial_fn fn;
  const char *x;
  size_t es;
  int64_t outer, R, inner;
  const double *centers; /* per output, second passes */
  partial *results;      /* per output */
} red_ctx;

/* Outputs [b, e): each output index = o*inner + j, reduced along R. */
static void reduce_outputs(void *vctx, int64_t b, int64_t e) {
  red_ctx *c = vctx;
  for (int64_t k = b; k < e; k++) {
    int64_t o = k / c->inner, j = k % c->inner;
    const char *base = c->x + (o * c->R * c->inner + j) * (int64_t)c->es;
    partial p;
    partial_init(&p);
    c->fn(c->op, base, c->R, c->inner, 0, c->centers ? c->centers[k] : 0, &p);
    c->results[k] = p;
  }
}

/* One output with a long row: threads take chunks of R and combine in order. */
static void reduce_one_parallel(red_ctx *c) {
  int nt = dnn_get_num_threads();
  partial parts[64];
  if (nt > 64) nt = 64;
  int used = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  {
    int tid = omp_get_thread_num(), n = omp_get_num_threads();
#pragma omp single
    used = n;
    int64_t chunk = (c->R + n - 1) / n;
    int64_t b = tid * chunk, e = b + chunk < c->R ? b + chunk : c->R;
    partial_init(&parts[tid]);
    if (b < e)
      c->fn(c->op, c->x + b * (int64_t)c->es, e - b, 1, b, c->centers ? c->centers[0] : 0, &parts[tid]);
  }
#else
  partial_init(&parts[0]);
  c->fn(c->op, c->x, c->R, 1, 0, c->centers ? c->centers[0] : 0, &parts[0]);
#endif
  for (int t = 1; t < used; t++) partial_combine(c->op, &parts[0], &parts[t]);
  c->results[0] = parts[0];
}

static void run_pass(red_ctx *c) {
  int64_t nout = c->outer * c->inner;
  if (nout == 1 && c->R >= DNN_PARALLEL_GRAIN && dnn_get_num_threads() > 1)
    reduce_one_parallel(c);
  else
    cpu_parallel_for(nout, c->R, reduce_outputs, c);
}

#define STORE(T, out, k, v) (((T *)(out))[k] = (T)(v))

static void store_value(dnn_dtype dt, void *out, int64_t k, double v, int64_t iv, bool use_int) {
  switch (dt) {
    case DNN_FLOAT32: STORE(float, out, k, v); break;
    case DNN_FLOAT64: STORE(double, out, k, v); break;
    case DNN_INT32: STORE(int32_t, out, k, use_int ? iv : (int64_t)v); break;
    case DNN_INT64: STORE(int64_t, out, k, use_int ? iv : (int64_t)v); break;
    case DNN_UINT8: STORE(uint8_t, out, k, use_int ? iv : (int64_t)v); break;
    case DNN_BOOL: STORE(uint8_t, out, k, v != 0); break;
    default: break;
  }
}

/* in[0]: contiguous 3-d (outer, R, inner); out: outer*inner values (dtype chosen by
 * the front end); out2: int64 indices for MAX/MIN when wanted. k: VAR correction. */
dnn_status cpu_reduce(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0];
  dnn_dtype dt = (dnn_dtype)x->dtype;
  red_ctx c = {a, a->op, partial_fns[dt], dnn_data_ptr(x), dnn_dtype_size(dt),
               x->shape[0], x->shape[1], x->shape[2], NULL, NULL};
  int64_t nout = c.outer * c.inner;
  c.results = malloc((size_t)(nout ? nout : 1) * sizeof(partial));
  double *centers = NULL;
  if (!c.results) return dnn_error(DNN_ERR_MEMORY, "%s: out of memory", dnn_op_name(a->op));
  bool is_float = dnn_dtype_is_float(dt);
  if (a->op == DNN_OP_VAR || a->op == DNN_OP_LOGSUMEXP) {
    centers = malloc((size_t)(nout ? nout : 1) * sizeof(double));
    if (!centers) {
      free(c.results);
      return dnn_error(DNN_ERR_MEMORY, "%s: out of memory", dnn_op_name(a->op));
    }
    c.op = a->op == DNN_OP_VAR ? DNN_OP_MEAN : DNN_OP_MAX;
    run_pass(&c);
    for (int64_t k = 0; k < nout; k++) {
      partial *p = &c.results[k];
      if (a->op == DNN_OP_VAR)
        centers[k] = c.R ? (is_float ? p->sum : (double)p->isum) / (double)c.R : 0;
      else
        centers[k] = (p->arg < 0 || isinf(p->best)) ? 0 : p->best; /* +-inf rows: exp stays exact */
    }
    c.op = a->op;
    c.centers = centers;
    run_pass(&c);
  } else {
    run_pass(&c);
  }
  void *out = dnn_data_ptr(a->out);
  dnn_dtype odt = (dnn_dtype)a->out->dtype;
  int64_t *idx = a->out2 ? dnn_data_ptr(a->out2) : NULL;
  for (int64_t k = 0; k < nout; k++) {
    partial *p = &c.results[k];
    switch (a->op) {
      case DNN_OP_SUM: store_value(odt, out, k, p->sum, p->isum, !is_float); break;
      case DNN_OP_MEAN: store_value(odt, out, k, (is_float ? p->sum : (double)p->isum) / (double)c.R, 0, false); break;
      case DNN_OP_PROD: store_value(odt, out, k, p->prod, p->iprod, !is_float); break;
      case DNN_OP_VAR: {
        double n = (double)c.R - (double)a->k;
        /* corrected two-pass formula: (sum d^2 - (sum d)^2 / R) / (R - correction) */
        double ss = p->sum - (c.R ? p->dev * p->dev / (double)c.R : 0);
        store_value(odt, out, k, n > 0 ? ss / n : NAN, 0, false);
        break;
      }
      case DNN_OP_LOGSUMEXP: {
        double m = centers[k];
        store_value(odt, out, k, c.R ? m + log(p->sum) : -INFINITY, 0, false);
        break;
      }
      case DNN_OP_ALL: store_value(odt, out, k, p->all, 0, false); break;
      case DNN_OP_ANY: store_value(odt, out, k, p->any, 0, false); break;
      case DNN_OP_ARGMAX:
      case DNN_OP_ARGMIN: store_value(odt, out, k, 0, p->arg, true); break;
      default: /* MAX MIN */
        store_value(odt, out, k, p->best, p->ibest, !is_float);
        if (idx) idx[k] = p->arg;
        break;
    }
  }
  free(c.results);
  free(centers);
  return DNN_OK;
}

/* CUMSUM / CUMPROD along the middle dim of (outer, R, inner); out has x's shape.
 * Floats accumulate in double, integers in int64. */
dnn_status cpu_cumulative(const dnn_op_args *a) {
  const dnn_tensor *x = a->in[0];
  dnn_dtype dt = (dnn_dtype)x->dtype, odt = (dnn_dtype)a->out->dtype;
  int64_t outer = x->shape[0], R = x->shape[1], inner = x->shape[2];
  bool prod = a->op == DNN_OP_CUMPROD;
  const char *xp = dnn_data_ptr(x);
  char *op = dnn_data_ptr(a->out);
  size_t es = dnn_dtype_size(dt);
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t j = 0; j < inner; j++) {
      double acc = prod ? 1 : 0;
      uint64_t iacc = prod ? 1 : 0;
      for (int64_t r = 0; r < R; r++) {
        int64_t k = (o * R + r) * inner + j;
        double v;
        int64_t iv;
        switch (dt) {
          case DNN_FLOAT32: v = ((const float *)xp)[k]; iv = 0; break;
          case DNN_FLOAT64: v = ((const double *)xp)[k]; iv = 0; break;
          case DNN_INT32: iv = ((const int32_t *)xp)[k]; v = (double)iv; break;
          case DNN_INT64: iv = ((const int64_t *)xp)[k]; v = (double)iv; break;
          default: iv = ((const uint8_t *)xp)[k]; v = (double)iv; break;
        }
        (void)es;
        if (prod) {
          acc *= v;
          iacc *= (uint64_t)iv;
        } else {
          acc += v;
          iacc += (uint64_t)iv;
        }
        store_value(odt, op, k, acc, (int64_t)iacc, !dnn_dtype_is_float(dt));
      }
    }
  }
  return DNN_OK;
}
