/* Graph nodes: creation with edges to the inputs, saved tensors, lifetime. */
#include <stdlib.h>
#include <string.h>

#include "autograd.h"

bool dnn_ag_should_record(int n, const dnn_tensor *const *inputs) {
  if (!dnn_grad_enabled()) return false;
  for (int i = 0; i < n; i++)
    if (inputs[i] && inputs[i]->requires_grad) return true;
  return false;
}

void dnn_node_retain(dnn_node *n) { __atomic_add_fetch(&n->refcount, 1, __ATOMIC_RELAXED); }

void dnn_node_free_saved(dnn_node *n) {
  for (int i = 0; i < DNN_NODE_MAX_SAVED; i++) {
    dnn_tensor_release(n->saved[i]);
    n->saved[i] = NULL;
  }
  dnn_tensor_release(n->pending);
  n->pending = NULL;
}

/* Releasing a long chain recursively could overflow the C stack (a 100k-step
 * RNN graph); nodes whose count drops to zero are queued and freed in a loop. */
void dnn_node_release(dnn_node *n) {
  if (!n || __atomic_sub_fetch(&n->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  dnn_node *stack_buf[64];
  dnn_node **stack = stack_buf;
  size_t cap = 64, top = 0;
  stack[top++] = n;
  while (top) {
    dnn_node *cur = stack[--top];
    dnn_node_free_saved(cur);
    for (int i = 0; i < cur->n_in; i++) {
      dnn_tensor_release(cur->edges[i].leaf);
      dnn_node *next = cur->edges[i].node;
      if (next && __atomic_sub_fetch(&next->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
        if (top == cap) {
          dnn_node **bigger = malloc(sizeof *bigger * cap * 2);
          if (!bigger) { /* out of memory: fall back to recursion for this one */
            next->refcount = 1;
            dnn_node_release(next);
            continue;
          }
          memcpy(bigger, stack, sizeof *stack * top);
          if (stack != stack_buf) free(stack);
          stack = bigger;
          cap *= 2;
        }
        stack[top++] = next;
      }
    }
    free(cur);
  }
  if (stack != stack_buf) free(stack);
}

dnn_node *dnn_ag_record(const char *name, dnn_backward_fn fn, dnn_tensor *out, int n,
                        const dnn_tensor *const *inputs) {
  dnn_node *node = calloc(1, sizeof *node + (size_t)n * sizeof(dnn_edge));
  if (!node) {
    dnn_error(DNN_ERR_MEMORY, "%s: out of memory recording the graph", name);
    return NULL;
  }
  node->refcount = 1;
  node->name = name;
  node->backward = fn;
  node->n_in = n;
  node->out_ndim = out->ndim;
  node->out_dtype = out->dtype;
  for (int i = 0; i < n; i++) {
    const dnn_tensor *in = inputs[i];
    dnn_edge *e = &node->edges[i];
    if (!in) continue;
    e->ndim = in->ndim;
    e->dtype = in->dtype;
    memcpy(e->shape, in->shape, sizeof(int64_t) * (size_t)in->ndim);
    if (!in->requires_grad) continue;
    e->needs = true;
    if (in->grad_fn) {
      e->node = in->grad_fn;
      dnn_node_retain(e->node);
    } else {
      e->leaf = (dnn_tensor *)in;
      dnn_tensor_retain(e->leaf);
    }
  }
  if (out->grad_fn) dnn_node_release(out->grad_fn);
  out->grad_fn = node;
  out->requires_grad = true;
  return node;
}

dnn_status dnn_ag_save(dnn_node *n, int i, const dnn_tensor *t) {
  dnn_tensor *alias = dnn_detach((dnn_tensor *)t);
  if (!alias) return dnn_error_code();
  dnn_tensor_release(n->saved[i]);
  n->saved[i] = alias;
  n->saved_version[i] = t->storage->version;
  if (i >= n->n_saved) n->n_saved = i + 1;
  return DNN_OK;
}

dnn_tensor *dnn_ag_finish(dnn_tensor *out, const char *name, dnn_backward_fn fn, int n,
                          const dnn_tensor *const *inputs, dnn_node_setup setup, void *ctx) {
  if (!out || !dnn_ag_should_record(n, inputs)) return out;
  if (!dnn_dtype_is_float((dnn_dtype)out->dtype)) return out; /* integer results carry no gradient */
  dnn_node *node = dnn_ag_record(name, fn, out, n, inputs);
  if (!node || (setup && setup(node, ctx) != DNN_OK)) {
    dnn_tensor_release(out);
    return NULL;
  }
  return out;
}

dnn_tensor *dnn_detach(dnn_tensor *t) {
  dnn_tensor *a = dnn_alias(t);
  if (a) {
    a->requires_grad = false;
    a->grad_fn = NULL;
  }
  return a;
}

bool dnn_is_leaf(const dnn_tensor *t) { return t->grad_fn == NULL; }

const char *dnn_grad_fn_name(const dnn_tensor *t) { return t->grad_fn ? t->grad_fn->name : NULL; }

dnn_status dnn_set_requires_grad(dnn_tensor *t, bool on) {
  if (t->grad_fn)
    return dnn_error(DNN_ERR_ARG,
                     "requires_grad: can only be changed on leaf tensors; this one is the result of %s "
                     "(use :detach() to make a leaf)",
                     t->grad_fn->name);
  if (on && !dnn_dtype_is_float((dnn_dtype)t->dtype))
    return dnn_error(DNN_ERR_DTYPE, "requires_grad: only floating point tensors can require gradients, got %s",
                     dnn_dtype_name((dnn_dtype)t->dtype));
  t->requires_grad = on;
  return DNN_OK;
}

