/* Sorting and counting kernels (sort, topk, bincount, unique). */
#include "backend_cpu.h"

#define TODO_KERNEL(name) \
  dnn_status name(const dnn_op_args *a) { return dnn_error(DNN_ERR_UNSUPPORTED, "%s: not implemented yet", dnn_op_name(a->op)); }
TODO_KERNEL(cpu_sort)
TODO_KERNEL(cpu_topk)
TODO_KERNEL(cpu_bincount)
TODO_KERNEL(cpu_unique)
