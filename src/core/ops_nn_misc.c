/* Front ends of dropout and embedding lookups. */
#include <string.h>

#include "ops_nn.h"

dnn_status dnn_nn_dropout_check(const dnn_tensor *x, double rate) {
  DNN_RETURN_IF_ERR(nn_check_float("dropout", "the input", x));
  if (!(rate >= 0 && rate < 1))
    return dnn_error(DNN_ERR_ARG, "dropout: rate must be in [0, 1), got %g", rate);
  return DNN_OK;
}

dnn_tensor *dnn_dropout(const dnn_tensor *x, double rate, uint64_t seed, uint64_t offset) {
  if (dnn_nn_dropout_check(x, rate) != DNN_OK) return NULL;
  dnn_tensor *xc = nn_contig(x);
  DNN_CHECK_NULL(xc);
  dnn_tensor *out = dnn_empty(x->ndim, x->shape, (dnn_dtype)x->dtype, dnn_tensor_device(x));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_DROPOUT, .out = out, .in = {xc}, .n_in = 1, .s0 = rate, .seed = seed,
                     .offset = offset};
    if (dnn_dispatch(dnn_tensor_device(x), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(xc);
  return out;
}

static dnn_status check_ids(const char *op, const dnn_tensor *ids) {
  if (ids->dtype == DNN_INT64 || ids->dtype == DNN_INT32 || ids->dtype == DNN_UINT8) return DNN_OK;
  return dnn_error(DNN_ERR_DTYPE, "%s: ids must be an integer tensor (int64, int32 or uint8), got %s%s", op,
                   dnn_dtype_name((dnn_dtype)ids->dtype),
                   dnn_dtype_is_float((dnn_dtype)ids->dtype) ? "; convert with :long()" : "");
}

dnn_tensor *dnn_embedding(const dnn_tensor *ids, const dnn_tensor *weight) {
  const char *op = "embedding";
  char b0[200];
  if (check_ids(op, ids) || nn_check_float(op, "the weight", weight)) return NULL;
  if (weight->ndim != 2) {
    dnn_error(DNN_ERR_SHAPE, "%s: the weight must be 2-d (vocab, dim), got %s", op, DNN_SHAPE_STR(weight, b0));
    return NULL;
  }
  if (ids->ndim + 1 > DNN_MAX_DIMS) {
    dnn_error(DNN_ERR_SHAPE, "%s: ids %s have too many dims (the result adds one; at most %d)", op,
              DNN_SHAPE_STR(ids, b0), DNN_MAX_DIMS);
    return NULL;
  }
  if (!dnn_device_eq(dnn_tensor_device(ids), dnn_tensor_device(weight))) {
    dnn_error(DNN_ERR_DEVICE, "%s: ids and weight are on different devices", op);
    return NULL;
  }
  int64_t shape[DNN_MAX_DIMS];
  memcpy(shape, ids->shape, sizeof(int64_t) * (size_t)ids->ndim);
  shape[ids->ndim] = weight->shape[1];
  dnn_tensor *ic = nn_contig(ids), *wc = nn_contig(weight), *out = NULL;
  if (ic && wc) out = dnn_empty(ids->ndim + 1, shape, (dnn_dtype)weight->dtype, dnn_tensor_device(weight));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_EMBEDDING, .out = out, .in = {ic, wc}, .n_in = 2, .k = weight->shape[0]};
    if (dnn_dispatch(dnn_tensor_device(weight), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(ic);
  dnn_tensor_release(wc);
  return out;
}

dnn_tensor *dnn_embedding_backward(const dnn_tensor *ids, const dnn_tensor *g, int64_t vocab) {
  const char *op = "embedding";
  char b0[200], b1[200];
  if (check_ids(op, ids) || nn_check_float(op, "the gradient", g)) return NULL;
  int64_t n = dnn_numel(ids);
  if (g->ndim != ids->ndim + 1 || dnn_numel(g) != n * g->shape[g->ndim - 1] ||
      memcmp(g->shape, ids->shape, sizeof(int64_t) * (size_t)ids->ndim) != 0) {
    dnn_error(DNN_ERR_SHAPE, "%s backward: gradient %s does not match ids %s", op, DNN_SHAPE_STR(g, b0),
              DNN_SHAPE_STR(ids, b1));
    return NULL;
  }
  if (vocab < 0) {
    dnn_error(DNN_ERR_ARG, "%s backward: negative vocabulary size %lld", op, (long long)vocab);
    return NULL;
  }
  int64_t dim = g->shape[g->ndim - 1], shape[2] = {vocab, dim};
  dnn_tensor *ic = nn_contig(ids), *gc = nn_contig(g), *out = NULL;
  if (ic && gc) out = dnn_empty(2, shape, (dnn_dtype)g->dtype, dnn_tensor_device(g));
  if (out) {
    dnn_op_args a = {.op = DNN_OP_EMBEDDING_BACKWARD, .out = out, .in = {ic, gc}, .n_in = 2, .k = vocab};
    if (dnn_dispatch(dnn_tensor_device(g), &a) != DNN_OK) {
      dnn_tensor_release(out);
      out = NULL;
    }
  }
  dnn_tensor_release(ic);
  dnn_tensor_release(gc);
  return out;
}
