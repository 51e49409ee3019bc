/* Helpers the indexing front ends (ops_index.c, ops_join.c, ops_sort.c) share. */
#ifndef DNN_OPS_INDEX_H
#define DNN_OPS_INDEX_H

#include "internal.h"

/* ---- shared by ops_index.c, ops_join.c and ops_sort.c ---- */
/* Error unless t holds integers (not bool, not float); role names it ("index"). */
dnn_status dnn_index_check_dtype(const char *op, const char *role, const dnn_tensor *t);
/* Reads a one-element tensor of any dtype and device as int64 / double. */
dnn_status dnn_read_i64(const dnn_tensor *t, int64_t *v);
/* Min and max of an integer tensor with numel > 0. */
dnn_status dnn_index_minmax(const dnn_tensor *t, int64_t *lo, int64_t *hi);
/* Error unless every value of idx lies in [0, size); dim (0-based) is for the message. */
dnn_status dnn_index_check_range(const char *op, const dnn_tensor *idx, int dim, int64_t size);

#endif
