/* Temporaries of a backward formula: every intermediate goes into the arena
 * and is released at the end; an op on a failed (NULL) operand yields NULL,
 * so a formula is written straight through and checked once. */
#ifndef DNN_AG_ARENA_H
#define DNN_AG_ARENA_H

#include "autograd.h"

#define ARENA_MAX 32

typedef struct {
  dnn_tensor *tmp[ARENA_MAX];
  int n;
  bool failed;
} ag_arena;

static inline dnn_tensor *ar_keep(ag_arena *ar, dnn_tensor *t) {
  if (!t || ar->n >= ARENA_MAX) {
    if (t) dnn_tensor_release(t);
    ar->failed = true;
    return NULL;
  }
  ar->tmp[ar->n++] = t;
  return t;
}

static inline void ar_free(ag_arena *ar) {
  for (int i = 0; i < ar->n; i++) dnn_tensor_release(ar->tmp[i]);
  ar->n = 0;
}

static inline dnn_tensor *ar_bin(ag_arena *ar, dnn_op op, const dnn_tensor *a, const dnn_tensor *b) {
  if (!a || !b) return ar->failed = true, NULL;
  return ar_keep(ar, dnn_binary(op, a, b));
}
static inline dnn_tensor *ar_sc(ag_arena *ar, dnn_op op, const dnn_tensor *a, double s) {
  if (!a) return ar->failed = true, NULL;
  return ar_keep(ar, dnn_binary_scalar(op, a, s, false, false));
}
static inline dnn_tensor *ar_rsc(ag_arena *ar, dnn_op op, double s, const dnn_tensor *a) {
  if (!a) return ar->failed = true, NULL;
  return ar_keep(ar, dnn_binary_scalar(op, a, s, false, true));
}
static inline dnn_tensor *ar_un(ag_arena *ar, dnn_op op, const dnn_tensor *a) {
  if (!a) return ar->failed = true, NULL;
  return ar_keep(ar, dnn_unary(op, a));
}
#define AR_MUL(x, y) ar_bin(ar, DNN_OP_MUL, (x), (y))
#define AR_DIV(x, y) ar_bin(ar, DNN_OP_DIV, (x), (y))
#define AR_ADD(x, y) ar_bin(ar, DNN_OP_ADD, (x), (y))
#define AR_SUB(x, y) ar_bin(ar, DNN_OP_SUB, (x), (y))
#define AR_MULS(x, s) ar_sc(ar, DNN_OP_MUL, (x), (s))
#define AR_ADDS(x, s) ar_sc(ar, DNN_OP_ADD, (x), (s))
#define AR_NEG(x) ar_un(ar, DNN_OP_NEG, (x))

/* The gradient for edge i: g summed to the input's shape and cast to its dtype
 * (a new reference), or NULL when the edge needs none. */
static inline dnn_tensor *ar_grad_for(ag_arena *ar, const dnn_node *n, int i, const dnn_tensor *g) {
  const dnn_edge *e = &n->edges[i];
  if (!e->needs || !g) return NULL;
  dnn_tensor *s = dnn_sum_to_shape(g, e->ndim, e->shape);
  if (!s) return ar->failed = true, NULL;
  dnn_tensor *c = dnn_to_dtype(s, (dnn_dtype)e->dtype);
  dnn_tensor_release(s);
  if (!c) ar->failed = true;
  return c;
}

/* Ends a backward: on failure releases the produced grads. */
static inline dnn_status ar_end(ag_arena *ar, int n, dnn_tensor **grads_in) {
  ar_free(ar);
  if (!ar->failed) return DNN_OK;
  for (int i = 0; i < n; i++) {
    dnn_tensor_release(grads_in[i]);
    grads_in[i] = NULL;
  }
  return dnn_error_code() ? dnn_error_code() : dnn_error(DNN_ERR_INTERNAL, "backward failed");
}

#endif
