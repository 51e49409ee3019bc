/* Image resizing as tf.image.resize does it (TF2: half-pixel centers, no
 * antialiasing), which is also PyTorch's interpolate(align_corners=False)
 * for "bilinear" and mode "nearest-exact" for "nearest":
 *   bilinear: src = (dst + 0.5) * in / out - 0.5, the two neighbours
 *             clamped to the image, weights from the fraction;
 *   nearest:  src = min(floor((dst + 0.5) * in / out), in - 1).
 * Output is float32 (values keep the input's scale: 0..255 for uint8).
 *
 * A source window (crop) may be given, for Keras's crop_to_aspect_ratio:
 * the window is resized as if it were the whole image. */
#ifndef DNN_IO_RESIZE_H
#define DNN_IO_RESIZE_H

#include <stdint.h>

#include "dnn.h"

typedef enum { DNN_INTERP_BILINEAR, DNN_INTERP_NEAREST } dnn_interp;

/* "bilinear" / "nearest" -> the enum; -1 for any other name. */
int dnn_interp_from_name(const char *name);

typedef struct {
  int64_t y0, x0, h, w; /* the source window, inside the image */
} dnn_crop;

/* The largest centered window of the target's aspect ratio (Keras's
 * smart_resize / crop_to_aspect_ratio arithmetic). */
dnn_crop dnn_crop_to_aspect(int64_t h, int64_t w, int64_t target_h, int64_t target_w);

/* One image, HWC, samples uint8 (src_is_u8) or float32, row stride
 * src_w * c: window win of it resized into dst (dh, dw, c) float32.
 * Single-threaded: callers parallelise over images.  0, or -1 when the
 * interpolation tables could not be allocated (sizes above 512). */
int dnn_resize_image(const void *src, int src_is_u8, int64_t src_w, int c, dnn_crop win,
                     float *dst, int64_t dh, int64_t dw, dnn_interp m);

/* Tensor front end: images (N, H, W, C) or (H, W, C) of any real dtype ->
 * float32 (N, h, w, C) / (h, w, C); threaded over the images (OpenMP). */
dnn_tensor *dnn_resize_images(dnn_tensor *images, int64_t h, int64_t w, dnn_interp m,
                              bool crop_to_aspect_ratio);

#endif
