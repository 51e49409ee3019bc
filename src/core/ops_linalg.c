/* matmul with torch.matmul's shape rules, mm, bmm, addmm. */
#include <string.h>

#include "internal.h"

/* (batch, rows, cols) view usable by the kernel (a unit stride in the matrix). */
static dnn_tensor *as_batched(dnn_tensor *t, int nbatch, const int64_t *batch, int64_t B) {
  int64_t shape[DNN_MAX_DIMS];
  memcpy(shape, batch, sizeof(int64_t) * (size_t)nbatch);
  shape[nbatch] = t->shape[t->ndim - 2];
  shape[nbatch + 1] = t->shape[t->ndim - 1];
  dnn_tensor *e = dnn_expand(t, nbatch + 2, shape);
  DNN_CHECK_NULL(e);
  int64_t s3[3] = {B, shape[nbatch], shape[nbatch + 1]};
  dnn_tensor *v = dnn_view(e, 3, s3);
  if (v) {
    bool trans;
    int64_t ld;
    bool ok = dnn_blas_layout(s3[1], s3[2], v->strides[1], v->strides[2], &trans, &ld);
    if (!ok) {
      dnn_tensor_release(v);
      v = NULL;
    }
  }
  if (!v) {
    dnn_error_clear();
    dnn_tensor *c = dnn_contiguous(e);
    if (c) v = dnn_view(c, 3, s3);
    dnn_tensor_release(c);
  }
  dnn_tensor_release(e);
  return v;
}

