/* Process-wide allocation counters behind dnn.memory_stats(). */
#include "dnn.h"

static int64_t live_tensors, live_storages, allocated, peak, total_allocs;

#define ADD(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define LOAD(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

void dnn_memory_note_alloc(size_t nbytes) {
  int64_t now = ADD(allocated, (int64_t)nbytes);
  ADD(live_storages, 1);
  ADD(total_allocs, 1);
  int64_t p = LOAD(peak);
  while (now > p && !__atomic_compare_exchange_n(&peak, &p, now, false, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED)) {
  }
}

void dnn_memory_note_free(size_t nbytes) {
  ADD(allocated, -(int64_t)nbytes);
  ADD(live_storages, -1);
}

void dnn_memory_note_tensor(int delta) { ADD(live_tensors, delta); }

dnn_memory_stats dnn_get_memory_stats(void) {
  dnn_memory_stats s = {LOAD(live_tensors), LOAD(live_storages), LOAD(allocated), LOAD(peak),
                        LOAD(total_allocs)};
  return s;
}
