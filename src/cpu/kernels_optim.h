/* CPU kernel table entries of the optim area: K(OP) = cpu_fn, ... (used by backend_cpu.c). */
#ifndef DNN_CPU_KERNELS_OPTIM_H
#define DNN_CPU_KERNELS_OPTIM_H
#define DNN_CPU_KERNELS_OPTIM
#endif
