/* Image augmentation transforms (Keras ImageDataGenerator.apply_transform):
 * one bilinear affine warp per image with scipy.ndimage's boundary modes,
 * then channel shift, flips and brightness, threaded over the batch.
 *
 * Images are channels-last: (H, W, C) or a batch (N, H, W, C), of dtype
 * float32, float64 or uint8; the result has x's shape and dtype.  Not in
 * dnn.h because only the image bindings (src/lua/laugment.c) use it. */
#ifndef DNN_CPU_AFFINE_H
#define DNN_CPU_AFFINE_H

#include "dnn.h"

typedef enum {
  DNN_FILL_NEAREST, /* a a a | a b c d | d d d   (scipy "nearest") */
  DNN_FILL_CONSTANT, /* cval outside [0, n-1], no blending at the edge (scipy "constant") */
  DNN_FILL_REFLECT, /* d c b a | a b c d | d c b a   (scipy "reflect") */
  DNN_FILL_WRAP,    /* scipy "wrap": period n-1, first and last samples coincide */
  DNN_FILL_MODE_COUNT
} dnn_fill_mode;

/* "nearest", "constant", "reflect", "wrap" -> mode; -1 if unknown. */
int dnn_fill_mode_from_name(const char *name);

/* Keras's transform parameters (get_random_transform's dictionary).  theta and
 * shear in degrees; tx shifts rows (the vertical, from height_shift_range), ty
 * columns; zx scales the row coordinate, zy the column one. */
typedef struct {
  double theta, tx, ty, shear, zx, zy;
  bool flip_horizontal, flip_vertical;
  bool has_channel_shift, has_brightness;
  double channel_shift_intensity, brightness;
} dnn_transform_params;

/* The sampling map of one image: the input point read for output pixel (r, c)
 * is (m[0]*r + m[1]*c + m[2], m[3]*r + m[4]*c + m[5]) -- scipy.ndimage.
 * affine_transform's matrix and offset.  Returns false when the parameters
 * have no affine part (Keras then leaves the pixels untouched). */
bool dnn_transform_matrix(const dnn_transform_params *p, int64_t h, int64_t w, double m[6]);

/* The transformed images: x is (H, W, C) with n == 1, or (N, H, W, C) with
 * n == N; p holds n parameter sets.  CPU tensors only. */
dnn_tensor *dnn_image_transform(const dnn_tensor *x, const dnn_transform_params *p, int64_t n,
                                dnn_fill_mode mode, double cval);

#endif
