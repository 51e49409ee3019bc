/* Embedding lookup (rows of the weight at 0-based ids) and its backward (the
 * rows of g added into a zeroed (vocab, dim) gradient).  The backward splits
 * the dim into column blocks, each summing ids in order, so repeated ids add
 * up the same way whatever the thread count. */
#include <string.h>

#include "iter.h"
#include "kernels_nn.h"

static int64_t id_at(const dnn_tensor *ids, int64_t i) {
  const void *p = dnn_data_ptr(ids);
  switch (ids->dtype) {
    case DNN_INT32: return ((const int32_t *)p)[i];
    case DNN_INT64: return ((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
  }
}

static dnn_status check_ids(const dnn_tensor *ids, int64_t vocab) {
  int64_t n = dnn_numel(ids);
  for (int64_t i = 0; i < n; i++) {
    int64_t id = id_at(ids, i);
    if (id < 0 || id >= vocab)
      return dnn_error(DNN_ERR_INDEX,
                       "embedding: id %lld (at flat position %lld) is out of range for a vocabulary of %lld "
                       "(ids are 0-based: 0..%lld)",
                       (long long)id, (long long)i + 1, (long long)vocab, (long long)vocab - 1);
  }
  return DNN_OK;
}

typedef struct {
  const dnn_op_args *a;
  int64_t n, dim;
  size_t row_bytes;
} emb_ctx;

static void gather_rows(void *vc, int64_t b, int64_t e) {
  emb_ctx *c = vc;
  const char *w = dnn_data_ptr(c->a->in[1]);
  char *o = dnn_data_ptr(c->a->out);
  for (int64_t i = b; i < e; i++)
    memcpy(o + (size_t)i * c->row_bytes, w + (size_t)id_at(c->a->in[0], i) * c->row_bytes, c->row_bytes);
}

dnn_status cpu_nn_embedding(const dnn_op_args *a) {
  DNN_RETURN_IF_ERR(check_ids(a->in[0], a->k));
  emb_ctx c = {a, dnn_numel(a->in[0]), a->in[1]->shape[1], 0};
  c.row_bytes = (size_t)c.dim * dnn_dtype_size((dnn_dtype)a->out->dtype);
  cpu_parallel_for(c.n, c.dim, gather_rows, &c);
  return DNN_OK;
}

#define EMB_BWD(T, S)                                                                     \
  static void scatter_cols_##S(void *vc, int64_t b, int64_t e) {                          \
    emb_ctx *c = vc;                                                                      \
    const T *g = dnn_data_ptr(c->a->in[1]);                                               \
    T *o = dnn_data_ptr(c->a->out);                                                       \
    int64_t lo = b * 64, hi = e * 64 < c->dim ? e * 64 : c->dim;                          \
    for (int64_t i = 0; i < c->n; i++) {                                                  \
      T *row = o + id_at(c->a->in[0], i) * c->dim;                                        \
      const T *gr = g + i * c->dim;                                                       \
      for (int64_t j = lo; j < hi; j++) row[j] += gr[j];                                  \
    }                                                                                     \
  }
EMB_BWD(float, f32)
EMB_BWD(double, f64)

dnn_status cpu_nn_embedding_backward(const dnn_op_args *a) {
  DNN_RETURN_IF_ERR(check_ids(a->in[0], a->out->shape[0]));
  emb_ctx c = {a, dnn_numel(a->in[0]), a->out->shape[1], 0};
  memset(dnn_data_ptr(a->out), 0, (size_t)dnn_numel(a->out) * dnn_dtype_size((dnn_dtype)a->out->dtype));
  cpu_parallel_for((c.dim + 63) / 64, c.n * 64, a->out->dtype == DNN_FLOAT32 ? scatter_cols_f32 : scatter_cols_f64,
                   &c);
  return DNN_OK;
}
