/* The backward pass: nodes reachable from the roots run in topological order
 * (Kahn's algorithm over the reachable subgraph); each node's incoming
 * gradient is the sum of what its consumers sent it.  Leaves accumulate into
 * .grad, or into the caller's slots for dnn_grad. */
#include <stdlib.h>
#include <string.h>

#include "autograd.h"

typedef struct {
  dnn_node **items;
  size_t n, cap;
} node_list;

static dnn_status list_push(node_list *l, dnn_node *n) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    dnn_node **items = realloc(l->items, cap * sizeof *items);
    if (!items) return dnn_error(DNN_ERR_MEMORY, "backward: out of memory");
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = n;
  return DNN_OK;
}

/* Accumulates g into *slot (takes g's reference). */
static dnn_status accumulate(dnn_tensor **slot, dnn_tensor *g) {
  if (!*slot) {
    *slot = g;
    return DNN_OK;
  }
  dnn_tensor *sum = dnn_binary(DNN_OP_ADD, *slot, g);
  dnn_tensor_release(g);
  if (!sum) return dnn_error_code();
  dnn_tensor_release(*slot);
  *slot = sum;
  return DNN_OK;
}

/* Adds g into leaf->grad, keeping the .grad tensor object when it exists. */
static dnn_status accumulate_leaf(dnn_tensor *leaf, dnn_tensor *g) {
  if (!leaf->grad) {
    if (g->refcount > 1 || g->storage->refcount > 1 || !dnn_is_contiguous(g)) { /* shared: own a copy */
      dnn_tensor *c = dnn_clone(g);
      dnn_tensor_release(g);
      if (!c) return dnn_error_code();
      g = c;
    }
    leaf->grad = g;
    return DNN_OK;
  }
  dnn_status st = dnn_binary_(DNN_OP_ADD, leaf->grad, g);
  dnn_tensor_release(g);
  return st;
}

typedef struct {
  dnn_tensor *const *inputs; /* dnn_grad: capture these instead of touching .grad */
  dnn_tensor **results;
  int n_in;
} capture;

static int capture_index(const capture *cap, const dnn_tensor *leaf, const dnn_node *node) {
  if (!cap) return -1;
  for (int i = 0; i < cap->n_in; i++) {
    const dnn_tensor *t = cap->inputs[i];
    if ((leaf && t == leaf) || (node && t->grad_fn == node)) return i;
  }
  return -1;
}

static dnn_status check_saved(const dnn_node *n) {
  if (n->released)
    return dnn_error(DNN_ERR_ARG,
                     "backward: trying to backward through the graph a second time (%s's saved "
                     "tensors were freed); pass retain_graph=true to the first backward",
                     n->name);
  for (int i = 0; i < n->n_saved; i++) {
    if (n->saved[i] && n->saved[i]->storage->version != n->saved_version[i])
      return dnn_error(DNN_ERR_ARG,
                       "backward: a tensor saved by %s was modified by an in-place operation after it "
                       "was used; use an out-of-place operation",
                       n->name);
  }
  return DNN_OK;
}

static dnn_status run(int n_roots, dnn_tensor *const *roots, dnn_tensor **root_grads, bool retain,
                      capture *cap) {
  node_list all = {0}, ready = {0};
  dnn_status st = DNN_OK;
  /* 1. discover the reachable nodes and count the edges into each */
  node_list stack = {0};
  for (int r = 0; r < n_roots && st == DNN_OK; r++) {
    dnn_node *n = roots[r]->grad_fn;
    if (n && !n->visited) {
      n->visited = true;
      n->deps = 0;
      st = list_push(&stack, n);
      if (st == DNN_OK) st = list_push(&all, n);
    }
  }
  while (st == DNN_OK && stack.n) {
    dnn_node *n = stack.items[--stack.n];
    for (int i = 0; i < n->n_in; i++) {
      dnn_node *next = n->edges[i].node;
      if (!next) continue;
      if (!next->visited) {
        next->visited = true;
        next->deps = 0;
        st = list_push(&stack, next);
        if (st == DNN_OK) st = list_push(&all, next);
        if (st != DNN_OK) break;
      }
      next->deps++;
    }
  }
  free(stack.items);
  /* 2. seed the roots */
  for (int r = 0; r < n_roots && st == DNN_OK; r++) {
    dnn_tensor *g = root_grads[r];
    root_grads[r] = NULL;
    dnn_node *n = roots[r]->grad_fn;
    if (!n) { /* a leaf root */
      int ci = capture_index(cap, roots[r], NULL);
      if (ci >= 0) st = accumulate(&cap->results[ci], g);
      else if (!cap) st = accumulate_leaf(roots[r], g);
      else dnn_tensor_release(g);
      continue;
    }
    st = accumulate(&n->pending, g);
  }
  for (size_t i = 0; i < all.n && st == DNN_OK; i++)
    if (all.items[i]->deps == 0) st = list_push(&ready, all.items[i]);
  /* 3. run the nodes */
  dnn_no_grad_scope scope = dnn_no_grad_begin();
  while (st == DNN_OK && ready.n) {
    dnn_node *n = ready.items[--ready.n];
    dnn_tensor *grads[64] = {0};
    dnn_tensor **gin = n->n_in <= 64 ? grads : calloc((size_t)n->n_in, sizeof *gin);
    if (!gin) {
      st = dnn_error(DNN_ERR_MEMORY, "backward: out of memory");
      break;
    }
    if (n->pending) {
      int ci = capture_index(cap, NULL, n);
      if (ci >= 0) {
        dnn_tensor_retain(n->pending);
        st = accumulate(&cap->results[ci], n->pending);
      }
      if (st == DNN_OK) st = check_saved(n);
      if (st == DNN_OK) {
        st = n->backward(n, n->pending, gin);
        if (st != DNN_OK) dnn_error_prefix(n->name);
      }
      dnn_tensor_release(n->pending);
      n->pending = NULL;
    }
    for (int i = 0; i < n->n_in; i++) {
      dnn_edge *e = &n->edges[i];
      dnn_tensor *g = gin[i];
      gin[i] = NULL;
      if (st != DNN_OK || !e->needs || !g) {
        dnn_tensor_release(g);
      } else if (e->node) {
        st = accumulate(&e->node->pending, g);
      } else {
        int ci = capture_index(cap, e->leaf, NULL);
        if (ci >= 0) st = accumulate(&cap->results[ci], g);
        else if (!cap) st = accumulate_leaf(e->leaf, g);
        else dnn_tensor_release(g);
      }
      if (e->node && --e->node->deps == 0 && st == DNN_OK) st = list_push(&ready, e->node);
    }
    if (gin != grads) free(gin);
    if (!retain) {
      dnn_node_free_saved(n);
      n->released = true;
    }
  }
  dnn_no_grad_end(scope);
  for (size_t i = 0; i < all.n; i++) {
    all.items[i]->visited = false;
    dnn_tensor_release(all.items[i]->pending);
    all.items[i]->pending = NULL;
  }
  free(all.items);
  free(ready.items);
  return st;
}

