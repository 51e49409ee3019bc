/* The per-device backend table: ops reach kernels only through here, so a
 * new device (cuda/) registers itself without touching callers. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const op_names[] = {
#define DNN_X_NAME(name) #name,
    DNN_OP_LIST(DNN_X_NAME)
#undef DNN_X_NAME
};
_Static_assert(sizeof op_names / sizeof op_names[0] == DNN_OP_COUNT, "op name table out of date");

static const dnn_backend *backends[DNN_DEVICE_TYPE_COUNT];

const char *dnn_op_name(dnn_op op) {
  static char lower[DNN_OP_COUNT][48];
  if ((unsigned)op >= DNN_OP_COUNT) return "?";
  if (!lower[op][0]) {
    char tmp[48];
    size_t i = 0;
    for (; op_names[op][i] && i < sizeof tmp - 1; i++)
      tmp[i] = (char)(op_names[op][i] >= 'A' && op_names[op][i] <= 'Z' ? op_names[op][i] + 32
                                                                         : op_names[op][i]);
    tmp[i] = 0;
    memcpy(lower[op], tmp, sizeof tmp);
  }
  return lower[op];
}

void dnn_backend_register(dnn_device_type type, const dnn_backend *b) {
  if ((unsigned)type < DNN_DEVICE_TYPE_COUNT) backends[type] = b;
}

void dnn_cpu_backend_init(void); /* cpu/backend_cpu.c */

const dnn_backend *dnn_backend_get(dnn_device dev) {
  if ((unsigned)dev.type >= DNN_DEVICE_TYPE_COUNT) return NULL;
  if (!backends[DNN_DEVICE_CPU]) dnn_cpu_backend_init();
  return backends[dev.type];
}

/* ---- float16 / bfloat16 ----
 * The half types are storage types.  Kernels that take them directly are
 * listed here; every other kernel gets float32 copies of its half operands
 * and its half results are rounded back from float32 -- what PyTorch's CPU
 * kernels do inside (opmath = float), at the cost of a conversion pass.  So no
 * kernel table indexed by dtype ever sees a half tensor it was not written for. */
static bool half_native(dnn_device_type type, dnn_op op) {
  if (op == DNN_OP_COPY || op == DNN_OP_FILL) return true;
  /* cuda/binary.cu and unary.cu widen half operands to float32 in registers;
   * cuda/matmul.cu hands them to cublasGemmEx with float32 accumulation */
  if (type == DNN_DEVICE_CUDA)
    return (op >= DNN_OP_ADD && op <= DNN_OP_GE) || (op >= DNN_OP_NEG && op <= DNN_OP_COSH) || op == DNN_OP_MATMUL;
  return false;
}

static bool is_half(const dnn_tensor *t) { return t && dnn_dtype_is_half((dnn_dtype)t->dtype); }

static bool has_half(const dnn_op_args *a) {
  if (is_half(a->out) || is_half(a->out2)) return true;
  for (int i = 0; i < a->n_in && i < 4; i++)
    if (is_half(a->in[i])) return true;
  return false;
}

/* A float32 copy of t, made compact (a broadcast dim is copied once) and
 * re-expanded into the header *h, which borrows the returned tensor. */
static dnn_tensor *widen(const dnn_backend *b, dnn_device dev, const dnn_tensor *t, dnn_tensor *h) {
  dnn_tensor src = *t;
  for (int d = 0; d < t->ndim; d++)
    if (t->strides[d] == 0) src.shape[d] = 1;
  dnn_tensor *w = dnn_empty(src.ndim, src.shape, DNN_FLOAT32, dev);
  DNN_CHECK_NULL(w);
  dnn_op_args c = {.op = DNN_OP_COPY, .out = w, .in = {&src}, .n_in = 1};
  if (b->kernels[DNN_OP_COPY](&c) != DNN_OK) {
    dnn_tensor_release(w);
    return NULL;
  }
  *h = *w;
  for (int d = 0; d < t->ndim; d++) {
    h->shape[d] = t->shape[d];
    if (t->strides[d] == 0) h->strides[d] = 0;
  }
  return w;
}

static dnn_status narrow_back(const dnn_backend *b, dnn_tensor *dst, const dnn_tensor *h) {
  dnn_op_args c = {.op = DNN_OP_COPY, .out = dst, .in = {h}, .n_in = 1};
  return b->kernels[DNN_OP_COPY](&c);
}

static dnn_status dispatch_via_float32(const dnn_backend *b, dnn_device dev, const dnn_op_args *a) {
  dnn_op_args f = *a;
  dnn_tensor *owned[6] = {0}, hdr[6];
  dnn_status st = DNN_OK;
  for (int i = 0; i < a->n_in && i < 4 && st == DNN_OK; i++)
    if (is_half(a->in[i])) {
      if (!(owned[i] = widen(b, dev, a->in[i], &hdr[i]))) st = dnn_error_code();
      f.in[i] = &hdr[i];
    }
  /* outputs keep their values: some kernels add into them (index_add, scatter) */
  if (st == DNN_OK && is_half(a->out)) {
    if (!(owned[4] = widen(b, dev, a->out, &hdr[4]))) st = dnn_error_code();
    f.out = &hdr[4];
  }
  if (st == DNN_OK && is_half(a->out2)) {
    if (!(owned[5] = widen(b, dev, a->out2, &hdr[5]))) st = dnn_error_code();
    f.out2 = &hdr[5];
  }
  if (st == DNN_OK) st = b->kernels[a->op](&f);
  if (st == DNN_OK && owned[4]) st = narrow_back(b, a->out, &hdr[4]);
  if (st == DNN_OK && owned[5]) st = narrow_back(b, a->out2, &hdr[5]);
  for (int i = 0; i < 6; i++) dnn_tensor_release(owned[i]);
  return st;
}

dnn_status dnn_dispatch(dnn_device dev, const dnn_op_args *a) {
  const dnn_backend *b = dnn_backend_get(dev);
  char buf[16];
  if (!b)
    return dnn_error(DNN_ERR_DEVICE, "%s: device %s is not available in this build", dnn_op_name(a->op),
                     dnn_device_str(dev, buf));
  if (!b->kernels[a->op])
    return dnn_error(DNN_ERR_UNSUPPORTED, "%s: not implemented on %s", dnn_op_name(a->op), b->name);
  if (has_half(a) && !half_native((dnn_device_type)dev.type, a->op)) {
    if (!b->kernels[DNN_OP_COPY])
      return dnn_error(DNN_ERR_DTYPE, "%s: float16/bfloat16 are not supported on %s (convert with :float())",
                       dnn_op_name(a->op), b->name);
    return dispatch_via_float32(b, dev, a);
  }
  return b->kernels[a->op](a);
}
