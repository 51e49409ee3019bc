/* The lua_State allocator of dnnlua: small blocks (Lua strings, tables,
 * closures, tensor userdata) come from per-size free lists carved out of 64 KiB
 * slabs.  Tensors make a short-lived userdata per op and the collector frees
 * them in batches; glibc's malloc spends more on that pattern than the op
 * itself.  Large blocks go to malloc.  Sanitizer builds use plain malloc so
 * ASan sees every block. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOLED 0
#else
#define POOLED 1
#endif

#define GRAIN 16
#define MAX_SMALL 256 /* bytes; larger blocks use malloc */
#define NCLASS (MAX_SMALL / GRAIN)
#define SLAB_BYTES (64 * 1024)

typedef struct free_node {
  struct free_node *next;
} free_node;

static free_node *free_lists[NCLASS];

static int class_of(size_t n) { return (int)((n + GRAIN - 1) / GRAIN) - 1; }

static void *pool_get(int cls) {
  free_node *n = free_lists[cls];
  if (n) {
    free_lists[cls] = n->next;
    return n;
  }
  size_t sz = (size_t)(cls + 1) * GRAIN;
  char *slab = malloc(SLAB_BYTES); /* slabs live as long as the process */
  if (!slab) return NULL;
  size_t count = SLAB_BYTES / sz;
  for (size_t i = 1; i < count; i++) { /* block 0 is returned, the rest are listed */
    free_node *f = (free_node *)(slab + i * sz);
    f->next = free_lists[cls];
    free_lists[cls] = f;
  }
  return slab;
}

static void pool_put(int cls, void *p) {
  free_node *n = p;
  n->next = free_lists[cls];
  free_lists[cls] = n;
}

void *dnn_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  /* when ptr is NULL, osize encodes the object type, not a size */
  size_t old = ptr ? osize : 0;
  if (!POOLED) {
    if (nsize == 0) {
      free(ptr);
      return NULL;
    }
    return realloc(ptr, nsize);
  }
  bool old_small = ptr && old <= MAX_SMALL && old > 0;
  if (nsize == 0) {
    if (old_small) pool_put(class_of(old), ptr);
    else free(ptr);
    return NULL;
  }
  if (nsize <= MAX_SMALL) {
    if (old_small && class_of(old) == class_of(nsize)) return ptr;
    void *n = pool_get(class_of(nsize));
    if (!n) return NULL;
    if (ptr) {
      memcpy(n, ptr, old < nsize ? old : nsize);
      if (old_small) pool_put(class_of(old), ptr);
      else free(ptr);
    }
    return n;
  }
  if (old_small) {
    void *n = malloc(nsize);
    if (!n) return NULL;
    memcpy(n, ptr, old);
    pool_put(class_of(old), ptr);
    return n;
  }
  return realloc(ptr, nsize);
}
