/* Hooks on one backward pass: the engine says when each leaf's gradient is
 * final, so that a caller can start using it while the pass still computes
 * the gradients of earlier layers (PyTorch's per-parameter hooks, which DDP
 * uses to start a bucket's allreduce during the backward pass).
 *
 * Every callback runs on the thread that called the pass, inside the engine,
 * with grad mode off; a status other than DNN_OK (with dnn_error set) stops
 * the pass, which then returns that error.  A callback must not start another
 * backward pass over the same graph. */
#ifndef DNN_GRAD_HOOK_H
#define DNN_GRAD_HOOK_H

#include "dnn.h"

typedef struct dnn_grad_hook {
  void *ctx;
  /* Optional.  Once, after the graph is discovered and before any backward
   * function runs: the n leaves whose gradients the pass computes -- for
   * dnn_grad the inputs in their order (a non-leaf input counts as one),
   * for dnn_backward the leaves that require grad, in discovery order -- and
   * whether each receives a gradient in this pass (reachable[i]). */
  dnn_status (*begin)(void *ctx, int n, dnn_tensor *const *leaves, const bool *reachable);
  /* Leaf i (an index into begin's list) will receive no more contributions:
   * grad is the tensor dnn_grad returns for it, or the leaf's .grad after
   * dnn_backward accumulated into it (NULL when nothing reached it after all).
   * Called once for every reachable leaf, in the order they become final. */
  dnn_status (*ready)(void *ctx, int i, dnn_tensor *leaf, dnn_tensor *grad);
  /* Optional.  After the last backward function ran (not after an error). */
  dnn_status (*end)(void *ctx);
} dnn_grad_hook;

/* dnn_backward and dnn_grad with a hook (NULL: none, the plain functions). */
dnn_status dnn_backward_hooked(dnn_tensor *root, const dnn_tensor *grad, bool retain_graph,
                               const dnn_grad_hook *hook);
dnn_status dnn_grad_hooked(int n_out, dnn_tensor *const *outputs, dnn_tensor *const *grad_outputs, int n_in,
                           dnn_tensor *const *inputs, bool retain_graph, bool allow_unused, dnn_tensor **results,
                           const dnn_grad_hook *hook);

#endif
