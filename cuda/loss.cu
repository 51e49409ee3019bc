/* The fused crossentropies (categorical, sparse, binary), forward and
 * backward, ported row for row from cpu/loss_xent_tmpl.h: one thread per row
 * (a sample's C class values at stride inner).  Operands are contiguous
 * (core/ops_loss.c):
 *   forward:  in[0] y_pred, in[1] y_true (y_pred's dtype) or labels;
 *             out loss (rows), out2 aux (rows) or NULL
 *   backward: in[0] grad (rows), in[1] y_pred, in[2] y_true or labels,
 *             in[3] aux or NULL; out d_pred or NULL, out2 d_true or NULL
 * dim = class axis, flag = from_logits, s0 = label_smoothing, has_s1/k =
 * ignore_class.
 * A sparse forward checks its labels on the device; when one is bad the
 * labels are copied back and checked as the CPU does, so the error names the
 * first bad label and its position exactly as there. */
#include <math.h>

#include "elementwise.cuh"

extern "C" dnn_status cpu_loss_check_labels(const char *op, const dnn_tensor *labels, int64_t C, bool has_ignore,
                                            int64_t ignore); /* cpu/loss_xent.c */

namespace {

struct xgeom {
  int64_t outer, C, inner;
};

xgeom geom_of(const dnn_tensor *t, int axis) {
  xgeom g = {1, t->shape[axis], 1};
  for (int d = 0; d < axis; d++) g.outer *= t->shape[d];
  for (int d = axis + 1; d < t->ndim; d++) g.inner *= t->shape[d];
  return g;
}

__device__ __forceinline__ float x_exp(float x) { return expf(x); }
__device__ __forceinline__ double x_exp(double x) { return exp(x); }
__device__ __forceinline__ float x_log(float x) { return logf(x); }
__device__ __forceinline__ double x_log(double x) { return log(x); }
__device__ __forceinline__ float x_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double x_log1p(double x) { return log1p(x); }

template <typename T> __device__ __forceinline__ T clipv(T v, T lo, T hi) { return v < lo ? lo : v > hi ? hi : v; }

__device__ __forceinline__ double label_at(const void *p, dnn_dtype dt, int64_t i) {
  switch (dt) {
    case DNN_FLOAT32: return ((const float *)p)[i];
    case DNN_FLOAT64: return ((const double *)p)[i];
    case DNN_INT32: return ((const int32_t *)p)[i];
    case DNN_INT64: return (double)((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
  }
}

struct labels_ref {
  const void *p;
  dnn_dtype dt;
  bool has_ignore;
  int64_t ignore;
};

/* 0..C-1, or -1 for an ignored or invalid label; *bad set when invalid. */
__device__ __forceinline__ int64_t class_at(const labels_ref &l, int64_t i, int64_t C, bool *bad) {
  double v = label_at(l.p, l.dt, i);
  if (l.has_ignore && v == (double)l.ignore) return -1;
  if (!(v >= 0 && v < (double)C) || v != floor(v)) {
    *bad = true;
    return -1;
  }
  return (int64_t)v;
}

template <typename T>
__device__ T row_lse(const T *x, int64_t st, int64_t C) {
  T m = -INFINITY;
  for (int64_t c = 0; c < C; c++) m = x[c * st] > m ? x[c * st] : m;
  T s = 0;
  for (int64_t c = 0; c < C; c++) s += x_exp(x[c * st] - m);
  return m + x_log(s);
}

template <typename T>
struct xparams {
  int op;
  bool logits;
  T sa, sb, lo, hi; /* t' = t * sa + sb; clip bounds */
  int64_t C, inner, rows;
};

template <typename T>
__global__ void xent_fwd(xparams<T> k, const T *x, const T *t, labels_ref lab, T *loss, T *aux, int *err) {
  CU_GRID_STRIDE(r, k.rows) {
    int64_t C = k.C, st = k.inner, base = (r / k.inner) * C * k.inner + r % k.inner;
    const T *xr = x + base;
    T l = 0, ax = 0;
    if (k.op == DNN_OP_CATEGORICAL_CROSSENTROPY) {
      const T *tr = t + base;
      if (k.logits) {
        T lse = row_lse(xr, st, C);
        for (int64_t c = 0; c < C; c++) l += (tr[c * st] * k.sa + k.sb) * (lse - xr[c * st]);
        ax = lse;
      } else {
        T s = 0;
        for (int64_t c = 0; c < C; c++) s += xr[c * st];
        for (int64_t c = 0; c < C; c++)
          l -= (tr[c * st] * k.sa + k.sb) * x_log(clipv(xr[c * st] / s, k.lo, k.hi));
        ax = s;
      }
    } else if (k.op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY) {
      bool bad = false;
      int64_t y = class_at(lab, r, C, &bad);
      if (bad) *err = 3;
      if (k.logits) {
        T lse = row_lse(xr, st, C);
        ax = lse;
        l = y >= 0 ? lse - xr[y * st] : 0;
      } else {
        T s = 0;
        for (int64_t c = 0; c < C; c++) s += clipv(xr[c * st], k.lo, k.hi);
        ax = s;
        l = y >= 0 ? x_log(s) - x_log(clipv(xr[y * st], k.lo, k.hi)) : 0;
      }
    } else {
      const T *zr = t + base;
      for (int64_t c = 0; c < C; c++) {
        T v = xr[c * st], zz = zr[c * st] * k.sa + k.sb;
        if (k.logits) {
          l += (v > 0 ? v : 0) - v * zz + x_log1p(x_exp(-(v < 0 ? -v : v)));
        } else {
          T p = clipv(v, k.lo, k.hi);
          l -= zz * x_log(p + k.lo) + (1 - zz) * x_log(1 - p + k.lo);
        }
      }
      l = l / (T)C;
    }
    loss[r] = l;
    if (aux) aux[r] = ax;
  }
}

template <typename T>
__global__ void xent_bwd(xparams<T> k, const T *grad, const T *x, const T *t, labels_ref lab, const T *aux, T *dx,
                         T *dt) {
  CU_GRID_STRIDE(r, k.rows) {
    int64_t C = k.C, st = k.inner, base = (r / k.inner) * C * k.inner + r % k.inner;
    const T *xr = x + base;
    T g = grad[r];
    T *dxr = dx ? dx + base : NULL, *dtr = dt ? dt + base : NULL;
    if (k.op == DNN_OP_CATEGORICAL_CROSSENTROPY_BACKWARD) {
      const T *tr = t + base;
      if (k.logits) {
        T lse = aux[r], tsum = 0;
        for (int64_t c = 0; c < C; c++) tsum += tr[c * st] * k.sa + k.sb;
        if (dxr)
          for (int64_t c = 0; c < C; c++)
            dxr[c * st] = g * (x_exp(xr[c * st] - lse) * tsum - (tr[c * st] * k.sa + k.sb));
        if (dtr)
          for (int64_t c = 0; c < C; c++) dtr[c * st] = g * k.sa * (lse - xr[c * st]);
      } else {
        T s = aux[r], dot = 0;
        for (int64_t c = 0; c < C; c++) {
          T q = xr[c * st] / s;
          if (q >= k.lo && q <= k.hi) dot -= tr[c * st] * k.sa + k.sb;
        }
        for (int64_t c = 0; c < C; c++) {
          T q = xr[c * st] / s, cq = clipv(q, k.lo, k.hi);
          T gq = (q >= k.lo && q <= k.hi) ? -(tr[c * st] * k.sa + k.sb) / cq : 0;
          if (dxr) dxr[c * st] = g * (gq - dot) / s;
          if (dtr) dtr[c * st] = -g * k.sa * x_log(cq);
        }
      }
    } else if (k.op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD) {
      bool bad = false;
      int64_t y = class_at(lab, r, C, &bad);
      if (!dxr) continue;
      if (y < 0) {
        for (int64_t c = 0; c < C; c++) dxr[c * st] = 0;
        continue;
      }
      if (k.logits) {
        T lse = aux[r];
        for (int64_t c = 0; c < C; c++) dxr[c * st] = g * x_exp(xr[c * st] - lse);
        dxr[y * st] -= g;
      } else {
        T inv_s = 1 / aux[r];
        for (int64_t c = 0; c < C; c++) {
          T p = xr[c * st];
          dxr[c * st] = (p >= k.lo && p <= k.hi) ? g * inv_s : 0;
        }
        T py = xr[y * st];
        if (py >= k.lo && py <= k.hi) dxr[y * st] -= g / py;
      }
    } else {
      const T *zr = t + base;
      T gc = g / (T)C;
      for (int64_t c = 0; c < C; c++) {
        T v = xr[c * st], zz = zr[c * st] * k.sa + k.sb;
        if (k.logits) {
          T e = x_exp(-(v < 0 ? -v : v));
          T sig = v >= 0 ? 1 / (1 + e) : e / (1 + e);
          if (dxr) dxr[c * st] = gc * (sig - zz);
          if (dtr) dtr[c * st] = -gc * k.sa * v;
        } else {
          T p = clipv(v, k.lo, k.hi);
          bool inside = v >= k.lo && v <= k.hi;
          if (dxr) dxr[c * st] = inside ? gc * ((1 - zz) / (1 - p + k.lo) - zz / (p + k.lo)) : 0;
          if (dtr) dtr[c * st] = gc * k.sa * (x_log(1 - p + k.lo) - x_log(p + k.lo));
        }
      }
    }
  }
}

const void *ptr_or_null(const dnn_tensor *t) { return t ? dnn_data_ptr(t) : NULL; }

/* The labels back on the host, checked as the CPU checks them (error path). */
dnn_status report_bad_labels(const char *name, const dnn_tensor *labels, int64_t C, const dnn_op_args *a) {
  dnn_tensor *host = dnn_empty(labels->ndim, labels->shape, (dnn_dtype)labels->dtype, DNN_CPU);
  if (!host) return dnn_error_code();
  size_t n = (size_t)dnn_numel(labels) * dnn_dtype_size((dnn_dtype)labels->dtype);
  dnn_status st = dnn_cuda_memcpy_d2h(dnn_data_ptr(host), dnn_data_ptr(labels), n, dnn_tensor_device(labels));
  if (st == DNN_OK) st = cpu_loss_check_labels(name, host, C, a->has_s1, a->k);
  if (st == DNN_OK) st = dnn_error(DNN_ERR_INDEX, "%s: a label is not a class id in [0, %lld]", name, (long long)C - 1);
  dnn_tensor_release(host);
  return st;
}

template <typename T>
dnn_status run(const char *name, cuda_ctx *c, const dnn_op_args *a, bool backward) {
  const dnn_tensor *pred = backward ? a->in[1] : a->in[0];
  xgeom g = geom_of(pred, a->dim);
  bool binary = a->op == DNN_OP_BINARY_CROSSENTROPY || a->op == DNN_OP_BINARY_CROSSENTROPY_BACKWARD;
  bool sparse = a->op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY ||
                a->op == DNN_OP_SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD;
  xparams<T> k;
  k.op = a->op;
  k.logits = a->flag;
  T ls = (T)a->s0;
  k.sa = 1 - ls;
  k.sb = binary ? ls / 2 : ls / (T)g.C;
  k.lo = (T)DNN_LOSS_EPSILON;
  k.hi = 1 - k.lo;
  k.C = g.C;
  k.inner = g.inner;
  k.rows = g.outer * g.inner;
  if (k.rows == 0) return DNN_OK;
  const dnn_tensor *tt = backward ? a->in[2] : a->in[1];
  labels_ref lab = {sparse ? dnn_data_ptr(tt) : NULL, (dnn_dtype)tt->dtype, a->has_s1, a->k};
  unsigned grid = cuda_grid(k.rows, 128, c);
  if (!backward) {
    xent_fwd<T><<<grid, 128, 0, c->stream>>>(k, (const T *)dnn_data_ptr(pred),
                                             sparse ? NULL : (const T *)dnn_data_ptr(tt), lab,
                                             (T *)dnn_data_ptr(a->out), (T *)ptr_or_null(a->out2), c->err_flag);
    CU_CHECK_LAUNCH(name);
    if (sparse) {
      int flag = 0;
      DNN_RETURN_IF_ERR(cuda_read_err_flag(name, c, &flag));
      if (flag) return report_bad_labels(name, tt, g.C, a);
    }
    return DNN_OK;
  }
  xent_bwd<T><<<grid, 128, 0, c->stream>>>(k, (const T *)dnn_data_ptr(a->in[0]), (const T *)dnn_data_ptr(pred),
                                           sparse ? NULL : (const T *)dnn_data_ptr(tt), lab,
                                           (const T *)ptr_or_null(a->in[3]), (T *)ptr_or_null(a->out),
                                           (T *)ptr_or_null(a->out2));
  CU_CHECK_LAUNCH(name);
  return DNN_OK;
}

dnn_status xent(const dnn_op_args *a, bool backward) {
  const char *name = dnn_xent_name(a->op);
  const dnn_tensor *pred = backward ? a->in[1] : a->in[0];
  cuda_ctx *c = cuda_ctx_of(name, pred);
  if (!c) return dnn_error_code();
  const dnn_tensor *ts[6] = {a->in[0], a->in[1], a->in[2], a->in[3], a->out, a->out2};
  DNN_RETURN_IF_ERR(cu_check_operands(name, c, 6, ts));
  switch ((dnn_dtype)pred->dtype) {
    case DNN_FLOAT32: return run<float>(name, c, a, backward);
    case DNN_FLOAT64: return run<double>(name, c, a, backward);
    default:
      return dnn_error(DNN_ERR_DTYPE, "%s: y_pred must be float32 or float64, got %s", name,
                       dnn_dtype_name((dnn_dtype)pred->dtype));
  }
}

}  // namespace

dnn_status cu_xent_forward(const dnn_op_args *a) { return xent(a, false); }
dnn_status cu_xent_backward(const dnn_op_args *a) { return xent(a, true); }
