/* Differentiable dropout and embedding lookups. */
#include "../core/ops_nn.h"
#include "arena.h"

/* ---- dropout: linear in x, so backward is the same masked scaling of g ---- */

#define DROP_SEED(n) ((uint64_t)(n)->shape[0])
#define DROP_OFFSET(n) ((uint64_t)(n)->shape[1])

static dnn_status dropout_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  gin[0] = dnn_dropout(g, n->s0, DROP_SEED(n), DROP_OFFSET(n));
  return gin[0] ? DNN_OK : dnn_error_code();
}

typedef struct {
  double rate;
  uint64_t seed, offset;
} drop_setup_ctx;

static dnn_status dropout_setup(dnn_node *n, void *vctx) {
  drop_setup_ctx *c = vctx;
  n->s0 = c->rate;
  n->shape[0] = (int64_t)c->seed; /* the mask's Philox key and first counter */
  n->shape[1] = (int64_t)c->offset;
  return DNN_OK;
}

dnn_tensor *dnn_ag_dropout(const dnn_tensor *x, double rate, bool training, bool has_seed, uint64_t seed) {
  if (dnn_nn_dropout_check(x, rate) != DNN_OK) return NULL;
  if (!training || rate == 0) { /* Keras returns the inputs themselves */
    dnn_tensor_retain((dnn_tensor *)x);
    return (dnn_tensor *)x;
  }
  uint64_t nblocks = ((uint64_t)dnn_numel(x) + 3) / 4, offset = 0;
  if (!has_seed) {
    seed = dnn_get_rng_state().seed;
    offset = dnn_rng_reserve(nblocks);
  }
  dnn_tensor *out = dnn_dropout(x, rate, seed, offset);
  drop_setup_ctx c = {rate, seed, offset};
  return dnn_ag_finish(out, "dropout", dropout_backward, 1, &x, dropout_setup, &c);
}

/* ---- embedding: backward adds the rows of g at their ids ---- */

static dnn_status embedding_backward(dnn_node *n, const dnn_tensor *g, dnn_tensor **gin) {
  gin[0] = dnn_embedding_backward(n->saved[0], g, n->k);
  return gin[0] ? DNN_OK : dnn_error_code();
}

typedef struct {
  const dnn_tensor *ids;
  int64_t vocab;
} emb_setup_ctx;

static dnn_status embedding_setup(dnn_node *n, void *vctx) {
  emb_setup_ctx *c = vctx;
  n->k = c->vocab;
  return dnn_ag_save(n, 0, c->ids);
}

dnn_tensor *dnn_ag_embedding(const dnn_tensor *ids, const dnn_tensor *weight) {
  dnn_tensor *out = dnn_embedding(ids, weight);
  emb_setup_ctx c = {ids, out ? weight->shape[0] : 0};
  return dnn_ag_finish(out, "embedding", embedding_backward, 1, &weight, embedding_setup, &c);
}
