/* Keras's ImageDataGenerator.apply_transform on channels-last images: the
 * affine warp reproduces scipy.ndimage.affine_transform(order=1) sample for
 * sample -- same coordinate arithmetic, same boundary mapping, same weights,
 * same summation order -- so results match scipy to the last bit or so.
 * Then channel shift and brightness as Keras does them (brightness through
 * PIL's 8-bit quantisation).  Flips are folded into the output indexing
 * (a flip after the warp reads the warp's output mirrored). */
#include "cpu/affine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* -march=native would otherwise fuse a*b+c into FMAs and move sample
 * coordinates by an ulp relative to scipy, which matters exactly on the edge
 * of constant mode (a coordinate of n-1 versus n-1+ulp). */
#pragma GCC optimize("fp-contract=off")

int dnn_fill_mode_from_name(const char *name) {
  static const char *const names[DNN_FILL_MODE_COUNT] = {"nearest", "constant", "reflect", "wrap"};
  for (int i = 0; i < DNN_FILL_MODE_COUNT; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

/* c = a @ b for 3x3 row-major matrices. */
static void mat3_mul(const double a[9], const double b[9], double c[9]) {
  double t[9];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) t[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  memcpy(c, t, sizeof t);
}

/* Keras apply_affine_transform: rotation . shift . shear . zoom (each only
 * when it is not the identity), centred by transform_matrix_offset_center
 * with o = size/2 - 0.5.  Row/column coordinates as scipy indexes them, so
 * tx moves rows (height_shift_range shifts vertically, as documented; tf.keras
 * >= 2.9 swaps the axes here, tf-keras issue #310). */
bool dnn_transform_matrix(const dnn_transform_params *p, int64_t h, int64_t w, double m[6]) {
  double t[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  bool any = false;
  if (p->theta != 0) {
    double th = p->theta * (M_PI / 180.0);
    double r[9] = {cos(th), -sin(th), 0, sin(th), cos(th), 0, 0, 0, 1};
    memcpy(t, r, sizeof t);
    any = true;
  }
  if (p->tx != 0 || p->ty != 0) {
    double s[9] = {1, 0, p->tx, 0, 1, p->ty, 0, 0, 1};
    if (any) mat3_mul(t, s, t);
    else memcpy(t, s, sizeof t);
    any = true;
  }
  if (p->shear != 0) {
    double sh = p->shear * (M_PI / 180.0);
    double s[9] = {1, -sin(sh), 0, 0, cos(sh), 0, 0, 0, 1};
    if (any) mat3_mul(t, s, t);
    else memcpy(t, s, sizeof t);
    any = true;
  }
  if (p->zx != 1 || p->zy != 1) {
    double z[9] = {p->zx, 0, 0, 0, p->zy, 0, 0, 0, 1};
    if (any) mat3_mul(t, z, t);
    else memcpy(t, z, sizeof t);
    any = true;
  }
  if (!any) {
    double id[6] = {1, 0, 0, 0, 1, 0};
    memcpy(m, id, sizeof id);
    return false;
  }
  double ox = (double)h / 2 - 0.5, oy = (double)w / 2 - 0.5;
  double off[9] = {1, 0, ox, 0, 1, oy, 0, 0, 1};
  double reset[9] = {1, 0, -ox, 0, 1, -oy, 0, 0, 1};
  mat3_mul(off, t, t);
  mat3_mul(t, reset, t);
  m[0] = t[0], m[1] = t[1], m[2] = t[2];
  m[3] = t[3], m[4] = t[4], m[5] = t[5];
  return true;
}

/* scipy ni_interpolation.c map_coordinate: where a coordinate outside
 * [0, len-1] reads from under each mode (-1 means "outside": cval). */
static double map_coordinate(double in, int64_t len, int mode) {
  if (in < 0) {
    switch (mode) {
      case 'm': /* mirror: only for the filter footprint, see below */
        if (len <= 1) {
          in = 0;
        } else {
          int64_t sz2 = 2 * len - 2;
          in = sz2 * (int64_t)(-in / sz2) + in;
          in = in <= 1 - len ? in + sz2 : -in;
        }
        break;
      case DNN_FILL_REFLECT:
        if (len <= 1) {
          in = 0;
        } else {
          int64_t sz2 = 2 * len;
          if (in < -sz2) in = sz2 * (int64_t)(-in / sz2) + in;
          in = in < -len ? in + sz2 : (in > -1e-15 ? 1e-15 : -in) - 1;
        }
        break;
      case DNN_FILL_WRAP:
        if (len <= 1) {
          in = 0;
        } else {
          int64_t sz = len - 1;
          in += sz * ((int64_t)(-in / sz) + 1);
        }
        break;
      case DNN_FILL_NEAREST: in = 0; break;
      default: in = -1; break; /* constant */
    }
  } else if (in > len - 1) {
    switch (mode) {
      case 'm':
        if (len <= 1) {
          in = 0;
        } else {
          int64_t sz2 = 2 * len - 2;
          in -= sz2 * (int64_t)(in / sz2);
          if (in >= len) in = sz2 - in;
        }
        break;
      case DNN_FILL_REFLECT:
        if (len <= 1) {
          in = 0;
        } else {
          int64_t sz2 = 2 * len;
          in -= sz2 * (int64_t)(in / sz2);
          if (in >= len) in = sz2 - in - 1;
        }
        break;
      case DNN_FILL_WRAP:
        if (len <= 1) {
          in = 0;
        } else {
          int64_t sz = len - 1;
          in -= sz * (int64_t)(in / sz);
        }
        break;
      case DNN_FILL_NEAREST: in = (double)(len - 1); break;
      default: in = -1; break;
    }
  }
  return in;
}

/* One axis of a bilinear sample: the two source indices and their weights,
 * or false when the point lies outside (constant mode).  scipy maps the
 * coordinate by the mode (nearest is left to the footprint clamp), takes
 * start = floor, weights 1-f and 1-(1-f), and maps footprint indices outside
 * the axis with the spline boundary mode (mirror for constant and wrap). */
static bool axis_sample(double c, int64_t len, dnn_fill_mode mode, int64_t idx[2], double wt[2]) {
  /* a NaN or astronomically far point (absurd parameters) must not reach the
   * integer conversions below: NaN reads cval, far points the far edge */
  if (c != c) return false;
  if (c > 1e15) c = 1e15;
  if (c < -1e15) c = -1e15;
  if (mode != DNN_FILL_NEAREST) c = map_coordinate(c, len, mode);
  if (!(c > -1.0) && mode != DNN_FILL_NEAREST) return false;
  double fl = floor(c);
  int64_t start = (int64_t)fl;
  double f = c - fl;
  wt[0] = 1.0 - f;
  wt[1] = 1.0 - wt[0];
  int spline_mode = (mode == DNN_FILL_CONSTANT || mode == DNN_FILL_WRAP) ? 'm' : (int)mode;
  for (int k = 0; k < 2; k++) {
    int64_t i = start + k;
    if (i < 0 || i >= len) i = (int64_t)map_coordinate((double)i, len, spline_mode);
    idx[k] = i;
  }
  return true;
}

static inline double load(const void *base, dnn_dtype dt, int64_t i) {
  switch (dt) {
    case DNN_FLOAT32: return ((const float *)base)[i];
    case DNN_FLOAT64: return ((const double *)base)[i];
    default: return ((const uint8_t *)base)[i];
  }
}

/* scipy's CASE_INTERP_OUT_UINT: round half up, clamp to the type. */
static inline void store(void *base, dnn_dtype dt, int64_t i, double t) {
  switch (dt) {
    case DNN_FLOAT32: ((float *)base)[i] = (float)t; break;
    case DNN_FLOAT64: ((double *)base)[i] = t; break;
    default:
      t = t > 0 ? t + 0.5 : 0;
      t = t > 255 ? 255 : t;
      ((uint8_t *)base)[i] = (uint8_t)t;
      break;
  }
}

typedef struct {
  double m[6];
  bool warp;
} image_map;

/* Output row r of one image: the warp (or a plain copy when Keras would skip
 * it), read through the flips. */
static void warp_row(const void *src, void *dst, dnn_dtype dt, int64_t h, int64_t w, int64_t ch,
                     const dnn_transform_params *p, const image_map *map, int64_t r,
                     dnn_fill_mode mode, double cval) {
  int64_t rr = p->flip_vertical ? h - 1 - r : r;
  for (int64_t c = 0; c < w; c++) {
    int64_t cc = p->flip_horizontal ? w - 1 - c : c;
    int64_t o = (r * w + c) * ch;
    if (!map->warp) {
      int64_t s = (rr * w + cc) * ch;
      for (int64_t k = 0; k < ch; k++) store(dst, dt, o + k, load(src, dt, s + k));
      continue;
    }
    const double *m = map->m;
    /* scipy: icoor = 0; icoor += r*m0; icoor += c*m1; icoor += shift */
    double y = 0.0, x = 0.0;
    y += (double)rr * m[0];
    y += (double)cc * m[1];
    y += m[2];
    x += (double)rr * m[3];
    x += (double)cc * m[4];
    x += m[5];
    int64_t ri[2], ci[2];
    double rw[2], cw[2];
    if (!axis_sample(y, h, mode, ri, rw) || !axis_sample(x, w, mode, ci, cw)) {
      for (int64_t k = 0; k < ch; k++) store(dst, dt, o + k, cval);
      continue;
    }
    int64_t b00 = (ri[0] * w + ci[0]) * ch, b01 = (ri[0] * w + ci[1]) * ch;
    int64_t b10 = (ri[1] * w + ci[0]) * ch, b11 = (ri[1] * w + ci[1]) * ch;
    for (int64_t k = 0; k < ch; k++) {
      double t = 0.0;
      t += load(src, dt, b00 + k) * rw[0] * cw[0];
      t += load(src, dt, b01 + k) * rw[0] * cw[1];
      t += load(src, dt, b10 + k) * rw[1] * cw[0];
      t += load(src, dt, b11 + k) * rw[1] * cw[1];
      store(dst, dt, o + k, t);
    }
  }
}

static void minmax(const void *img, dnn_dtype dt, int64_t n, double *lo, double *hi) {
  double a = INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    double v = load(img, dt, i);
    if (v < a) a = v;
    if (v > b) b = v;
  }
  *lo = a, *hi = b;
}

/* Keras apply_channel_shift: every value + intensity, clipped to the image's
 * own [min, max]. */
static void channel_shift(void *img, dnn_dtype dt, int64_t n, double intensity) {
  double lo, hi;
  minmax(img, dt, n, &lo, &hi);
  for (int64_t i = 0; i < n; i++) {
    double v = load(img, dt, i) + intensity;
    store(img, dt, i, v < lo ? lo : (v > hi ? hi : v));
  }
}

/* Keras apply_brightness_shift(x, b, scale=False): the image goes through
 * PIL as 8 bits (rescaled to 0..255 only when it lies outside that range),
 * ImageEnhance.Brightness blends with black in single precision and
 * truncates, and the result is mapped back to the original range if it was
 * rescaled.  An alpha channel (C == 4) keeps its quantised value. */
static void brightness(void *img, dnn_dtype dt, int64_t n, int64_t ch, double factor) {
  double lo, hi;
  minmax(img, dt, n, &lo, &hi);
  bool local_scale = lo < 0 || hi > 255;
  float flo = (float)lo, fhi = (float)hi, fmaxv = 0;
  if (local_scale) fmaxv = (float)hi - flo;
  float alpha = (float)factor;
  for (int64_t i = 0; i < n; i++) {
    float v = (float)load(img, dt, i);
    if (local_scale) {
      v = v - flo;
      if (fmaxv != 0) v = v / fmaxv;
      v = v * 255.0f;
    }
    uint8_t q = v >= 0 ? (v <= 255.0f ? (uint8_t)v : 255) : 0; /* numpy astype('uint8') */
    float out;
    if (ch == 4 && i % 4 == 3) {
      out = q;
    } else if (alpha >= 0 && alpha <= 1.0f) {
      out = (uint8_t)(alpha * (float)q);
    } else {
      float t = alpha * (float)q;
      out = t <= 0.0f ? 0.0f : (t >= 255.0f ? 255.0f : (float)(uint8_t)t);
    }
    if (local_scale) out = out / 255.0f * (fhi - flo) + flo;
    store(img, dt, i, out);
  }
}

dnn_tensor *dnn_image_transform(const dnn_tensor *x, const dnn_transform_params *p, int64_t n,
                                dnn_fill_mode mode, double cval) {
  char buf[200];
  if (dnn_tensor_device(x).type != DNN_DEVICE_CPU) {
    dnn_error(DNN_ERR_DEVICE, "image_transform: images must be on the CPU");
    return NULL;
  }
  dnn_dtype dt = (dnn_dtype)x->dtype;
  if (dt != DNN_FLOAT32 && dt != DNN_FLOAT64 && dt != DNN_UINT8) {
    dnn_error(DNN_ERR_DTYPE, "image_transform: images must be float32, float64 or uint8, got %s",
              dnn_dtype_name(dt));
    return NULL;
  }
  if (x->ndim != 3 && x->ndim != 4) {
    dnn_error(DNN_ERR_SHAPE,
              "image_transform: expected an image (H, W, C) or a batch (N, H, W, C), got shape %s",
              DNN_SHAPE_STR(x, buf));
    return NULL;
  }
  int64_t count = x->ndim == 4 ? x->shape[0] : 1;
  if (n != count) {
    dnn_error(DNN_ERR_ARG, "image_transform: %lld parameter sets for %lld images (shape %s)",
              (long long)n, (long long)count, DNN_SHAPE_STR(x, buf));
    return NULL;
  }
  if ((int)mode < 0 || mode >= DNN_FILL_MODE_COUNT) {
    dnn_error(DNN_ERR_ARG, "image_transform: unknown fill mode %d", (int)mode);
    return NULL;
  }
  int64_t h = x->shape[x->ndim - 3], w = x->shape[x->ndim - 2], ch = x->shape[x->ndim - 1];
  for (int64_t i = 0; i < n; i++) {
    if (p[i].has_brightness && ch != 1 && ch != 3 && ch != 4) {
      dnn_error(DNN_ERR_SHAPE,
                "image_transform: brightness needs 1, 3 or 4 channels (as PIL images), got %lld "
                "(shape %s)",
                (long long)ch, DNN_SHAPE_STR(x, buf));
      return NULL;
    }
  }
  dnn_tensor *src = dnn_contiguous((dnn_tensor *)x);
  DNN_CHECK_NULL(src);
  dnn_tensor *out = dnn_empty(x->ndim, x->shape, dt, DNN_CPU);
  if (!out) {
    dnn_tensor_release(src);
    return NULL;
  }
  int64_t per = h * w * ch;
  if (per == 0 || n == 0) {
    dnn_tensor_release(src);
    return out;
  }
  size_t esz = dnn_dtype_size(dt);
  const char *sbase = dnn_data_ptr(src);
  char *dbase = dnn_data_ptr(out);

  image_map *maps = malloc((size_t)n * sizeof *maps);
  if (!maps) {
    dnn_tensor_release(src);
    dnn_tensor_release(out);
    dnn_error(DNN_ERR_MEMORY, "image_transform: out of memory");
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) maps[i].warp = dnn_transform_matrix(&p[i], h, w, maps[i].m);

  /* One pass per image; rows of all images are the parallel units, so one
   * large image spreads over the threads as well as a batch of small ones. */
  int64_t rows = n * h;
  int nth = dnn_get_num_threads();
#pragma omp parallel for schedule(static) num_threads(nth) if (rows > 1 && n * per >= 4096)
  for (int64_t q = 0; q < rows; q++) {
    int64_t i = q / h, r = q % h;
    warp_row(sbase + (size_t)(i * per) * esz, dbase + (size_t)(i * per) * esz, dt, h, w, ch, &p[i],
             &maps[i], r, mode, cval);
  }
#pragma omp parallel for schedule(static) num_threads(nth) if (n > 1 && n * per >= 4096)
  for (int64_t i = 0; i < n; i++) {
    void *img = dbase + (size_t)(i * per) * esz;
    if (p[i].has_channel_shift) channel_shift(img, dt, per, p[i].channel_shift_intensity);
    if (p[i].has_brightness) brightness(img, dt, per, ch, p[i].brightness);
  }
  free(maps);
  dnn_tensor_release(src);
  return out;
}