static dnn_tensor *matmul_3d(const char *op, dnn_tensor *a3, dnn_tensor *b3, dnn_tensor *c_init,
                             double alpha, double beta) {
  int64_t shape[3] = {a3->shape[0], a3->shape[1], b3->shape[2]};
  dnn_tensor *out;
  if (c_init) {
    out = dnn_empty(3, shape, (dnn_dtype)a3->dtype, dnn_tensor_device(a3));
    if (out && dnn_copy_(out, c_init) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  } else {
    out = dnn_empty(3, shape, (dnn_dtype)a3->dtype, dnn_tensor_device(a3));
  }
  DNN_CHECK_NULL(out);
  dnn_op_args a = {.op = DNN_OP_MATMUL, .out = out, .in = {a3, b3}, .n_in = 2,
                   .s0 = alpha, .has_s0 = alpha != 1.0, .s1 = beta, .has_s1 = c_init != NULL};
  if (dnn_dispatch(dnn_tensor_device(a3), &a) != DNN_OK) {
    dnn_error_prefix(op);
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

static dnn_status check_operands(const char *op, const dnn_tensor *a, const dnn_tensor *b) {
  const dnn_tensor *ts[2] = {a, b};
  DNN_RETURN_IF_ERR(dnn_check_same_device(op, 2, ts));
  if (a->dtype == DNN_BOOL || b->dtype == DNN_BOOL)
    return dnn_error(DNN_ERR_DTYPE, "%s: not supported for bool tensors", op);
  if (a->dtype != b->dtype)
    return dnn_error(DNN_ERR_DTYPE, "%s: dtypes differ (%s and %s); convert one with :to()", op,
                     dnn_dtype_name((dnn_dtype)a->dtype), dnn_dtype_name((dnn_dtype)b->dtype));
  return DNN_OK;
}

static dnn_status mismatch(const char *op, const dnn_tensor *a, const dnn_tensor *b, int64_t ka, int64_t kb) {
  char b0[200], b1[200];
  return dnn_error(DNN_ERR_SHAPE, "%s: shapes %s and %s cannot be multiplied (%lld != %lld)", op,
                   DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1), (long long)ka, (long long)kb);
}

/* A 3-d header (1, rows, cols) over a matrix, on the caller's stack. */
static void batch1_header(dnn_tensor *v, const dnn_tensor *m) {
  *v = *m;
  v->ndim = 3;
  v->shape[0] = 1, v->shape[1] = m->shape[0], v->shape[2] = m->shape[1];
  v->strides[0] = 0, v->strides[1] = m->strides[0], v->strides[2] = m->strides[1];
}

/* matrix @ matrix with BLAS-usable strides: no view headers to make */
static dnn_tensor *matmul_2d(const dnn_tensor *a, const dnn_tensor *b) {
  bool ta, tb;
  int64_t la, lb;
  if (!dnn_blas_layout(a->shape[0], a->shape[1], a->strides[0], a->strides[1], &ta, &la) ||
      !dnn_blas_layout(b->shape[0], b->shape[1], b->strides[0], b->strides[1], &tb, &lb))
    return NULL;
  int64_t shape[2] = {a->shape[0], b->shape[1]};
  dnn_tensor *out = dnn_empty(2, shape, (dnn_dtype)a->dtype, dnn_tensor_device(a));
  if (!out) return NULL;
  dnn_tensor a3, b3, o3;
  batch1_header(&a3, a);
  batch1_header(&b3, b);
  batch1_header(&o3, out);
  dnn_op_args args = {.op = DNN_OP_MATMUL, .out = &o3, .in = {&a3, &b3}, .n_in = 2};
  if (dnn_dispatch(dnn_tensor_device(a), &args) != DNN_OK) {
    dnn_error_prefix("matmul");
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

dnn_tensor *dnn_matmul(const dnn_tensor *a, const dnn_tensor *b) {
  if (check_operands("matmul", a, b) != DNN_OK) return NULL;
  if (a->ndim == 2 && b->ndim == 2 && a->shape[1] == b->shape[0]) {
    dnn_error_clear();
    dnn_tensor *r = matmul_2d(a, b);
    if (r || dnn_error_code() != DNN_OK) return r; /* else: strides need the general path */
  }
  if (a->ndim == 0 || b->ndim == 0) {
    dnn_error(DNN_ERR_SHAPE, "matmul: both arguments need at least 1 dim, got %d-d and %d-d", a->ndim, b->ndim);
    return NULL;
  }
  int64_t ka = a->shape[a->ndim - 1], kb = b->shape[b->ndim > 1 ? b->ndim - 2 : 0];
  if (ka != kb) {
    mismatch("matmul", a, b, ka, kb);
    return NULL;
  }
  /* 1-d operands become matrices, and the extra dim is dropped at the end */
  dnn_tensor *a2 = a->ndim == 1 ? dnn_unsqueeze((dnn_tensor *)a, 0) : dnn_alias((dnn_tensor *)a);
  dnn_tensor *b2 = b->ndim == 1 ? dnn_unsqueeze((dnn_tensor *)b, 1) : dnn_alias((dnn_tensor *)b);
  dnn_tensor *a3 = NULL, *b3 = NULL, *out3 = NULL, *result = NULL;
  if (!a2 || !b2) goto done;
  int64_t batch[DNN_MAX_DIMS];
  int nb = dnn_broadcast_shape("matmul", a2->ndim - 2, a2->shape, b2->ndim - 2, b2->shape, batch);
  if (nb < 0) goto done;
  int64_t B = 1;
  for (int i = 0; i < nb; i++) B *= batch[i];
  int64_t M = a2->shape[a2->ndim - 2], N = b2->shape[b2->ndim - 1];
  if (b2->ndim == 2 && nb > 0 && a2->ndim > 2) {
    /* shared right matrix: fold the batch into the rows, one big GEMM */
    int64_t rows[2] = {-1, ka};
    dnn_tensor *flat = dnn_reshape(a2, 2, rows);
    if (!flat) goto done;
    int64_t one[1] = {1};
    a3 = as_batched(flat, 1, one, 1);
    dnn_tensor_release(flat);
    b3 = a3 ? as_batched(b2, 1, one, 1) : NULL;
  } else {
    a3 = as_batched(a2, nb, batch, B);
    b3 = a3 ? as_batched(b2, nb, batch, B) : NULL;
  }
  if (!a3 || !b3) goto done;
  out3 = matmul_3d("matmul", a3, b3, NULL, 1.0, 0.0);
  if (!out3) goto done;
  int64_t shape[DNN_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < nb; i++) shape[nd++] = batch[i];
  if (a->ndim > 1) shape[nd++] = M;
  if (b->ndim > 1) shape[nd++] = N;
  result = dnn_view(out3, nd, shape);
done:
  dnn_tensor_release(a2);
  dnn_tensor_release(b2);
  dnn_tensor_release(a3);
  dnn_tensor_release(b3);
  dnn_tensor_release(out3);
  return result;
}

dnn_tensor *dnn_mm(const dnn_tensor *a, const dnn_tensor *b) {
  if (check_operands("mm", a, b) != DNN_OK) return NULL;
  if (a->ndim != 2 || b->ndim != 2) {
    char b0[200], b1[200];
    dnn_error(DNN_ERR_SHAPE, "mm: needs two 2-d tensors, got %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
    return NULL;
  }
  if (a->shape[1] != b->shape[0]) {
    mismatch("mm", a, b, a->shape[1], b->shape[0]);
    return NULL;
  }
  return dnn_matmul(a, b);
}

dnn_tensor *dnn_bmm(const dnn_tensor *a, const dnn_tensor *b) {
  char b0[200], b1[200];
  if (check_operands("bmm", a, b) != DNN_OK) return NULL;
  if (a->ndim != 3 || b->ndim != 3) {
    dnn_error(DNN_ERR_SHAPE, "bmm: needs two 3-d tensors, got %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
    return NULL;
  }
  if (a->shape[0] != b->shape[0]) {
    dnn_error(DNN_ERR_SHAPE, "bmm: batch sizes differ: %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
    return NULL;
  }
  if (a->shape[2] != b->shape[1]) {
    mismatch("bmm", a, b, a->shape[2], b->shape[1]);
    return NULL;
  }
  return dnn_matmul(a, b);
}

dnn_tensor *dnn_addmm(const dnn_tensor *c, const dnn_tensor *a, const dnn_tensor *b, double beta,
                      double alpha) {
  char b0[200], b1[200];
  if (check_operands("addmm", a, b) != DNN_OK || check_operands("addmm", c, a) != DNN_OK) return NULL;
  if (a->ndim != 2 || b->ndim != 2) {
    dnn_error(DNN_ERR_SHAPE, "addmm: needs two 2-d matrices, got %s and %s", DNN_SHAPE_STR(a, b0), DNN_SHAPE_STR(b, b1));
    return NULL;
  }
  if (a->shape[1] != b->shape[0]) {
    mismatch("addmm", a, b, a->shape[1], b->shape[0]);
    return NULL;
  }
  int64_t mn[2] = {a->shape[0], b->shape[1]}, tmp[DNN_MAX_DIMS];
  int nd = dnn_broadcast_shape("addmm", c->ndim, c->shape, 2, mn, tmp);
  if (nd < 0) return NULL;
  if (nd != 2 || tmp[0] != mn[0] || tmp[1] != mn[1]) {
    dnn_error(DNN_ERR_SHAPE, "addmm: input %s cannot be broadcast to the product's shape %s", DNN_SHAPE_STR(c, b0),
              dnn_shape_str(2, mn, b1));
    return NULL;
  }
  int64_t one[1] = {1};
  dnn_tensor *a3 = as_batched((dnn_tensor *)a, 1, one, 1);
  dnn_tensor *b3 = a3 ? as_batched((dnn_tensor *)b, 1, one, 1) : NULL;
  dnn_tensor *out3 = NULL, *res = NULL;
  if (a3 && b3) {
    int64_t s3[3] = {1, mn[0], mn[1]};
    dnn_tensor *c3 = dnn_expand((dnn_tensor *)c, 3, s3);
    if (c3) out3 = matmul_3d("addmm", a3, b3, c3, alpha, beta);
    dnn_tensor_release(c3);
  }
  if (out3) res = dnn_view(out3, 2, mn);
  dnn_tensor_release(a3);
  dnn_tensor_release(b3);
  dnn_tensor_release(out3);
  return res;
}
