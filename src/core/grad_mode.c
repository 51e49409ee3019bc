/* Whether ops record for autograd, and the guard every in-place write passes:
 * core ops consult both, so they live here rather than in autograd/. */
#include "internal.h"

static _Thread_local bool grad_mode = true;

bool dnn_grad_enabled(void) { return grad_mode; }

bool dnn_set_grad_enabled(bool on) {
  bool prev = grad_mode;
  grad_mode = on;
  return prev;
}

dnn_status dnn_check_inplace(const char *op, dnn_tensor *t) {
  /* The graph records values, not histories of writes: an in-place write to a
   * tensor in the graph is refused (a leaf's update belongs in dnn.no_grad). */
  if (grad_mode && t->requires_grad)
    return dnn_error(DNN_ERR_ARG,
                     "%s: in-place operation on a tensor that requires grad (%s); wrap parameter "
                     "updates in dnn.no_grad, or use the out-of-place form",
                     op, t->grad_fn ? "the result of another op" : "a leaf");
  t->storage->version++;
  return DNN_OK;
}
