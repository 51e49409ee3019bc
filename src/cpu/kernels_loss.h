/* CPU kernel table entries of the loss area: K(OP) = cpu_fn, ... (used by backend_cpu.c). */
#ifndef DNN_CPU_KERNELS_LOSS_H
#define DNN_CPU_KERNELS_LOSS_H
#define DNN_CPU_KERNELS_LOSS
#endif
