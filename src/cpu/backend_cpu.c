/* The CPU backend table.  Host memory comes from core/storage.c directly, so
 * alloc/free here only serve callers that want raw device buffers. */
#include <stdlib.h>
#include <string.h>

#include "backend_cpu.h"
#include "kernels_conv.h"
#include "kernels_loss.h"
#include "kernels_nn.h"
#include "kernels_optim.h"

static void *cpu_alloc(size_t n, dnn_device dev) {
  (void)dev;
  void *p = NULL;
  if (posix_memalign(&p, 64, n ? n : 1) != 0) {
    dnn_error(DNN_ERR_MEMORY, "out of memory allocating %zu bytes", n);
    return NULL;
  }
  return p;
}

static void cpu_free(void *p, dnn_device dev) {
  (void)dev;
  free(p);
}

static dnn_status cpu_memcpy(void *dst, const void *src, size_t n, dnn_device dev) {
  (void)dev;
  memcpy(dst, src, n);
  return DNN_OK;
}

#define K(op) [DNN_OP_##op]
static const dnn_backend cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .memcpy_h2d = cpu_memcpy,
    .memcpy_d2h = cpu_memcpy,
    .kernels = {
        K(ADD) = cpu_binary, K(SUB) = cpu_binary, K(MUL) = cpu_binary, K(DIV) = cpu_binary,
        K(POW) = cpu_binary, K(MAXIMUM) = cpu_binary, K(MINIMUM) = cpu_binary,
        K(FMOD) = cpu_binary, K(REMAINDER) = cpu_binary, K(ATAN2) = cpu_binary,
        K(EQ) = cpu_binary, K(NE) = cpu_binary, K(LT) = cpu_binary, K(LE) = cpu_binary,
        K(GT) = cpu_binary, K(GE) = cpu_binary, K(LOGICAL_AND) = cpu_binary,
        K(LOGICAL_OR) = cpu_binary, K(LOGICAL_XOR) = cpu_binary,

        K(NEG) = cpu_unary, K(ABS) = cpu_unary, K(EXP) = cpu_unary, K(LOG) = cpu_unary,
        K(LOG1P) = cpu_unary, K(EXPM1) = cpu_unary, K(SQRT) = cpu_unary, K(RSQRT) = cpu_unary,
        K(SIN) = cpu_unary, K(COS) = cpu_unary, K(TAN) = cpu_unary, K(TANH) = cpu_unary,
        K(SIGMOID) = cpu_unary, K(RELU) = cpu_unary, K(SIGN) = cpu_unary, K(FLOOR) = cpu_unary,
        K(CEIL) = cpu_unary, K(ROUND) = cpu_unary, K(TRUNC) = cpu_unary,
        K(RECIPROCAL) = cpu_unary, K(SQUARE) = cpu_unary, K(LOGICAL_NOT) = cpu_unary,
        K(ISNAN) = cpu_unary, K(ISINF) = cpu_unary, K(ERF) = cpu_unary, K(LOG2) = cpu_unary,
        K(LOG10) = cpu_unary, K(ASIN) = cpu_unary, K(ACOS) = cpu_unary, K(ATAN) = cpu_unary,
        K(SINH) = cpu_unary, K(COSH) = cpu_unary,

        K(CLAMP) = cpu_clamp, K(WHERE) = cpu_where, K(FILL) = cpu_fill, K(COPY) = cpu_copy,

        K(SUM) = cpu_reduce, K(MEAN) = cpu_reduce, K(PROD) = cpu_reduce, K(MAX) = cpu_reduce,
        K(MIN) = cpu_reduce, K(ARGMAX) = cpu_reduce, K(ARGMIN) = cpu_reduce, K(VAR) = cpu_reduce,
        K(ALL) = cpu_reduce, K(ANY) = cpu_reduce, K(LOGSUMEXP) = cpu_reduce,
        K(CUMSUM) = cpu_cumulative, K(CUMPROD) = cpu_cumulative,

        K(MATMUL) = cpu_matmul,

        K(GATHER) = cpu_gather, K(SCATTER) = cpu_scatter, K(SCATTER_ADD) = cpu_scatter,
        K(INDEX_SELECT) = cpu_index_select, K(INDEX_ADD) = cpu_index_add,
        K(MASKED_FILL) = cpu_masked_fill, K(MASKED_SELECT) = cpu_masked_select,
        K(MASKED_SCATTER) = cpu_masked_scatter, K(SORT) = cpu_sort, K(TOPK) = cpu_topk,
        K(BINCOUNT) = cpu_bincount, K(UNIQUE) = cpu_unique, K(ONE_HOT) = cpu_one_hot,

        K(UNIFORM) = cpu_random, K(NORMAL) = cpu_random, K(BERNOULLI) = cpu_random,
        K(RANDINT) = cpu_random,

        DNN_CPU_KERNELS_CONV DNN_CPU_KERNELS_NN DNN_CPU_KERNELS_LOSS DNN_CPU_KERNELS_OPTIM
    }};

void dnn_cpu_backend_init(void) { dnn_backend_register(DNN_DEVICE_CPU, &cpu_backend); }

/* For the C tests: every op has a CPU kernel. */
int dnn_cpu_backend_missing_ops(void) {
  int missing = 0;
  for (int i = 0; i < DNN_OP_COUNT; i++)
    if (!cpu_backend.kernels[i]) missing++;
  return missing;
}
