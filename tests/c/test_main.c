/* C unit tests of the engine (no Lua): prints TAP-like "ok"/"not ok" lines. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dnn.h"

static int failures, count;

#define CHECK(cond, name)                                               \
  do {                                                                  \
    count++;                                                            \
    if (cond) {                                                         \
      printf("ok %d - %s\n", count, name);                              \
    } else {                                                            \
      failures++;                                                       \
      printf("not ok %d - %s (%s:%d: %s)\n", count, name, __FILE__, __LINE__, #cond); \
    }                                                                   \
  } while (0)

int dnn_cpu_backend_missing_ops(void);

static void test_backend_table(void) {
  CHECK(dnn_cpu_backend_missing_ops() == 0, "every op has a CPU kernel");
  CHECK(strcmp(dnn_op_name(DNN_OP_MATMUL), "matmul") == 0, "op names are lower case");
}

static void test_views_share_storage(void) {
  int64_t shape[2] = {3, 4};
  dnn_tensor *t = dnn_zeros(2, shape, DNN_FLOAT32, DNN_CPU);
  dnn_tensor *tr = dnn_transpose(t, 0, 1);
  int64_t idx[2] = {1, 2};
  dnn_set_at(tr, idx, 5.0);
  int64_t back[2] = {2, 1};
  CHECK(dnn_get_at(t, back) == 5.0, "transpose writes through to the base");
  CHECK(!dnn_is_contiguous(tr), "a transposed view is not contiguous");
  dnn_tensor_release(t);
  CHECK(dnn_get_at(tr, idx) == 5.0, "a view keeps its storage alive");
  dnn_tensor_release(tr);
}

static void test_errors_before_allocation(void) {
  dnn_memory_stats before = dnn_get_memory_stats();
  int64_t a[2] = {2, 3}, b[2] = {4, 5};
  dnn_tensor *x = dnn_zeros(2, a, DNN_FLOAT32, DNN_CPU), *y = dnn_zeros(2, b, DNN_FLOAT32, DNN_CPU);
  dnn_tensor *z = dnn_binary(DNN_OP_ADD, x, y);
  CHECK(z == NULL, "add of [2,3] and [4,5] fails");
  CHECK(strstr(dnn_error_message(), "[2,3]") && strstr(dnn_error_message(), "[4,5]"), "the error names both shapes");
  dnn_tensor_release(x);
  dnn_tensor_release(y);
  dnn_memory_stats after = dnn_get_memory_stats();
  CHECK(after.live_tensors == before.live_tensors && after.allocated_bytes == before.allocated_bytes,
        "a failed op leaks nothing");
}

static void test_rng_independent_of_threads(void) {
  int64_t n = 200000;
  dnn_tensor *a = dnn_empty(1, &n, DNN_FLOAT32, DNN_CPU), *b = dnn_empty(1, &n, DNN_FLOAT32, DNN_CPU);
  dnn_set_num_threads(1);
  dnn_manual_seed(7);
  dnn_normal_(a, 0, 1);
  dnn_set_num_threads(2);
  dnn_manual_seed(7);
  dnn_normal_(b, 0, 1);
  CHECK(memcmp(dnn_data_ptr(a), dnn_data_ptr(b), (size_t)n * 4) == 0, "normal_ gives the same values on 1 and 2 threads");
  dnn_tensor_release(a);
  dnn_tensor_release(b);
}

static void test_sum_matches_loop(void) {
  int64_t n = 1000003;
  dnn_tensor *t = dnn_empty(1, &n, DNN_FLOAT64, DNN_CPU);
  dnn_manual_seed(1);
  dnn_uniform_(t, -1, 1);
  double ref = 0;
  const double *p = dnn_data_ptr(t);
  for (int64_t i = 0; i < n; i++) ref += p[i];
  dnn_tensor *s = dnn_reduce(DNN_OP_SUM, t, 0, NULL, false);
  int64_t z[1] = {0};
  CHECK(fabs(dnn_get_at(s, z) - ref) < 1e-9 * n, "threaded sum agrees with a serial loop");
  dnn_tensor_release(s);
  dnn_tensor_release(t);
}

int main(void) {
  test_backend_table();
  test_views_share_storage();
  test_errors_before_allocation();
  test_rng_independent_of_threads();
  test_sum_matches_loop();
  printf("# %d tests, %d failures\n", count, failures);
  return failures != 0;
}
