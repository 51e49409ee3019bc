/* CPU kernel table entries of the loss area: K(OP) = cpu_fn, ... (used by backend_cpu.c). */
#ifndef DNN_CPU_KERNELS_LOSS_H
#define DNN_CPU_KERNELS_LOSS_H

#include "../core/internal.h"

/* cpu/loss_xent.c: the fused crossentropies, all three families */
dnn_status cpu_xent_forward(const dnn_op_args *a);
dnn_status cpu_xent_backward(const dnn_op_args *a);

#define DNN_CPU_KERNELS_LOSS                                                                 \
  K(CATEGORICAL_CROSSENTROPY) = cpu_xent_forward, K(CATEGORICAL_CROSSENTROPY_BACKWARD) = cpu_xent_backward, \
  K(SPARSE_CATEGORICAL_CROSSENTROPY) = cpu_xent_forward,                                    \
  K(SPARSE_CATEGORICAL_CROSSENTROPY_BACKWARD) = cpu_xent_backward,                          \
  K(BINARY_CROSSENTROPY) = cpu_xent_forward, K(BINARY_CROSSENTROPY_BACKWARD) = cpu_xent_backward,
#endif
