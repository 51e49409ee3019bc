/* The CPU backend's kernels (one per op family); backend_cpu.c tables them. */
#ifndef DNN_BACKEND_CPU_H
#define DNN_BACKEND_CPU_H

#include "../core/internal.h"

dnn_status cpu_copy(const dnn_op_args *a);
dnn_status cpu_fill(const dnn_op_args *a);
dnn_status cpu_binary(const dnn_op_args *a);
dnn_status cpu_unary(const dnn_op_args *a);
dnn_status cpu_clamp(const dnn_op_args *a);
dnn_status cpu_where(const dnn_op_args *a);
dnn_status cpu_reduce(const dnn_op_args *a);
dnn_status cpu_cumulative(const dnn_op_args *a);
dnn_status cpu_matmul(const dnn_op_args *a);
dnn_status cpu_random(const dnn_op_args *a);
/* indexing (cpu/index.c) */
dnn_status cpu_gather(const dnn_op_args *a);
dnn_status cpu_scatter(const dnn_op_args *a);
dnn_status cpu_index_select(const dnn_op_args *a);
dnn_status cpu_index_add(const dnn_op_args *a);
dnn_status cpu_masked_fill(const dnn_op_args *a);
dnn_status cpu_masked_select(const dnn_op_args *a);
dnn_status cpu_masked_scatter(const dnn_op_args *a);
dnn_status cpu_one_hot(const dnn_op_args *a);
/* sorting and counting (cpu/sort.c) */
dnn_status cpu_sort(const dnn_op_args *a);
dnn_status cpu_topk(const dnn_op_args *a);
dnn_status cpu_bincount(const dnn_op_args *a);
dnn_status cpu_unique(const dnn_op_args *a);

bool cpu_binary_supports(dnn_op op, dnn_dtype dt);
bool cpu_unary_supports(dnn_op op, dnn_dtype dt);

#endif
