/* Indexing ops that dnn.h does not declare yet (index_add, masked_scatter,
 * in-place masked_fill, nonzero), and the helpers the indexing front ends
 * share.  The public declarations belong in dnn.h's "indexing ops" section;
 * they live here until that file's owner moves them. */
#ifndef DNN_OPS_INDEX_H
#define DNN_OPS_INDEX_H

#include "internal.h"

/* ---- public (to move into dnn.h); indices are 0-based ---- */
/* t with src's slices added at index along dim (PyTorch index_add). */
dnn_tensor *dnn_index_add(const dnn_tensor *t, int dim, const dnn_tensor *index,
                          const dnn_tensor *src);
/* t with the masked positions (row-major order) taken from source in order. */
dnn_tensor *dnn_masked_scatter(const dnn_tensor *t, const dnn_tensor *mask,
                               const dnn_tensor *source);
/* In place: mask must broadcast to t's shape. */
dnn_status dnn_masked_fill_(dnn_tensor *t, const dnn_tensor *mask, double value);
/* int64 (n, ndim): 0-based coordinates of the non-zero elements, row-major. */
dnn_tensor *dnn_nonzero(const dnn_tensor *t);

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
