/* CPU kernel table entries of the nn area: K(OP) = cpu_fn, ... (used by backend_cpu.c).
 * Argument blocks are described in src/dnn/nn.h; every tensor is contiguous. */
#ifndef DNN_CPU_KERNELS_NN_H
#define DNN_CPU_KERNELS_NN_H

#include "../core/internal.h"

dnn_status cpu_nn_activation(const dnn_op_args *a);          /* nn_activation.c */
dnn_status cpu_nn_activation_backward(const dnn_op_args *a);
dnn_status cpu_nn_softmax(const dnn_op_args *a);             /* nn_softmax.c */
dnn_status cpu_nn_softmax_backward(const dnn_op_args *a);
dnn_status cpu_nn_linear(const dnn_op_args *a);              /* nn_linear.c */
dnn_status cpu_nn_linear_backward(const dnn_op_args *a);
dnn_status cpu_nn_linear_kernel_grad(const dnn_op_args *a);
dnn_status cpu_nn_batch_norm_stats(const dnn_op_args *a);    /* nn_norm.c */
dnn_status cpu_nn_batch_norm(const dnn_op_args *a);
dnn_status cpu_nn_batch_norm_backward(const dnn_op_args *a);
dnn_status cpu_nn_layer_norm(const dnn_op_args *a);
dnn_status cpu_nn_layer_norm_backward(const dnn_op_args *a);
dnn_status cpu_nn_dropout(const dnn_op_args *a);             /* nn_dropout.c */
dnn_status cpu_nn_embedding(const dnn_op_args *a);           /* nn_embedding.c */
dnn_status cpu_nn_embedding_backward(const dnn_op_args *a);

#define DNN_CPU_KERNELS_NN                                                                \
  K(ACTIVATION) = cpu_nn_activation, K(ACTIVATION_BACKWARD) = cpu_nn_activation_backward,  \
  K(SOFTMAX) = cpu_nn_softmax, K(SOFTMAX_BACKWARD) = cpu_nn_softmax_backward,              \
  K(LINEAR) = cpu_nn_linear, K(LINEAR_BACKWARD) = cpu_nn_linear_backward,                  \
  K(LINEAR_KERNEL_GRAD) = cpu_nn_linear_kernel_grad,                                       \
  K(BATCH_NORM_STATS) = cpu_nn_batch_norm_stats, K(BATCH_NORM) = cpu_nn_batch_norm,        \
  K(BATCH_NORM_BACKWARD) = cpu_nn_batch_norm_backward, K(LAYER_NORM) = cpu_nn_layer_norm,  \
  K(LAYER_NORM_BACKWARD) = cpu_nn_layer_norm_backward, K(DROPOUT) = cpu_nn_dropout,        \
  K(EMBEDDING) = cpu_nn_embedding, K(EMBEDDING_BACKWARD) = cpu_nn_embedding_backward,
#endif
