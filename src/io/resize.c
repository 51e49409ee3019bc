/* Image resizing, TF2 / PyTorch half-pixel semantics (see resize.h). */
#include "resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dnn_interp_from_name(const char *name) {
  if (strcmp(name, "bilinear") == 0) return DNN_INTERP_BILINEAR;
  if (strcmp(name, "nearest") == 0) return DNN_INTERP_NEAREST;
  return -1;
}

dnn_crop dnn_crop_to_aspect(int64_t h, int64_t w, int64_t th, int64_t tw) {
  /* int(float(width * target_height) / target_width), as keras.utils.image_utils does */
  int64_t ch = (int64_t)((double)(w * th) / (double)tw);
  int64_t cw = (int64_t)((double)(h * tw) / (double)th);
  if (ch > h) ch = h;
  if (cw > w) cw = w;
  if (ch < 1) ch = 1;
  if (cw < 1) cw = 1;
  dnn_crop c = {(int64_t)((double)(h - ch) / 2), (int64_t)((double)(w - cw) / 2), ch, cw};
  return c;
}

/* Per output coordinate: the two source indices (absolute) and the weight of
 * the upper one.  TF computes in float: in = (out + 0.5) * scale - 0.5. */
typedef struct {
  int64_t lo, hi;
  float frac;
} tap;

static void taps(tap *t, int64_t n_out, int64_t start, int64_t n_in, dnn_interp m) {
  float scale = (float)n_in / (float)n_out;
  for (int64_t o = 0; o < n_out; o++) {
    if (m == DNN_INTERP_NEAREST) {
      int64_t i = (int64_t)floorf(((float)o + 0.5f) * scale);
      if (i > n_in - 1) i = n_in - 1;
      t[o].lo = t[o].hi = start + i;
      t[o].frac = 0;
      continue;
    }
    float in = ((float)o + 0.5f) * scale - 0.5f;
    float fl = floorf(in);
    int64_t lo = (int64_t)fl, hi = (int64_t)ceilf(in);
    if (lo < 0) lo = 0;
    if (hi > n_in - 1) hi = n_in - 1;
    if (lo > n_in - 1) lo = n_in - 1;
    if (hi < 0) hi = 0;
    t[o].lo = start + lo;
    t[o].hi = start + hi;
    t[o].frac = in - fl;
  }
}

