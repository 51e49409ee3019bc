/* Front ends of indexing ops (gather, scatter, index_select, masks, one_hot,
 * cat/stack, sort/topk, bincount, unique). */
#include "internal.h"

#define TODO(ret, sig) \
  ret sig {            \
    dnn_error(DNN_ERR_UNSUPPORTED, "not implemented yet"); \
    return 0;          \
  }
TODO(dnn_tensor *, dnn_gather(const dnn_tensor *t, int dim, const dnn_tensor *index))
TODO(dnn_tensor *, dnn_scatter(const dnn_tensor *t, int dim, const dnn_tensor *index, const dnn_tensor *src, bool add))
TODO(dnn_tensor *, dnn_index_select(const dnn_tensor *t, int dim, const dnn_tensor *index))
TODO(dnn_tensor *, dnn_masked_fill(const dnn_tensor *t, const dnn_tensor *mask, double value))
TODO(dnn_tensor *, dnn_masked_select(const dnn_tensor *t, const dnn_tensor *mask))
TODO(dnn_tensor *, dnn_one_hot(const dnn_tensor *labels, int64_t num_classes))
TODO(dnn_tensor *, dnn_cat(int n, dnn_tensor *const *ts, int dim))
TODO(dnn_tensor *, dnn_stack(int n, dnn_tensor *const *ts, int dim))
TODO(dnn_status, dnn_sort(const dnn_tensor *t, int dim, bool descending, dnn_tensor **values, dnn_tensor **indices))
TODO(dnn_status, dnn_topk(const dnn_tensor *t, int64_t k, int dim, bool largest, dnn_tensor **values, dnn_tensor **indices))
TODO(dnn_tensor *, dnn_bincount(const dnn_tensor *t, const dnn_tensor *weights, int64_t minlength))
TODO(dnn_status, dnn_unique(const dnn_tensor *t, dnn_tensor **values, dnn_tensor **inverse, dnn_tensor **counts))
