/* CPU kernel table entries of the nn area: K(OP) = cpu_fn, ... (used by backend_cpu.c). */
#ifndef DNN_CPU_KERNELS_NN_H
#define DNN_CPU_KERNELS_NN_H
#define DNN_CPU_KERNELS_NN
#endif
