/* Autograd nodes.  The tape arrives with the autograd issue; tensors already
 * carry grad/grad_fn, so releasing a tensor releases its node here. */
#include <stdlib.h>

#include "../core/internal.h"

void dnn_node_release(struct dnn_node *n) { free(n); }