#define DEFINE_RESIZE(NAME, T)                                                              \
  static void NAME(const T *src, int64_t src_w, int c, const tap *ty, const tap *tx,        \
                   float *dst, int64_t dh, int64_t dw) {                                    \
    int64_t row = src_w * c;                                                                \
    for (int64_t y = 0; y < dh; y++) {                                                      \
      const T *top = src + ty[y].lo * row, *bot = src + ty[y].hi * row;                     \
      float fy = ty[y].frac;                                                                \
      float *d = dst + y * dw * c;                                                          \
      for (int64_t x = 0; x < dw; x++) {                                                    \
        int64_t l = tx[x].lo * c, r = tx[x].hi * c;                                         \
        float fx = tx[x].frac;                                                              \
        for (int k = 0; k < c; k++) {                                                       \
          float tl = (float)top[l + k], tr = (float)top[r + k];                             \
          float bl = (float)bot[l + k], br = (float)bot[r + k];                             \
          float t = tl + (tr - tl) * fx, b = bl + (br - bl) * fx;                           \
          d[x * c + k] = t + (b - t) * fy;                                                  \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  }
DEFINE_RESIZE(resize_u8, uint8_t)
DEFINE_RESIZE(resize_f32, float)

int dnn_resize_image(const void *src, int src_is_u8, int64_t src_w, int c, dnn_crop win,
                     float *dst, int64_t dh, int64_t dw, dnn_interp m) {
  /* small stack buffers cover the usual sizes; larger ones are allocated */
  tap sy[512], sx[512];
  tap *ty = dh <= 512 ? sy : malloc((size_t)dh * sizeof *ty);
  tap *tx = dw <= 512 ? sx : malloc((size_t)dw * sizeof *tx);
  int ok = ty && tx;
  if (ok) {
    taps(ty, dh, win.y0, win.h, m);
    taps(tx, dw, win.x0, win.w, m);
    if (src_is_u8) resize_u8(src, src_w, c, ty, tx, dst, dh, dw);
    else resize_f32(src, src_w, c, ty, tx, dst, dh, dw);
  }
  if (ty != sy) free(ty);
  if (tx != sx) free(tx);
  return ok ? 0 : -1;
}

dnn_tensor *dnn_resize_images(dnn_tensor *images, int64_t h, int64_t w, dnn_interp m,
                              bool crop_to_aspect_ratio) {
  char sbuf[200];
  if (images->ndim != 3 && images->ndim != 4) {
    dnn_error(DNN_ERR_SHAPE, "resize: expected images (N, H, W, C) or one image (H, W, C), got %s",
              DNN_SHAPE_STR(images, sbuf));
    return NULL;
  }
  if (h < 1 || w < 1 || h > 1000000 || w > 1000000) {
    dnn_error(DNN_ERR_ARG, "resize: the size must be two integers in 1..1000000, got %lldx%lld",
              (long long)h, (long long)w);
    return NULL;
  }
  if (dnn_tensor_device(images).type != DNN_DEVICE_CPU) {
    dnn_error(DNN_ERR_DEVICE, "resize: the images must be on the CPU");
    return NULL;
  }
  if (images->dtype == DNN_BOOL) {
    dnn_error(DNN_ERR_DTYPE, "resize: bool images cannot be interpolated");
    return NULL;
  }
  int b = images->ndim == 4;
  int64_t n = b ? images->shape[0] : 1, ih = images->shape[b], iw = images->shape[b + 1];
  int64_t c = images->shape[b + 2];
  if (ih < 1 || iw < 1 || c < 1 || c > 1 << 20) {
    dnn_error(DNN_ERR_SHAPE, "resize: images %s have no pixels to interpolate",
              DNN_SHAPE_STR(images, sbuf));
    return NULL;
  }
  int64_t oshape[4] = {n, h, w, c};
  dnn_tensor *out = dnn_empty(images->ndim, b ? oshape : oshape + 1, DNN_FLOAT32, DNN_CPU);
  if (!out) return NULL;
  if (n == 0) return out;
  /* uint8 images are read as they are; other dtypes go through float32 */
  dnn_tensor *src = images->dtype == DNN_UINT8 ? dnn_contiguous(images)
                                              : dnn_to_dtype(images, DNN_FLOAT32);
  dnn_tensor *srcc = src ? dnn_contiguous(src) : NULL;
  if (src) dnn_tensor_release(src);
  if (!srcc) {
    dnn_tensor_release(out);
    return NULL;
  }
  int u8 = srcc->dtype == DNN_UINT8;
  const char *sp = dnn_data_ptr(srcc);
  size_t ssz = dnn_dtype_size((dnn_dtype)srcc->dtype), img = (size_t)(ih * iw * c);
  float *dp = dnn_data_ptr(out);
  dnn_crop win = {0, 0, ih, iw};
  if (crop_to_aspect_ratio) win = dnn_crop_to_aspect(ih, iw, h, w);
  int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1 && n * h * w * c >= DNN_PARALLEL_GRAIN)
  for (int64_t i = 0; i < n; i++)
    if (dnn_resize_image(sp + (size_t)i * img * ssz, u8, iw, (int)c, win, dp + i * h * w * c, h,
                         w, m) != 0)
      __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
  dnn_tensor_release(srcc);
  if (failed) {
    dnn_tensor_release(out);
    dnn_error(DNN_ERR_MEMORY, "resize: out of memory for the interpolation tables");
    return NULL;
  }
  return out;
}
