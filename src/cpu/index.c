/* Indexing kernels (gather, scatter, index_select, masks, one_hot). */
#include "backend_cpu.h"

#define TODO_KERNEL(name) \
  dnn_status name(const dnn_op_args *a) { return dnn_error(DNN_ERR_UNSUPPORTED, "%s: not implemented yet", dnn_op_name(a->op)); }
TODO_KERNEL(cpu_gather)
TODO_KERNEL(cpu_scatter)
TODO_KERNEL(cpu_index_select)
TODO_KERNEL(cpu_index_add)
TODO_KERNEL(cpu_masked_fill)
TODO_KERNEL(cpu_masked_select)
TODO_KERNEL(cpu_masked_scatter)
TODO_KERNEL(cpu_one_hot)
