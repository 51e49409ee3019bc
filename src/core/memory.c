/* Process-wide allocation counters behind dnn.memory_stats(). */
#include "dnn.h"

static int64_t live_tensors, live_storages, allocated, peak, total_allocs;

/* Statistics, not synchronisation: relaxed load + store (plain moves) keep the
 * per-op cost of tiny tensors low.  Tensors made concurrently on several
 * threads may lose an update, which only blurs the figures. */
#define LOAD(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)
#define ADD(var, n) __atomic_store_n(&(var), LOAD(var) + (n), __ATOMIC_RELAXED)

void dnn_memory_note_alloc(size_t nbytes) {
  int64_t now = LOAD(allocated) + (int64_t)nbytes;
  __atomic_store_n(&allocated, now, __ATOMIC_RELAXED);
  ADD(live_storages, 1);
  ADD(total_allocs, 1);
  if (now > LOAD(peak)) __atomic_store_n(&peak, now, __ATOMIC_RELAXED);
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
