/* Tensor headers: creation, refcounting, element access. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int64_t dnn_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
  int64_t n = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    strides[i] = n;
    n *= shape[i];
  }
  return n;
}

dnn_status dnn_check_shape(const char *op, int ndim, const int64_t *shape) {
  char buf[200];
  if (ndim < 0 || ndim > DNN_MAX_DIMS)
    return dnn_error(DNN_ERR_SHAPE, "%s: %d dims requested, at most %d are supported", op, ndim,
                     DNN_MAX_DIMS);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return dnn_error(DNN_ERR_SHAPE, "%s: negative size %lld in shape %s", op,
                       (long long)shape[i], dnn_shape_str(ndim, shape, buf));
    if (shape[i] && n > INT64_MAX / 16 / shape[i])
      return dnn_error(DNN_ERR_SHAPE, "%s: shape %s is too large", op, dnn_shape_str(ndim, shape, buf));
    n *= shape[i];
  }
  return DNN_OK;
}

dnn_status dnn_check_same_device(const char *op, int n, const dnn_tensor *const *ts) {
  for (int i = 1; i < n; i++) {
    if (!dnn_device_eq(ts[i]->storage->device, ts[0]->storage->device)) {
      char b0[16], b1[16];
      return dnn_error(DNN_ERR_DEVICE, "%s: tensors are on different devices (%s and %s)", op,
                       dnn_device_str(ts[0]->storage->device, b0),
                       dnn_device_str(ts[i]->storage->device, b1));
    }
  }
  return DNN_OK;
}

/* Tensor headers are recycled through a per-thread free list (see storage.c). */
#if defined(__SANITIZE_ADDRESS__)
#define HEADER_CACHE 0
#else
#define HEADER_CACHE 65536
#endif
static _Thread_local int header_count;
static _Thread_local dnn_tensor *header_list; /* linked through ->grad */

static dnn_tensor *header_pop(void) {
  dnn_tensor *t = header_list;
  if (t) {
    header_list = t->grad;
    header_count--;
  }
  return t;
}

/* A header over s; takes a new reference to s unless `steal`. */
static dnn_tensor *make_header(dnn_storage *s, dnn_dtype dt, int ndim, const int64_t *shape,
                               const int64_t *strides, int64_t offset, bool steal) {
  dnn_tensor *t = HEADER_CACHE ? header_pop() : NULL;
  if (!t) t = malloc(sizeof *t);
  if (!t) {
    dnn_error(DNN_ERR_MEMORY, "out of memory");
    return NULL;
  }
  t->refcount = 1;
  t->dtype = (int8_t)dt;
  t->ndim = (int8_t)ndim;
  t->requires_grad = false;
  for (int i = 0; i < ndim; i++) {
    t->shape[i] = shape[i];
    t->strides[i] = strides[i];
  }
  t->offset = offset;
  t->storage = s;
  t->grad = NULL;
  t->grad_fn = NULL;
  if (!steal) dnn_storage_retain(s);
  dnn_memory_note_tensor(1);
  return t;
}

dnn_tensor *dnn_tensor_wrap(dnn_storage *s, dnn_dtype dt, int ndim, const int64_t *shape,
                            const int64_t *strides, int64_t offset) {
  return make_header(s, dt, ndim, shape, strides, offset, false);
}

/* A header that takes over the caller's (only) reference to a fresh storage. */
static dnn_tensor *wrap_new_storage(dnn_storage *s, dnn_dtype dt, int ndim, const int64_t *shape,
                                    const int64_t *strides) {
  dnn_tensor *t = make_header(s, dt, ndim, shape, strides, 0, true);
  if (!t) dnn_storage_release(s);
  return t;
}

dnn_tensor *dnn_empty(int ndim, const int64_t *shape, dnn_dtype dt, dnn_device dev) {
  if (dnn_check_shape("empty", ndim, shape) != DNN_OK) return NULL;
  if ((unsigned)dt >= DNN_DTYPE_COUNT) {
    dnn_error(DNN_ERR_DTYPE, "empty: unknown dtype %d", (int)dt);
    return NULL;
  }
  int64_t strides[DNN_MAX_DIMS];
  int64_t n = dnn_contiguous_strides(ndim, shape, strides);
  dnn_storage *s = dnn_storage_new(dev, (size_t)n * dnn_dtype_size(dt));
  DNN_CHECK_NULL(s);
  return wrap_new_storage(s, dt, ndim, shape, strides);
}

dnn_tensor *dnn_full(int ndim, const int64_t *shape, double value, dnn_dtype dt, dnn_device dev) {
  dnn_tensor *t = dnn_empty(ndim, shape, dt, dev);
  DNN_CHECK_NULL(t);
  if (dnn_fill_(t, value) != DNN_OK) {
    dnn_tensor_release(t);
    return NULL;
  }
  return t;
}

