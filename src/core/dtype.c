/* dtypes, promotion and device names. */
#include <stdio.h>
#include <string.h>

#include "dnn.h"

const dnn_device DNN_CPU = {DNN_DEVICE_CPU, 0};

static const size_t dtype_sizes[] = {4, 8, 4, 8, 1, 1};
static const char *const dtype_names[] = {"float32", "float64", "int32", "int64", "uint8", "bool"};
_Static_assert(sizeof dtype_sizes / sizeof dtype_sizes[0] == DNN_DTYPE_COUNT, "dtype table");
_Static_assert(sizeof dtype_names / sizeof dtype_names[0] == DNN_DTYPE_COUNT, "dtype table");

size_t dnn_dtype_size(dnn_dtype dt) { return dt < DNN_DTYPE_COUNT ? dtype_sizes[dt] : 0; }
const char *dnn_dtype_name(dnn_dtype dt) { return dt < DNN_DTYPE_COUNT ? dtype_names[dt] : "?"; }
bool dnn_dtype_is_float(dnn_dtype dt) { return dt == DNN_FLOAT32 || dt == DNN_FLOAT64; }

int dnn_dtype_from_name(const char *name) {
  static const struct { const char *name; dnn_dtype dt; } aliases[] = {
      {"float32", DNN_FLOAT32}, {"float", DNN_FLOAT32},  {"f32", DNN_FLOAT32},
      {"float64", DNN_FLOAT64}, {"double", DNN_FLOAT64}, {"f64", DNN_FLOAT64},
      {"int32", DNN_INT32},     {"int", DNN_INT32},      {"i32", DNN_INT32},
      {"int64", DNN_INT64},     {"long", DNN_INT64},     {"i64", DNN_INT64},
      {"uint8", DNN_UINT8},     {"byte", DNN_UINT8},     {"u8", DNN_UINT8},
      {"bool", DNN_BOOL},       {"boolean", DNN_BOOL},
  };
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(name, aliases[i].name) == 0) return (int)aliases[i].dt;
  return -1;
}

/* Rank in the promotion lattice (PyTorch's category order). */
static int dtype_rank(dnn_dtype dt) {
  switch (dt) {
    case DNN_BOOL: return 0;
    case DNN_UINT8: return 1;
    case DNN_INT32: return 2;
    case DNN_INT64: return 3;
    case DNN_FLOAT32: return 4;
    case DNN_FLOAT64: return 5;
    default: return -1;
  }
}

dnn_dtype dnn_dtype_promote(dnn_dtype a, dnn_dtype b) { return dtype_rank(a) >= dtype_rank(b) ? a : b; }

const char *dnn_device_str(dnn_device d, char *buf) {
  if (d.type == DNN_DEVICE_CPU)
    strcpy(buf, "cpu");
  else
    snprintf(buf, 16, "cuda:%d", d.index);
  return buf;
}

const char *dnn_shape_str(int ndim, const int64_t *shape, char *buf) {
  size_t n = 0;
  buf[n++] = '[';
  for (int i = 0; i < ndim && n < 180; i++)
    n += (size_t)snprintf(buf + n, 200 - n, i ? ",%lld" : "%lld", (long long)shape[i]);
  buf[n++] = ']';
  buf[n] = 0;
  return buf;
}

int dnn_wrap_dim(const char *op, int64_t dim, int ndim) {
  int64_t n = ndim == 0 ? 1 : ndim; /* a 0-d tensor accepts dim 0 / -1 */
  if (dim < -n || dim >= n) {
    dnn_error(DNN_ERR_INDEX, "%s: dim %lld out of range for a %d-d tensor (dims are 1..%d or -%d..-1)",
              op, (long long)(dim >= 0 ? dim + 1 : dim), ndim, (int)n, (int)n);
    return -1;
  }
  return (int)(dim < 0 ? dim + n : dim);
}
