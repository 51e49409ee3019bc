/* A batch of image files decoded, resized and (optionally) flipped into one
 * float32 (N, H, W, C) tensor by the prefetch pool's workers: the job behind
 * dnn.data.image_dataset_from_directory.  One task per image. */
#ifndef DNN_IO_IMAGE_BATCH_H
#define DNN_IO_IMAGE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "dnn.h"
#include "resize.h"

typedef struct {
  const char *op;  /* names errors: "<op>: <path>: ..." */
  int64_t n;       /* images */
  char **paths;    /* n paths (owned) */
  int channels;    /* 1, 3 or 4 */
  int64_t h, w;    /* output size */
  dnn_interp interp;
  bool crop;       /* Keras's crop_to_aspect_ratio */
  bool flip_h, flip_v; /* random flips, each with probability 1/2 */
  uint64_t seed, counter; /* Philox key and first counter: image k draws from counter + k */
  dnn_tensor *out; /* (n, h, w, channels) float32, owned; the tasks write into it */
} dnn_image_batch;

/* Allocates the batch and its output tensor (main thread: tensors are made
 * there); paths are filled in by the caller with malloc'd strings.  NULL
 * with the error recorded. */
dnn_image_batch *dnn_image_batch_new(const char *op, int64_t n, int channels, int64_t h, int64_t w);
/* Task k: loads paths[k] into image k of out (a dnn_task_fn). */
dnn_status dnn_image_batch_task(void *ctx, int64_t k);
/* Frees paths and drops the output reference (a ctx_free for dnn_job_submit). */
void dnn_image_batch_free(void *ctx);

#endif