dnn_tensor *dnn_zeros(int ndim, const int64_t *shape, dnn_dtype dt, dnn_device dev) {
  dnn_tensor *t = dnn_empty(ndim, shape, dt, dev);
  DNN_CHECK_NULL(t);
  if (dev.type == DNN_DEVICE_CPU) {
    memset(t->storage->data, 0, t->storage->nbytes);
  } else if (dnn_fill_(t, 0) != DNN_OK) {
    dnn_tensor_release(t);
    return NULL;
  }
  return t;
}

dnn_tensor *dnn_scalar(double value, dnn_dtype dt) { return dnn_full(0, NULL, value, dt, DNN_CPU); }

void dnn_tensor_retain(dnn_tensor *t) { __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED); }

void dnn_node_release(struct dnn_node *n); /* autograd/ */

/* A count of 1 means no other holder exists (nobody else could be adding a
 * reference), so the last release skips the atomic read-modify-write. */
static inline bool drop_ref(int *rc) {
  if (__atomic_load_n(rc, __ATOMIC_ACQUIRE) == 1) return true;
  return __atomic_sub_fetch(rc, 1, __ATOMIC_ACQ_REL) == 0;
}

void dnn_tensor_release(dnn_tensor *t) {
  if (!t || !drop_ref(&t->refcount)) return;
  dnn_storage_release(t->storage);
  if (t->grad) dnn_tensor_release(t->grad);
  if (t->grad_fn) dnn_node_release(t->grad_fn);
  dnn_memory_note_tensor(-1);
  if (HEADER_CACHE && header_count < HEADER_CACHE) {
    t->grad = header_list;
    header_list = t;
    header_count++;
  } else {
    free(t);
  }
}

size_t dnn_tensor_nbytes(const dnn_tensor *t) { return t->storage->nbytes; }

int64_t dnn_numel(const dnn_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

bool dnn_is_contiguous(const dnn_tensor *t) {
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] == 1) continue;
    if (t->strides[i] != expect) return false;
    expect *= t->shape[i];
  }
  return true;
}

/* ---- element access on the host (REPL printing, item(), t[i]) ---- */

static int64_t flat_to_offset(const dnn_tensor *t, int64_t i) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    int64_t sz = t->shape[d];
    off += (i % sz) * t->strides[d];
    i /= sz;
  }
  return off;
}

static double load_as_double(const void *base, dnn_dtype dt, int64_t off) {
  switch (dt) {
    case DNN_FLOAT32: return ((const float *)base)[off];
    case DNN_FLOAT64: return ((const double *)base)[off];
    case DNN_INT32: return ((const int32_t *)base)[off];
    case DNN_INT64: return (double)((const int64_t *)base)[off];
    case DNN_UINT8: return ((const uint8_t *)base)[off];
    case DNN_BOOL: return ((const uint8_t *)base)[off] != 0;
    case DNN_FLOAT16: return dnn_f16_to_f32(((const uint16_t *)base)[off]);
    case DNN_BFLOAT16: return dnn_bf16_to_f32(((const uint16_t *)base)[off]);
    default: return NAN;
  }
}

static int64_t at_offset(const dnn_tensor *t, const int64_t *index) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += index[d] * t->strides[d];
  return off;
}

double dnn_get_flat(const dnn_tensor *t, int64_t i) {
  return load_as_double(t->storage->data, (dnn_dtype)t->dtype, flat_to_offset(t, i));
}

double dnn_get_at(const dnn_tensor *t, const int64_t *index) {
  return load_as_double(t->storage->data, (dnn_dtype)t->dtype, at_offset(t, index));
}

int64_t dnn_get_at_int(const dnn_tensor *t, const int64_t *index) {
  int64_t off = at_offset(t, index);
  switch ((dnn_dtype)t->dtype) {
    case DNN_INT64: return ((const int64_t *)t->storage->data)[off];
    case DNN_INT32: return ((const int32_t *)t->storage->data)[off];
    default: return (int64_t)load_as_double(t->storage->data, (dnn_dtype)t->dtype, off);
  }
}

void dnn_set_at(dnn_tensor *t, const int64_t *index, double v) {
  int64_t off = at_offset(t, index);
  void *base = t->storage->data;
  switch ((dnn_dtype)t->dtype) {
    case DNN_FLOAT32: ((float *)base)[off] = (float)v; break;
    case DNN_FLOAT64: ((double *)base)[off] = v; break;
    case DNN_INT32: ((int32_t *)base)[off] = (int32_t)v; break;
    case DNN_INT64: ((int64_t *)base)[off] = (int64_t)v; break;
    case DNN_UINT8: ((uint8_t *)base)[off] = (uint8_t)(int64_t)v; break;
    case DNN_BOOL: ((uint8_t *)base)[off] = v != 0; break;
    case DNN_FLOAT16: ((uint16_t *)base)[off] = dnn_f32_to_f16((float)v); break;
    case DNN_BFLOAT16: ((uint16_t *)base)[off] = dnn_f32_to_bf16((float)v); break;
    default: break;
  }
}