/* The root gradient: given, or ones for a one-element root. */
static dnn_tensor *root_grad(const char *op, dnn_tensor *root, const dnn_tensor *grad) {
  char b0[200], b1[200];
  if (!root->requires_grad) {
    dnn_error(DNN_ERR_ARG, "%s: the tensor does not require grad and has no grad_fn", op);
    return NULL;
  }
  if (!grad) {
    if (dnn_numel(root) != 1) {
      dnn_error(DNN_ERR_ARG,
                "%s: grad can be implicitly created only for one-element outputs; this one has shape %s "
                "(pass a gradient of the same shape)",
                op, DNN_SHAPE_STR(root, b0));
      return NULL;
    }
    return dnn_full(root->ndim, root->shape, 1.0, (dnn_dtype)root->dtype, dnn_tensor_device(root));
  }
  if (grad->ndim != root->ndim || memcmp(grad->shape, root->shape, sizeof(int64_t) * (size_t)root->ndim) != 0) {
    dnn_error(DNN_ERR_SHAPE, "%s: gradient of shape %s does not match the output's shape %s", op,
              DNN_SHAPE_STR(grad, b0), DNN_SHAPE_STR(root, b1));
    return NULL;
  }
  return dnn_to_dtype((dnn_tensor *)grad, (dnn_dtype)root->dtype);
}

dnn_status dnn_backward(dnn_tensor *root, const dnn_tensor *grad, bool retain_graph) {
  dnn_tensor *g = root_grad("backward", root, grad);
  if (!g) return dnn_error_code();
  return run(1, &root, &g, retain_graph, NULL);
}

dnn_status dnn_grad(int n_out, dnn_tensor *const *outputs, dnn_tensor *const *grad_outputs, int n_in,
                    dnn_tensor *const *inputs, bool retain_graph, bool allow_unused,
                    dnn_tensor **results) {
  dnn_tensor *gs[64];
  if (n_out > 64) return dnn_error(DNN_ERR_ARG, "grad: at most 64 outputs");
  for (int i = 0; i < n_in; i++) {
    results[i] = NULL;
    if (!inputs[i]->requires_grad)
      return dnn_error(DNN_ERR_ARG, "grad: input %d does not require grad", i + 1);
  }
  for (int i = 0; i < n_out; i++) {
    gs[i] = root_grad("grad", outputs[i], grad_outputs ? grad_outputs[i] : NULL);
    if (!gs[i]) {
      for (int j = 0; j < i; j++) dnn_tensor_release(gs[j]);
      return dnn_error_code();
    }
  }
  capture cap = {inputs, results, n_in};
  dnn_status st = run(n_out, outputs, gs, retain_graph, &cap);
  for (int i = 0; i < n_in && st == DNN_OK; i++) {
    if (!results[i] && !allow_unused)
      st = dnn_error(DNN_ERR_ARG,
                     "grad: input %d was not used to compute the outputs (pass allow_unused=true to get nil)",
                     i + 1);
  }
  if (st != DNN_OK)
    for (int i = 0; i < n_in; i++) {
      dnn_tensor_release(results[i]);
      results[i] = NULL;
    }
  return st;
}
