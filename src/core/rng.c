/* The global generator: Philox4x32-10, counter based.  A draw of n values
 * reserves a range of 128-bit counters, so values do not depend on how many
 * threads (or GPU blocks) fill the tensor, and the whole state is two words. */
#include "internal.h"
#include "philox.h"

static dnn_rng_state global_rng = {67280421310721ull, 0};

void dnn_manual_seed(uint64_t seed) {
  global_rng.seed = seed;
  global_rng.offset = 0;
}

dnn_rng_state dnn_get_rng_state(void) { return global_rng; }
void dnn_set_rng_state(dnn_rng_state s) { global_rng = s; }

uint64_t dnn_rng_reserve(uint64_t nblocks) {
  uint64_t first = global_rng.offset;
  global_rng.offset += nblocks;
  return first;
}

void dnn_philox(uint64_t seed, uint64_t counter, uint32_t out[4]) { dnn_philox_block(seed, counter, out); }

int dnn_rng_values_per_block(dnn_op op, dnn_dtype dt) {
  return (op == DNN_OP_NORMAL || op == DNN_OP_RANDINT || (dt == DNN_FLOAT64 && op == DNN_OP_UNIFORM)) ? 2 : 4;
}

static uint64_t blocks_for(dnn_op op, dnn_dtype dt, int64_t n) {
  int64_t per = dnn_rng_values_per_block(op, dt);
  return (uint64_t)((n + per - 1) / per);
}

static dnn_status random_fill(dnn_tensor *t, dnn_op op, double s0, double s1) {
  DNN_RETURN_IF_ERR(dnn_check_inplace(dnn_op_name(op), t));
  int64_t n = dnn_numel(t);
  dnn_op_args a = {.op = op, .s0 = s0, .s1 = s1, .seed = global_rng.seed};
  a.offset = dnn_rng_reserve(blocks_for(op, (dnn_dtype)t->dtype, n));
  if (dnn_is_contiguous(t)) {
    a.out = t;
    return dnn_dispatch(dnn_tensor_device(t), &a);
  }
  dnn_tensor *tmp = dnn_empty(t->ndim, t->shape, (dnn_dtype)t->dtype, dnn_tensor_device(t));
  if (!tmp) return dnn_error_code();
  a.out = tmp;
  dnn_status st = dnn_dispatch(dnn_tensor_device(t), &a);
  if (st == DNN_OK) st = dnn_copy_(t, tmp);
  dnn_tensor_release(tmp);
  return st;
}

dnn_status dnn_uniform_(dnn_tensor *t, double low, double high) {
  if (!dnn_dtype_is_float((dnn_dtype)t->dtype))
    return dnn_error(DNN_ERR_DTYPE, "uniform_: needs a float tensor, got %s",
                     dnn_dtype_name((dnn_dtype)t->dtype));
  if (!(low <= high)) return dnn_error(DNN_ERR_ARG, "uniform_: low %g > high %g", low, high);
  return random_fill(t, DNN_OP_UNIFORM, low, high);
}

dnn_status dnn_normal_(dnn_tensor *t, double mean, double std) {
  if (!dnn_dtype_is_float((dnn_dtype)t->dtype))
    return dnn_error(DNN_ERR_DTYPE, "normal_: needs a float tensor, got %s",
                     dnn_dtype_name((dnn_dtype)t->dtype));
  if (!(std >= 0)) return dnn_error(DNN_ERR_ARG, "normal_: std must be >= 0, got %g", std);
  return random_fill(t, DNN_OP_NORMAL, mean, std);
}

dnn_status dnn_bernoulli_(dnn_tensor *t, double p) {
  if (!(p >= 0 && p <= 1)) return dnn_error(DNN_ERR_ARG, "bernoulli: p must be in [0, 1], got %g", p);
  return random_fill(t, DNN_OP_BERNOULLI, p, 0);
}

dnn_status dnn_randint_(dnn_tensor *t, int64_t low, int64_t high) {
  if (high <= low)
    return dnn_error(DNN_ERR_ARG, "randint: high (%lld) must be greater than low (%lld)", (long long)high,
                     (long long)low);
  return random_fill(t, DNN_OP_RANDINT, (double)low, (double)high);
}

dnn_tensor *dnn_randperm(int64_t n) {
  if (n < 0) {
    dnn_error(DNN_ERR_ARG, "randperm: n must be >= 0, got %lld", (long long)n);
    return NULL;
  }
  dnn_tensor *t = dnn_empty(1, &n, DNN_INT64, DNN_CPU);
  DNN_CHECK_NULL(t);
  int64_t *p = dnn_data_ptr(t);
  for (int64_t i = 0; i < n; i++) p[i] = i;
  uint64_t ctr = dnn_rng_reserve((uint64_t)(n + 1) / 2);
  uint32_t r[4];
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t k = n - 1 - i; /* draw number */
    if (k % 2 == 0) dnn_philox(global_rng.seed, ctr + (uint64_t)k / 2, r);
    uint64_t bits = (k % 2 == 0) ? ((uint64_t)r[1] << 32 | r[0]) : ((uint64_t)r[3] << 32 | r[2]);
    int64_t j = (int64_t)(((unsigned __int128)bits * (uint64_t)(i + 1)) >> 64);
    int64_t tmp = p[i];
    p[i] = p[j];
    p[j] = tmp;
  }
  return t;
}
