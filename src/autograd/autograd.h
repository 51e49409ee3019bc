/* Autograd internals: the graph node and the helpers op families use to
 * record themselves.  A node belongs to the one tensor it produced; its edges
 * lead to the nodes of its inputs (or to leaf tensors, whose .grad gets the
 * result).  Saved tensors are detached aliases, so a node that saves its own
 * output does not keep itself alive. */
#ifndef DNN_AUTOGRAD_H
#define DNN_AUTOGRAD_H

#include "../core/internal.h"

typedef struct dnn_node dnn_node;

/* grads_in[i] receives the gradient for input i (NULL: none, e.g. an integer
 * input or one that needs no grad).  grad has the output's shape. */
typedef dnn_status (*dnn_backward_fn)(dnn_node *n, const dnn_tensor *grad, dnn_tensor **grads_in);

typedef struct {
  dnn_node *node;   /* input's grad_fn (retained), or NULL */
  dnn_tensor *leaf; /* input itself when it is a leaf that requires grad (retained) */
  bool needs;       /* node or leaf set */
  int8_t ndim, dtype;
  int64_t shape[DNN_MAX_DIMS];
} dnn_edge;

#define DNN_NODE_MAX_SAVED 4

struct dnn_node {
  int refcount;
  const char *name;
  dnn_backward_fn backward;
  /* saved state */
  dnn_tensor *saved[DNN_NODE_MAX_SAVED];
  uint64_t saved_version[DNN_NODE_MAX_SAVED];
  int n_saved;
  bool released; /* saved tensors freed after a backward without retain_graph */
  /* op parameters, as each backward needs */
  dnn_op op;
  int dim, ndims;
  int dims[DNN_MAX_DIMS];
  bool keepdim, flag;
  double s0, s1;
  int64_t k;
  int64_t shape[DNN_MAX_DIMS]; /* e.g. the output shape, or view geometry */
  int8_t out_ndim, out_dtype;
  /* engine scratch */
  dnn_tensor *pending;
  int deps;
  bool visited;
  /* edges, one per input */
  int n_in;
  dnn_edge edges[];
};

/* True when recording is on and some input requires grad. */
bool dnn_ag_should_record(int n, const dnn_tensor *const *inputs);
/* A node for `out` with edges to the inputs; sets out->grad_fn and
 * out->requires_grad.  Returns NULL (error set) on allocation failure, after
 * which the caller releases out. */
dnn_node *dnn_ag_record(const char *name, dnn_backward_fn fn, dnn_tensor *out, int n,
                        const dnn_tensor *const *inputs);
/* Saves a detached alias of t in slot i (version noted for the staleness check). */
dnn_status dnn_ag_save(dnn_node *n, int i, const dnn_tensor *t);
void dnn_node_retain(dnn_node *n);
void dnn_node_release(dnn_node *n);
void dnn_node_free_saved(dnn_node *n);

/* Sums grad over broadcast dims so it has shape (ndim, shape). */
dnn_tensor *dnn_sum_to_shape(const dnn_tensor *grad, int ndim, const int64_t *shape);
/* Helper: records `out` from inputs when needed; on failure releases out and
 * returns NULL.  `setup` may fill node fields (can be NULL). */
typedef dnn_status (*dnn_node_setup)(dnn_node *n, void *ctx);
dnn_tensor *dnn_ag_finish(dnn_tensor *out, const char *name, dnn_backward_fn fn, int n,
                          const dnn_tensor *const *inputs, dnn_node_setup setup, void *ctx);

/* Turns grad mode off for the current scope of a backward function. */
typedef struct {
  bool prev;
} dnn_no_grad_scope;
static inline dnn_no_grad_scope dnn_no_grad_begin(void) {
  dnn_no_grad_scope s = {dnn_set_grad_enabled(false)};
  return s;
}
static inline void dnn_no_grad_end(dnn_no_grad_scope s) { dnn_set_grad_enabled(s.prev); }

#endif
