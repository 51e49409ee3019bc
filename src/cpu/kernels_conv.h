/* CPU kernel table entries of the conv area: K(OP) = cpu_fn, ... (used by backend_cpu.c). */
#ifndef DNN_CPU_KERNELS_CONV_H
#define DNN_CPU_KERNELS_CONV_H
#define DNN_CPU_KERNELS_CONV
#endif
