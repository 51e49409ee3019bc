/* Front ends of elementwise ops: broadcasting, dtype rules, output allocation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int dnn_broadcast_shape(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                        int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - na), ib = i - (n - nb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char b0[200], b1[200];
      dnn_error(DNN_ERR_SHAPE, "%s: shapes %s and %s cannot be broadcast (dim %d: %lld vs %lld)", op,
                dnn_shape_str(na, a, b0), dnn_shape_str(nb, b, b1), i + 1, (long long)da, (long long)db);
      return -1;
    }
    out[i] = da == 1 ? db : da;
  }
  return n;
}

static bool is_arith(dnn_op op) { return op >= DNN_OP_ADD && op <= DNN_OP_ATAN2; }
static bool is_compare(dnn_op op) { return op >= DNN_OP_EQ && op <= DNN_OP_GE; }
static bool is_logical(dnn_op op) { return op >= DNN_OP_LOGICAL_AND && op <= DNN_OP_LOGICAL_XOR; }

typedef enum { CAT_BOOL, CAT_INT, CAT_FLOAT } dtype_cat;
static dtype_cat category(dnn_dtype dt) {
  return dt == DNN_BOOL ? CAT_BOOL : dnn_dtype_is_float(dt) ? CAT_FLOAT : CAT_INT;
}

/* PyTorch-like promotion where 0-d tensors only count when they raise the category. */
static dnn_dtype result_dtype(const dnn_tensor *a, const dnn_tensor *b) {
  bool za = a->ndim == 0, zb = b->ndim == 0;
  dnn_dtype da = (dnn_dtype)a->dtype, db = (dnn_dtype)b->dtype;
  if (za == zb) return dnn_dtype_promote(da, db);
  const dnn_tensor *dim = za ? b : a, *zero = za ? a : b;
  dnn_dtype dd = (dnn_dtype)dim->dtype, dz = (dnn_dtype)zero->dtype;
  return category(dz) > category(dd) ? dz : dd;
}

/* The dtype the kernel computes in, and the output dtype, for op. */
static dnn_status op_dtypes(dnn_op op, dnn_dtype promoted, dnn_dtype *compute, dnn_dtype *out) {
  dnn_dtype c = promoted;
  if (is_logical(op)) {
    c = DNN_BOOL;
  } else if (is_arith(op)) {
    if ((op == DNN_OP_DIV || op == DNN_OP_ATAN2) && !dnn_dtype_is_float(c)) c = DNN_FLOAT32;
    else if (c == DNN_BOOL && op != DNN_OP_MAXIMUM && op != DNN_OP_MINIMUM) c = DNN_INT64;
  }
  *compute = c;
  *out = (is_compare(op) || is_logical(op)) ? DNN_BOOL : c;
  return DNN_OK;
}

/* Casts t to dt when needed; *owned is set when a new tensor was made. */
static const dnn_tensor *as_dtype(const dnn_tensor *t, dnn_dtype dt, dnn_tensor **owned) {
  *owned = NULL;
  if ((dnn_dtype)t->dtype == dt) return t;
  *owned = dnn_to_dtype((dnn_tensor *)t, dt);
  return *owned;
}

