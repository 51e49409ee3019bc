/* The backward pass: nodes reachable from the roots run in topological order
 * (Kahn's algorithm over the reachable subgraph); each node's incoming
 * gradient is the sum of what its consumers sent it.  Leaves accumulate into
 * .grad, or into the caller's slots for dnn_grad.
 *
 * With a hook (grad_hook.h), the discovery also counts the edges into each
 * leaf; the pass counts them down as the nodes run, and a leaf whose count
 * reaches zero has its final gradient: the hook hears of it then, while the
 * nodes of earlier layers still run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autograd.h"
#include "grad_hook.h"

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

/* ---- leaf tracking for the hook ---- */

typedef struct {
  const dnn_grad_hook *hook;
  bool capture;        /* dnn_grad: the leaves are the inputs, fixed */
  dnn_tensor **leaves; /* begin's list (capture: the caller's inputs) */
  int *left;           /* edges still to run into each leaf */
  bool *reachable, *fired;
  int n, cap;
  dnn_tensor **keys; /* open addressing: leaf pointer -> index in vals */
  int *vals;
  size_t hcap; /* a power of two, or 0 */
} tracker;

static size_t hash_ptr(const void *p, size_t hcap) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x & (hcap - 1);
}

static int tracker_find(const tracker *tr, const dnn_tensor *leaf) {
  if (!tr->hcap) return -1;
  for (size_t h = hash_ptr(leaf, tr->hcap);; h = (h + 1) & (tr->hcap - 1)) {
    if (!tr->keys[h]) return -1;
    if (tr->keys[h] == leaf) return tr->vals[h];
  }
}

static void hash_put(dnn_tensor **keys, int *vals, size_t hcap, dnn_tensor *leaf, int i) {
  size_t h = hash_ptr(leaf, hcap);
  while (keys[h]) h = (h + 1) & (hcap - 1);
  keys[h] = leaf;
  vals[h] = i;
}

/* Room for one more leaf (the arrays and a hash at most half full). */
static dnn_status tracker_grow(tracker *tr, int want) {
  if (want > tr->cap) {
    int cap = tr->cap ? tr->cap * 2 : 64;
    while (cap < want) cap *= 2;
    dnn_tensor **l = realloc(tr->leaves, sizeof *l * (size_t)cap);
    if (l) tr->leaves = l;
    int *left = realloc(tr->left, sizeof *left * (size_t)cap);
    if (left) tr->left = left;
    bool *r = realloc(tr->reachable, sizeof *r * (size_t)cap);
    if (r) tr->reachable = r;
    bool *f = realloc(tr->fired, sizeof *f * (size_t)cap);
    if (f) tr->fired = f;
    if (!l || !left || !r || !f) return dnn_error(DNN_ERR_MEMORY, "backward: out of memory");
    tr->cap = cap;
  }
  if ((size_t)want * 2 > tr->hcap) {
    size_t hcap = tr->hcap ? tr->hcap * 2 : 128;
    while ((size_t)want * 2 > hcap) hcap *= 2;
    dnn_tensor **keys = calloc(hcap, sizeof *keys);
    int *vals = malloc(sizeof *vals * hcap);
    if (!keys || !vals) {
      free(keys), free(vals);
      return dnn_error(DNN_ERR_MEMORY, "backward: out of memory");
    }
    for (size_t h = 0; h < tr->hcap; h++)
      if (tr->keys[h]) hash_put(keys, vals, hcap, tr->keys[h], tr->vals[h]);
    free(tr->keys), free(tr->vals);
    tr->keys = keys, tr->vals = vals, tr->hcap = hcap;
  }
  return DNN_OK;
}

/* The leaf's index; dnn_backward adds leaves as the discovery finds them
 * (capture: -1 for a leaf that is not an input). */
static dnn_status tracker_index(tracker *tr, dnn_tensor *leaf, int *out) {
  *out = tracker_find(tr, leaf);
  if (*out >= 0 || tr->capture) return DNN_OK;
  DNN_RETURN_IF_ERR(tracker_grow(tr, tr->n + 1));
  int i = tr->n++;
  tr->leaves[i] = leaf;
  tr->left[i] = 0;
  tr->reachable[i] = tr->fired[i] = false;
  hash_put(tr->keys, tr->vals, tr->hcap, leaf, i);
  *out = i;
  return DNN_OK;
}

static dnn_status tracker_init(tracker *tr, const dnn_grad_hook *hook, const capture *cap) {
  memset(tr, 0, sizeof *tr);
  tr->hook = hook;
  if (!hook || !cap) return DNN_OK;
  tr->capture = true;
  DNN_RETURN_IF_ERR(tracker_grow(tr, cap->n_in > 0 ? cap->n_in : 1));
  tr->n = cap->n_in;
  for (int i = 0; i < cap->n_in; i++) {
    dnn_tensor *t = cap->inputs[i];
    tr->leaves[i] = t;
    tr->left[i] = 0;
    tr->reachable[i] = tr->fired[i] = false;
    /* a leaf input, first occurrence (capture_index's rule for duplicates) */
    if (!t->grad_fn && tracker_find(tr, t) < 0) hash_put(tr->keys, tr->vals, tr->hcap, t, i);
  }
  return DNN_OK;
}

