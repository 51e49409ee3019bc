/* Image-file batches for the prefetch pool (see image_batch.h). */
#include "image_batch.h"

#include <stdlib.h>
#include <string.h>

#include "png.h"

dnn_image_batch *dnn_image_batch_new(const char *op, int64_t n, int channels, int64_t h, int64_t w) {
  dnn_image_batch *b = calloc(1, sizeof *b);
  if (b) b->paths = calloc((size_t)(n > 0 ? n : 1), sizeof *b->paths);
  int64_t shape[4] = {n, h, w, channels};
  if (b && b->paths) b->out = dnn_empty(4, shape, DNN_FLOAT32, DNN_CPU);
  if (!b || !b->paths || !b->out) {
    if (b) free(b->paths);
    free(b);
    dnn_error(DNN_ERR_MEMORY, "%s: out of memory for a batch of %lld images of %lldx%lldx%d", op,
              (long long)n, (long long)h, (long long)w, channels);
    return NULL;
  }
  b->op = op;
  b->n = n;
  b->channels = channels;
  b->h = h;
  b->w = w;
  return b;
}

static void flip_rows(float *img, int64_t h, int64_t w, int64_t c) {
  for (int64_t y = 0; y < h; y++) {
    float *row = img + y * w * c;
    for (int64_t a = 0, z = w - 1; a < z; a++, z--)
      for (int64_t k = 0; k < c; k++) {
        float t = row[a * c + k];
        row[a * c + k] = row[z * c + k];
        row[z * c + k] = t;
      }
  }
}

static void flip_cols(float *img, int64_t h, int64_t w, int64_t c) {
  int64_t row = w * c;
  for (int64_t a = 0, z = h - 1; a < z; a++, z--)
    for (int64_t i = 0; i < row; i++) {
      float t = img[a * row + i];
      img[a * row + i] = img[z * row + i];
      img[z * row + i] = t;
    }
}

dnn_status dnn_image_batch_task(void *ctx, int64_t k) {
  dnn_image_batch *b = ctx;
  dnn_png_image img;
  dnn_status st = dnn_png_load(b->op, b->paths[k], b->channels, false, &img);
  if (st != DNN_OK) return st;
  int64_t c = b->channels, per = b->h * b->w * c;
  float *dst = (float *)dnn_data_ptr(b->out) + k * per;
  if (img.height == b->h && img.width == b->w) {
    const uint8_t *s = img.data; /* same size: resizing is the identity */
    for (int64_t i = 0; i < per; i++) dst[i] = s[i];
  } else {
    dnn_crop win = {0, 0, img.height, img.width};
    if (b->crop) win = dnn_crop_to_aspect(img.height, img.width, b->h, b->w);
    if (dnn_resize_image(img.data, 1, img.width, (int)c, win, dst, b->h, b->w, b->interp) != 0) {
      dnn_png_image_free(&img);
      return dnn_error(DNN_ERR_MEMORY, "%s: %.300s: out of memory while resizing", b->op, b->paths[k]);
    }
  }
  dnn_png_image_free(&img);
  if (b->flip_h || b->flip_v) {
    uint32_t r[4];
    dnn_philox(b->seed, b->counter + (uint64_t)k, r);
    if (b->flip_h && (r[0] & 1)) flip_rows(dst, b->h, b->w, c);
    if (b->flip_v && (r[1] & 1)) flip_cols(dst, b->h, b->w, c);
  }
  return DNN_OK;
}

void dnn_image_batch_free(void *ctx) {
  dnn_image_batch *b = ctx;
  if (!b) return;
  for (int64_t i = 0; i < b->n; i++) free(b->paths[i]);
  free(b->paths);
  if (b->out) dnn_tensor_release(b->out);
  free(b);
}