static dnn_tensor *binary_into(dnn_op op, const dnn_tensor *a, const dnn_tensor *b, dnn_dtype promoted) {
  const dnn_tensor *pair[2] = {a, b};
  if (dnn_check_same_device(dnn_op_name(op), 2, pair) != DNN_OK) return NULL;
  int64_t shape[DNN_MAX_DIMS];
  int nd = dnn_broadcast_shape(dnn_op_name(op), a->ndim, a->shape, b->ndim, b->shape, shape);
  if (nd < 0) return NULL;
  dnn_dtype cdt, odt;
  op_dtypes(op, promoted, &cdt, &odt);
  dnn_tensor *ca = NULL, *cb = NULL, *out = NULL;
  const dnn_tensor *xa = as_dtype(a, cdt, &ca), *xb = xa ? as_dtype(b, cdt, &cb) : NULL;
  if (xa && xb) out = dnn_empty(nd, shape, odt, dnn_tensor_device(a));
  if (out) {
    dnn_tensor va, vb;
    dnn_expand_header(&va, xa, nd, shape);
    dnn_expand_header(&vb, xb, nd, shape);
    dnn_op_args args = {.op = op, .out = out, .in = {&va, &vb}, .n_in = 2};
    if (dnn_dispatch(dnn_tensor_device(a), &args) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(ca);
  dnn_tensor_release(cb);
  return out;
}

static bool same_shape(const dnn_tensor *a, const dnn_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

dnn_tensor *dnn_binary(dnn_op op, const dnn_tensor *a, const dnn_tensor *b) {
  /* the common case -- same shape, dtype and device, contiguous -- skips
   * broadcasting and casts: it is most of the cost of an op on tiny tensors */
  if (a->dtype == b->dtype && a->storage->device.type == DNN_DEVICE_CPU &&
      b->storage->device.type == DNN_DEVICE_CPU && same_shape(a, b) && dnn_is_contiguous(a) &&
      dnn_is_contiguous(b)) {
    dnn_dtype cdt, odt;
    op_dtypes(op, (dnn_dtype)a->dtype, &cdt, &odt);
    if (cdt == (dnn_dtype)a->dtype) {
      dnn_tensor *out = dnn_empty(a->ndim, a->shape, odt, DNN_CPU);
      DNN_CHECK_NULL(out);
      dnn_op_args args = {.op = op, .out = out, .in = {a, b}, .n_in = 2};
      if (dnn_dispatch(DNN_CPU, &args) != DNN_OK) {
        dnn_tensor_release(out);
        return NULL;
      }
      return out;
    }
  }
  return binary_into(op, a, b, result_dtype(a, b));
}

/* A 0-d CPU tensor whose storage lives on the caller's stack. */
typedef struct {
  dnn_storage storage;
  dnn_tensor tensor;
  union {
    double f64;
    float f32;
    int64_t i64;
    int32_t i32;
    uint16_t h16;
    uint8_t u8;
  } value;
} stack_scalar;

static void stack_scalar_init(stack_scalar *s, double v, int64_t iv, bool is_int, dnn_dtype dt) {
  memset(s, 0, sizeof *s);
  switch (dt) {
    case DNN_FLOAT32: s->value.f32 = (float)v; break;
    case DNN_FLOAT64: s->value.f64 = v; break;
    case DNN_INT32: s->value.i32 = (int32_t)(is_int ? iv : (int64_t)v); break;
    case DNN_INT64: s->value.i64 = is_int ? iv : (int64_t)v; break;
    case DNN_UINT8: s->value.u8 = (uint8_t)(is_int ? iv : (int64_t)v); break;
    case DNN_FLOAT16: s->value.h16 = dnn_f32_to_f16((float)v); break;
    case DNN_BFLOAT16: s->value.h16 = dnn_f32_to_bf16((float)v); break;
    default: s->value.u8 = v != 0; break;
  }
  s->storage.refcount = 1;
  s->storage.device = DNN_CPU;
  s->storage.nbytes = sizeof s->value;
  s->storage.data = &s->value;
  s->tensor.refcount = 1;
  s->tensor.dtype = (int8_t)dt;
  s->tensor.storage = &s->storage;
}

/* Lua numbers are "weak": they keep the tensor's dtype unless they raise its
 * category (int tensor * 0.5 is float32, bool tensor + 1 is int64). */
static dnn_dtype weak_scalar_dtype(dnn_dtype t, bool is_int) {
  dtype_cat c = category(t), sc = is_int ? CAT_INT : CAT_FLOAT;
  if (sc <= c) return t;
  return is_int ? DNN_INT64 : DNN_FLOAT32;
}

static bool exact_int(double s, int64_t *iv) {
  if (!(s >= -9.2233720368547758e18 && s < 9.2233720368547758e18)) return false;
  *iv = (int64_t)s;
  return (double)*iv == s;
}

/* A Lua number meets a half tensor in float32 (PyTorch's opmath), not rounded
 * to the half type first: the op runs on a float32 copy, the result is rounded. */
static dnn_tensor *binary_scalar_half(dnn_op op, const dnn_tensor *a, double s, bool scalar_is_int,
                                      bool scalar_first, dnn_dtype cdt) {
  dnn_tensor *w = dnn_to_dtype((dnn_tensor *)a, DNN_FLOAT32);
  DNN_CHECK_NULL(w);
  dnn_tensor *r = dnn_binary_scalar(op, w, s, scalar_is_int, scalar_first);
  dnn_tensor_release(w);
  if (!r || r->dtype != DNN_FLOAT32) return r; /* comparisons give bool */
  dnn_tensor *o = dnn_to_dtype(r, cdt);
  dnn_tensor_release(r);
  return o;
}

dnn_tensor *dnn_binary_scalar(dnn_op op, const dnn_tensor *a, double s, bool scalar_is_int,
                              bool scalar_first) {
  int64_t iv = 0;
  if (scalar_is_int && !exact_int(s, &iv)) scalar_is_int = false;
  dnn_dtype promoted = weak_scalar_dtype((dnn_dtype)a->dtype, scalar_is_int);
  dnn_dtype cdt, odt;
  op_dtypes(op, promoted, &cdt, &odt);
  if (dnn_dtype_is_half(cdt)) return binary_scalar_half(op, a, s, scalar_is_int, scalar_first, cdt);
  if (dnn_tensor_device(a).type != DNN_DEVICE_CPU) {
    /* the scalar as a 0-d tensor on a's device: one fill kernel, no copy */
    dnn_tensor *st = dnn_empty(0, NULL, cdt, dnn_tensor_device(a));
    DNN_CHECK_NULL(st);
    dnn_status fs = scalar_is_int && !dnn_dtype_is_float(cdt) ? dnn_fill_int_(st, iv) : dnn_fill_(st, s);
    dnn_tensor *out = NULL;
    if (fs == DNN_OK) out = scalar_first ? binary_into(op, st, a, promoted) : binary_into(op, a, st, promoted);
    dnn_tensor_release(st);
    return out;
  }
  stack_scalar sc;
  stack_scalar_init(&sc, s, iv, scalar_is_int, cdt);
  return scalar_first ? binary_into(op, &sc.tensor, a, promoted) : binary_into(op, a, &sc.tensor, promoted);
}

dnn_status dnn_binary_(dnn_op op, dnn_tensor *a, const dnn_tensor *b) {
  char b0[200], b1[200];
  const char *name = dnn_op_name(op);
  const dnn_tensor *pair[2] = {a, b};
  DNN_RETURN_IF_ERR(dnn_check_same_device(name, 2, pair));
  if (is_compare(op) || is_logical(op))
    return dnn_error(DNN_ERR_ARG, "%s_: in-place comparison is not supported", name);
  {
    char what[64];
    snprintf(what, sizeof what, "%s_", name);
    DNN_RETURN_IF_ERR(dnn_check_inplace(what, a));
  }
  int64_t shape[DNN_MAX_DIMS];
  int nd = dnn_broadcast_shape(name, a->ndim, a->shape, b->ndim, b->shape, shape);
  if (nd < 0) return dnn_error_code();
  if (nd != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * (size_t)nd) != 0)
    return dnn_error(DNN_ERR_SHAPE, "%s_: in-place result shape %s differs from the tensor's shape %s",
                     name, dnn_shape_str(nd, shape, b0), DNN_SHAPE_STR(a, b1));
  dnn_dtype cdt, odt;
  op_dtypes(op, result_dtype(a, b), &cdt, &odt);
  if (category(cdt) > category((dnn_dtype)a->dtype))
    return dnn_error(DNN_ERR_DTYPE, "%s_: result type %s cannot be stored in-place in a %s tensor", name,
                     dnn_dtype_name(cdt), dnn_dtype_name((dnn_dtype)a->dtype));
  cdt = (dnn_dtype)a->dtype;
  dnn_tensor *cb = NULL, *snap = NULL;
  const dnn_tensor *xb = as_dtype(b, cdt, &cb);
  if (!xb) return dnn_error_code();
  if (xb->storage == a->storage && xb != a) { /* aliasing views: read a snapshot */
    snap = dnn_clone(xb);
    if (!snap) {
      dnn_tensor_release(cb);
      return dnn_error_code();
    }
    xb = snap;
  }
  dnn_tensor vb;
  dnn_expand_header(&vb, xb, nd, shape);
  dnn_op_args args = {.op = op, .out = a, .in = {a, &vb}, .n_in = 2};
  dnn_status st = dnn_dispatch(dnn_tensor_device(a), &args);
  dnn_tensor_release(cb);
  dnn_tensor_release(snap);
  return st;
}

dnn_status dnn_binary_scalar_(dnn_op op, dnn_tensor *a, double s, bool scalar_is_int) {
  int64_t iv = 0;
  if (scalar_is_int && !exact_int(s, &iv)) scalar_is_int = false;
  stack_scalar sc;
  stack_scalar_init(&sc, s, iv, scalar_is_int, scalar_is_int ? DNN_INT64 : DNN_FLOAT64);
  if (!scalar_is_int && !dnn_dtype_is_float((dnn_dtype)a->dtype))
    return dnn_error(DNN_ERR_DTYPE, "%s_: result type float32 cannot be stored in-place in a %s tensor",
                     dnn_op_name(op), dnn_dtype_name((dnn_dtype)a->dtype));
  if (dnn_dtype_is_half((dnn_dtype)a->dtype)) { /* computed as binary_scalar_half, then stored */
    char what[64];
    snprintf(what, sizeof what, "%s_", dnn_op_name(op));
    if (is_compare(op) || is_logical(op))
      return dnn_error(DNN_ERR_ARG, "%s: in-place comparison is not supported", what);
    DNN_RETURN_IF_ERR(dnn_check_inplace(what, a));
    dnn_tensor *r = dnn_binary_scalar(op, a, s, scalar_is_int, false);
    if (!r) return dnn_error_code();
    dnn_status st = dnn_copy_(a, r);
    dnn_tensor_release(r);
    return st;
  }
  if (dnn_tensor_device(a).type != DNN_DEVICE_CPU) { /* a 0-d device tensor instead */
    dnn_tensor *st = dnn_empty(0, NULL, (dnn_dtype)sc.tensor.dtype, dnn_tensor_device(a));
    if (!st) return dnn_error_code();
    dnn_status r = scalar_is_int ? dnn_fill_int_(st, iv) : dnn_fill_(st, s);
    if (r == DNN_OK) r = dnn_binary_(op, a, st);
    dnn_tensor_release(st);
    return r;
  }
  /* the stack scalar is 0-d, so dnn_binary_ keeps a's dtype */
  return dnn_binary_(op, a, &sc.tensor);
}

/* ---- unary ---- */

static bool float_only(dnn_op op) {
  switch (op) {
    case DNN_OP_NEG: case DNN_OP_ABS: case DNN_OP_RELU: case DNN_OP_SIGN: case DNN_OP_FLOOR:
    case DNN_OP_CEIL: case DNN_OP_ROUND: case DNN_OP_TRUNC: case DNN_OP_SQUARE:
    case DNN_OP_LOGICAL_NOT: case DNN_OP_ISNAN: case DNN_OP_ISINF:
      return false;
    default:
      return true;
  }
}

dnn_tensor *dnn_unary(dnn_op op, const dnn_tensor *a) {
  dnn_dtype dt = (dnn_dtype)a->dtype;
  const char *name = dnn_op_name(op);
  if (op < DNN_OP_NEG || op > DNN_OP_COSH) {
    dnn_error(DNN_ERR_ARG, "%s is not a unary op", name);
    return NULL;
  }
  if (op == DNN_OP_NEG && dt == DNN_BOOL) {
    dnn_error(DNN_ERR_DTYPE, "neg: negation of a bool tensor is not supported; use logical_not");
    return NULL;
  }
  if ((op == DNN_OP_ISNAN || op == DNN_OP_ISINF) && !dnn_dtype_is_float(dt))
    return dnn_zeros(a->ndim, a->shape, DNN_BOOL, dnn_tensor_device(a));
  dnn_dtype cdt = dt;
  if (op == DNN_OP_LOGICAL_NOT) cdt = DNN_BOOL;
  else if (float_only(op) && !dnn_dtype_is_float(dt)) cdt = DNN_FLOAT32;
  else if (dt == DNN_BOOL && (op == DNN_OP_SQUARE)) cdt = DNN_INT64;
  dnn_dtype odt = (op == DNN_OP_ISNAN || op == DNN_OP_ISINF || op == DNN_OP_LOGICAL_NOT) ? DNN_BOOL : cdt;
  dnn_tensor *ca = NULL;
  const dnn_tensor *x = as_dtype(a, cdt, &ca);
  DNN_CHECK_NULL(x);
  dnn_tensor *out = dnn_empty(a->ndim, a->shape, odt, dnn_tensor_device(a));
  if (out) {
    dnn_op_args args = {.op = op, .out = out, .in = {x}, .n_in = 1};
    if (dnn_dispatch(dnn_tensor_device(a), &args) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(ca);
  return out;
}

dnn_status dnn_unary_(dnn_op op, dnn_tensor *a) {
  dnn_dtype dt = (dnn_dtype)a->dtype;
  const char *name = dnn_op_name(op);
  if (op == DNN_OP_ISNAN || op == DNN_OP_ISINF || op == DNN_OP_LOGICAL_NOT)
    return dnn_error(DNN_ERR_ARG, "%s_: has no in-place form", name);
  if (float_only(op) && !dnn_dtype_is_float(dt))
    return dnn_error(DNN_ERR_DTYPE, "%s_: result type float32 cannot be stored in-place in a %s tensor",
                     name, dnn_dtype_name(dt));
  if (op == DNN_OP_NEG && dt == DNN_BOOL)
    return dnn_error(DNN_ERR_DTYPE, "neg_: negation of a bool tensor is not supported");
  {
    char what[64];
    snprintf(what, sizeof what, "%s_", name);
    DNN_RETURN_IF_ERR(dnn_check_inplace(what, a));
  }
  dnn_op_args args = {.op = op, .out = a, .in = {a}, .n_in = 1};
  return dnn_dispatch(dnn_tensor_device(a), &args);
}

dnn_tensor *dnn_clamp(const dnn_tensor *a, bool has_min, double min, bool has_max, double max) {
  dnn_dtype dt = (dnn_dtype)a->dtype;
  if (dt == DNN_BOOL) {
    dnn_error(DNN_ERR_DTYPE, "clamp: not supported for bool tensors");
    return NULL;
  }
  if (!dnn_dtype_is_float(dt)) { /* integer bounds: round into the dtype's range */
    double lo_lim = dt == DNN_UINT8 ? 0 : dt == DNN_INT32 ? -2147483648.0 : -9.2233720368547758e18;
    double hi_lim = dt == DNN_UINT8 ? 255 : dt == DNN_INT32 ? 2147483647.0 : 9.2233720368547748e18;
    if (has_min) min = fmin(fmax(ceil(min), lo_lim), hi_lim);
    if (has_max) max = fmin(fmax(floor(max), lo_lim), hi_lim);
  }
  dnn_tensor *out = dnn_empty(a->ndim, a->shape, dt, dnn_tensor_device(a));
  DNN_CHECK_NULL(out);
  dnn_op_args args = {.op = DNN_OP_CLAMP, .out = out, .in = {a}, .n_in = 1,
                      .s0 = min, .s1 = max, .has_s0 = has_min, .has_s1 = has_max};
  if (dnn_dispatch(dnn_tensor_device(a), &args) != DNN_OK) {
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

dnn_tensor *dnn_where(const dnn_tensor *cond, const dnn_tensor *a, const dnn_tensor *b) {
  const dnn_tensor *ts[3] = {cond, a, b};
  if (dnn_check_same_device("where", 3, ts) != DNN_OK) return NULL;
  int64_t s1[DNN_MAX_DIMS], shape[DNN_MAX_DIMS];
  int n1 = dnn_broadcast_shape("where", cond->ndim, cond->shape, a->ndim, a->shape, s1);
  if (n1 < 0) return NULL;
  int nd = dnn_broadcast_shape("where", n1, s1, b->ndim, b->shape, shape);
  if (nd < 0) return NULL;
  dnn_dtype dt = result_dtype(a, b);
  dnn_tensor *cc = NULL, *ca = NULL, *cb = NULL, *out = NULL;
  const dnn_tensor *xc = as_dtype(cond, DNN_BOOL, &cc);
  const dnn_tensor *xa = xc ? as_dtype(a, dt, &ca) : NULL;
  const dnn_tensor *xb = xa ? as_dtype(b, dt, &cb) : NULL;
  if (xb) out = dnn_empty(nd, shape, dt, dnn_tensor_device(a));
  if (out) {
    dnn_tensor vc, va, vb;
    dnn_expand_header(&vc, xc, nd, shape);
    dnn_expand_header(&va, xa, nd, shape);
    dnn_expand_header(&vb, xb, nd, shape);
    dnn_op_args args = {.op = DNN_OP_WHERE, .out = out, .in = {&vc, &va, &vb}, .n_in = 3};
    if (dnn_dispatch(dnn_tensor_device(a), &args) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(cc);
  dnn_tensor_release(ca);
  dnn_tensor_release(cb);
  return out;
}
