/* CPU kernel table entries of the optim area: K(OP) = cpu_fn, ... (used by backend_cpu.c). */
#ifndef DNN_CPU_KERNELS_OPTIM_H
#define DNN_CPU_KERNELS_OPTIM_H
dnn_status cpu_optim_update(const dnn_op_args *a); /* optim_update.c */
dnn_status cpu_optim_sqnorm(const dnn_op_args *a); /* optim_sqnorm.c */
#define DNN_CPU_KERNELS_OPTIM K(OPTIM_UPDATE) = cpu_optim_update, K(OPTIM_SQNORM) = cpu_optim_sqnorm,
#endif
