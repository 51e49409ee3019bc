/* Refcounted storage.  On the CPU the header and the data share one 64-byte
 * aligned block, so a fresh tensor costs one allocation for its bytes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HEADER_BYTES ((sizeof(dnn_storage) + 63) & ~(size_t)63)

/* Small blocks are recycled through per-thread free lists by size class:
 * per-op costs on tiny tensors are dominated by malloc/free otherwise.  The Lua
 * GC frees garbage in batches of thousands, so the lists are bounded by bytes
 * (not by a small count).  Sanitizer builds skip the cache so use-after-free
 * stays detectable. */
#if defined(__SANITIZE_ADDRESS__)
#define BLOCK_CACHE 0
#else
#define BLOCK_CACHE 1
#endif
#define CACHE_CLASSES 32              /* blocks of 64 .. 2048 data bytes */
#define CACHE_MAX_BYTES (16u << 20)   /* per thread */

typedef struct free_block {
  struct free_block *next;
} free_block;

typedef struct {
  free_block *head[CACHE_CLASSES];
  size_t bytes;
} block_cache;
static _Thread_local block_cache cache;

static int size_class(size_t data_bytes) {
  size_t units = (data_bytes + 63) / 64; /* 0-byte tensors share class 0 */
  if (units > CACHE_CLASSES) return CACHE_CLASSES; /* uncached; (int) would wrap for huge sizes */
  return units < 1 ? 0 : (int)units - 1;
}

static size_t class_bytes(int cls) { return HEADER_BYTES + 64 * (size_t)(cls + 1); }

static void *cache_pop(int cls) {
  free_block *b = cache.head[cls];
  if (!b) return NULL;
  cache.head[cls] = b->next;
  cache.bytes -= class_bytes(cls);
  return b;
}

static bool cache_push(int cls, void *block) {
  if (cache.bytes + class_bytes(cls) > CACHE_MAX_BYTES) return false;
  free_block *b = block;
  b->next = cache.head[cls];
  cache.head[cls] = b;
  cache.bytes += class_bytes(cls);
  return true;
}

/* Large blocks: glibc returns freed big chunks to the kernel, so a loop of
 * large temporaries pays page faults on every fresh output.  A few recently
 * freed big blocks are kept (shared by threads, under a lock: one lock per
 * large allocation is nothing next to touching megabytes). */
#define BIG_MIN (256u << 10)
#define BIG_SLOTS 16
#define BIG_MAX_BYTES (256u << 20) /* all cached big blocks together */
#define BIG_MAX_BLOCK (32u << 20)  /* larger blocks go back to the system at once */

static struct {
  pthread_mutex_t lock;
  void *block[BIG_SLOTS];
  size_t size[BIG_SLOTS];
  int n;
  size_t bytes;
} big = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, 0, 0};

static void *big_get(size_t total) {
  void *b = NULL;
  pthread_mutex_lock(&big.lock);
  for (int i = big.n - 1; i >= 0; i--) /* newest first: its pages are warm */
    if (big.size[i] == total) {
      b = big.block[i];
      big.bytes -= total;
      big.block[i] = big.block[big.n - 1];
      big.size[i] = big.size[big.n - 1];
      big.n--;
      break;
    }
  pthread_mutex_unlock(&big.lock);
  return b;
}

static bool big_put(void *block, size_t total) {
  if (!BLOCK_CACHE || total > BIG_MAX_BLOCK) return false;
  void *evict = NULL;
  pthread_mutex_lock(&big.lock);
  if (big.n == BIG_SLOTS || big.bytes + total > BIG_MAX_BYTES) { /* drop the oldest */
    evict = big.block[0];
    big.bytes -= big.size[0];
    for (int i = 1; i < big.n; i++) big.block[i - 1] = big.block[i], big.size[i - 1] = big.size[i];
    big.n--;
  }
  big.block[big.n] = block;
  big.size[big.n++] = total;
  big.bytes += total;
  pthread_mutex_unlock(&big.lock);
  free(evict);
  return true;
}

static size_t block_total(size_t nbytes) { return HEADER_BYTES + ((nbytes + 4095) & ~(size_t)4095); }

dnn_storage *dnn_storage_new(dnn_device dev, size_t nbytes) {
  dnn_storage *s;
  if (dev.type == DNN_DEVICE_CPU) {
    void *block = NULL;
    size_t total = HEADER_BYTES + ((nbytes + 63) & ~(size_t)63);
    int cls = size_class(nbytes);
    if (BLOCK_CACHE && cls < CACHE_CLASSES) {
      block = cache_pop(cls);
      total = class_bytes(cls); /* cached blocks are allocated at class size */
    } else if (BLOCK_CACHE && nbytes >= BIG_MIN) {
      total = block_total(nbytes); /* page-rounded so similar sizes share blocks */
      block = big_get(total);
    }
    if (!block && (total < nbytes || posix_memalign(&block, 64, total) != 0)) {
      dnn_error(DNN_ERR_MEMORY, "out of memory allocating %zu bytes", nbytes);
      return NULL;
    }
    s = block;
    s->data = (char *)block + HEADER_BYTES;
    s->release = NULL;
  } else {
    const dnn_backend *b = dnn_backend_get(dev);
    if (!b) {
      char buf[16];
      dnn_error(DNN_ERR_DEVICE, "device %s is not available in this build", dnn_device_str(dev, buf));
      return NULL;
    }
    s = malloc(sizeof *s);
    if (!s) {
      dnn_error(DNN_ERR_MEMORY, "out of memory");
      return NULL;
    }
    s->data = nbytes ? b->alloc(nbytes, dev) : NULL;
    if (nbytes && !s->data) {
      free(s);
      return NULL; /* backend set the error */
    }
    s->release = NULL;
  }
  s->refcount = 1;
  s->device = dev;
  s->nbytes = nbytes;
  s->ctx = NULL;
  s->version = 0;
  dnn_memory_note_alloc(nbytes);
  return s;
}

void dnn_storage_retain(dnn_storage *s) { __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED); }

void dnn_storage_release(dnn_storage *s) {
  if (!s) return;
  /* sole owner: nobody else can add a reference, so no atomic update needed */
  if (__atomic_load_n(&s->refcount, __ATOMIC_ACQUIRE) != 1 &&
      __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  dnn_memory_note_free(s->nbytes);
  if (s->release) {
    s->release(s);
  } else if (s->device.type == DNN_DEVICE_CPU) {
    int cls = size_class(s->nbytes);
    if (BLOCK_CACHE && cls < CACHE_CLASSES) {
      if (!cache_push(cls, s)) free(s);
    } else if (!(BLOCK_CACHE && s->nbytes >= BIG_MIN && big_put(s, block_total(s->nbytes)))) {
      free(s);
    }
  } else {
    const dnn_backend *b = dnn_backend_get(s->device);
    if (b && s->data) b->free(s->data, s->device);
    free(s);
  }
}