static void tracker_free(tracker *tr) {
  free(tr->leaves), free(tr->left), free(tr->reachable), free(tr->fired), free(tr->keys), free(tr->vals);
}

static dnn_status tracker_fire(tracker *tr, int i, capture *cap) {
  if (tr->fired[i]) return DNN_OK;
  tr->fired[i] = true;
  dnn_tensor *leaf = tr->leaves[i];
  dnn_tensor *g = cap ? cap->results[i] : leaf->grad;
  return tr->hook->ready(tr->hook->ctx, i, leaf, g);
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
                      capture *cap, const dnn_grad_hook *hook) {
  node_list all = {0}, ready = {0};
  tracker tr;
  dnn_status st = tracker_init(&tr, hook, cap);
  tracker *trk = hook ? &tr : NULL;
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
      if (trk && !next && n->edges[i].needs && n->edges[i].leaf) { /* one more edge into this leaf */
        int li;
        st = tracker_index(trk, n->edges[i].leaf, &li);
        if (st != DNN_OK) break;
        if (li >= 0) trk->left[li]++, trk->reachable[li] = true;
      }
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
    if (!n && trk) {
      int li;
      st = tracker_index(trk, roots[r], &li);
      if (st != DNN_OK) {
        dnn_tensor_release(g);
        break;
      }
      if (li >= 0) trk->reachable[li] = true;
    }
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
  if (trk && st == DNN_OK) {
    /* non-leaf inputs of dnn_grad: reachable when their node is */
    for (int i = 0; trk->capture && i < trk->n; i++) {
      dnn_tensor *t = trk->leaves[i];
      if (t->grad_fn && t->grad_fn->visited && capture_index(cap, NULL, t->grad_fn) == i) trk->reachable[i] = true;
    }
    if (hook->begin) st = hook->begin(hook->ctx, trk->n, trk->leaves, trk->reachable);
    /* leaves reached only as roots are final already */
    for (int i = 0; i < trk->n && st == DNN_OK; i++)
      if (trk->reachable[i] && !trk->left[i] && !trk->leaves[i]->grad_fn) st = tracker_fire(trk, i, cap);
  }
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
    if (trk && trk->capture && st == DNN_OK) { /* a non-leaf input's gradient is final once its node ran */
      int ci = capture_index(cap, NULL, n);
      if (ci >= 0) st = tracker_fire(trk, ci, cap);
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
      if (trk && !e->node && e->needs && e->leaf && st == DNN_OK) {
        int li = tracker_find(trk, e->leaf);
        if (li >= 0 && --trk->left[li] == 0) st = tracker_fire(trk, li, cap);
      }
    }
    if (gin != grads) free(gin);
    if (!retain) {
      dnn_node_free_saved(n);
      n->released = true;
    }
  }
  if (trk && st == DNN_OK && hook->end) st = hook->end(hook->ctx);
  dnn_no_grad_end(scope);
  tracker_free(&tr);
  for (size_t i = 0; i < all.n; i++) {
    all.items[i]->visited = false;
    dnn_tensor_release(all.items[i]->pending);
    all.items[i]->pending = NULL;
  }
  for (int r = 0; r < n_roots; r++) { /* not seeded: the discovery failed */
    dnn_tensor_release(root_grads[r]);
    root_grads[r] = NULL;
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

dnn_status dnn_backward_hooked(dnn_tensor *root, const dnn_tensor *grad, bool retain_graph,
                               const dnn_grad_hook *hook) {
  dnn_tensor *g = root_grad("backward", root, grad);
  if (!g) return dnn_error_code();
  return run(1, &root, &g, retain_graph, NULL, hook);
}

dnn_status dnn_backward(dnn_tensor *root, const dnn_tensor *grad, bool retain_graph) {
  return dnn_backward_hooked(root, grad, retain_graph, NULL);
}

dnn_status dnn_grad(int n_out, dnn_tensor *const *outputs, dnn_tensor *const *grad_outputs, int n_in,
                    dnn_tensor *const *inputs, bool retain_graph, bool allow_unused,
                    dnn_tensor **results) {
  return dnn_grad_hooked(n_out, outputs, grad_outputs, n_in, inputs, retain_graph, allow_unused, results, NULL);
}

dnn_status dnn_grad_hooked(int n_out, dnn_tensor *const *outputs, dnn_tensor *const *grad_outputs, int n_in,
                           dnn_tensor *const *inputs, bool retain_graph, bool allow_unused, dnn_tensor **results,
                           const dnn_grad_hook *hook) {
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
  dnn_status st = run(n_out, outputs, gs, retain_graph, &cap, hook);
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
