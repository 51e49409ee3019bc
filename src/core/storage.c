/* Refcounted storage.  On the CPU the header and the data share one 64-byte
 * aligned block, so a fresh tensor costs one allocation for its bytes. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HEADER_BYTES ((sizeof(dnn_storage) + 63) & ~(size_t)63)

dnn_storage *dnn_storage_new(dnn_device dev, size_t nbytes) {
  dnn_storage *s;
  if (dev.type == DNN_DEVICE_CPU) {
    void *block = NULL;
    size_t total = HEADER_BYTES + ((nbytes + 63) & ~(size_t)63);
    if (total < nbytes || posix_memalign(&block, 64, total) != 0) {
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
  dnn_memory_note_alloc(nbytes);
  return s;
}

void dnn_storage_retain(dnn_storage *s) { __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED); }

void dnn_storage_release(dnn_storage *s) {
  if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  dnn_memory_note_free(s->nbytes);
  if (s->release) {
    s->release(s);
  } else if (s->device.type == DNN_DEVICE_CPU) {
    free(s);
  } else {
    const dnn_backend *b = dnn_backend_get(s->device);
    if (b && s->data) b->free(s->data, s->device);
    free(s);
  }
}
