/* Engine-internal helpers shared by core/ and cpu/ (not part of dnn.h). */
#ifndef DNN_INTERNAL_H
#define DNN_INTERNAL_H

#include "dnn.h"

void dnn_memory_note_tensor(int delta);

/* New tensor header over a storage (retains the storage). */
dnn_tensor *dnn_tensor_wrap(dnn_storage *s, dnn_dtype dt, int ndim, const int64_t *shape,
                            const int64_t *strides, int64_t offset);
/* Fills contiguous strides for shape; returns numel. */
int64_t dnn_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
/* Checks a shape is valid (no negative sizes, numel fits); error names op. */
dnn_status dnn_check_shape(const char *op, int ndim, const int64_t *shape);
/* Same device check for n tensors; error names op. */
dnn_status dnn_check_same_device(const char *op, int n, const dnn_tensor *const *ts);

/* Values one 128-bit Philox block yields for a random op (rng.c and kernels agree). */
int dnn_rng_values_per_block(dnn_op op, dnn_dtype dt);
/* True when every stride is 0 (a broadcast scalar). */
static inline bool cpu_all_strides_zero(const dnn_tensor *t) {
  for (int i = 0; i < t->ndim; i++)
    if (t->strides[i] != 0 && t->shape[i] != 1) return false;
  return true;
}

/* Fills *v as a header of t broadcast to shape (strides 0 where expanded).
 * The header borrows t's storage: it must not outlive the call. */
void dnn_expand_header(dnn_tensor *v, const dnn_tensor *t, int ndim, const int64_t *shape);

/* BLAS layout of a (rows, cols) matrix with element strides sr, sc: row-major
 * (trans false) or column-major (trans true) with leading dimension ld. */
static inline bool dnn_blas_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc, bool *trans,
                                   int64_t *ld) {
  int64_t c1 = cols > 1 ? cols : 1, r1 = rows > 1 ? rows : 1;
  if ((sc == 1 || cols == 1) && (rows == 1 || sr >= c1)) {
    *trans = false;
    *ld = rows == 1 ? c1 : sr;
    return true;
  }
  if ((sr == 1 || rows == 1) && (cols == 1 || sc >= r1)) {
    *trans = true;
    *ld = cols == 1 ? r1 : sc;
    return true;
  }
  return false;
}

#define DNN_CHECK_NULL(x) \
  do {                    \
    if (!(x)) return NULL; \
  } while (0)

#define DNN_RETURN_IF_ERR(expr)   \
  do {                            \
    dnn_status s_ = (expr);       \
    if (s_ != DNN_OK) return s_;  \
  } while (0)

/* The iteration space of nops same-shape operands (ts[0]'s shape; the others
 * broadcast to it) with as few dims as possible: size-1 dims dropped, then
 * neighbouring dims merged wherever every operand's strides chain.  Fills
 * shape[] and strides[k][] (in elements, or in bytes when in_bytes) and
 * returns the number of dims, >= 1 (a 0-d or one-element space is one dim of
 * size 1 with stride 0).  Shared by the CPU and CUDA elementwise iterators. */
int dnn_coalesce_dims(int nops, const dnn_tensor *const *ts, bool in_bytes, int64_t *shape,
                      int64_t (*strides)[DNN_MAX_DIMS]);

#endif
