/* PNG images through libpng (see png.h for the contract). */
#include "png.h"

#include <errno.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readall.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "png.c: 16-bit samples are swapped to little-endian; a big-endian host needs no swap"
#endif

/* Files larger than this are refused before reading (a 1 GiB PNG is not an
 * image anyone trains on; a mistaken path to a huge file should fail fast). */
#define PNG_MAX_FILE_BYTES ((size_t)1 << 30)
/* zlib inflates at most ~1032:1; with room for headers and filters. */
#define PNG_MAX_INFLATE_RATIO 1100u

__attribute__((format(printf, 4, 5))) static dnn_status png_fail(const char *op, const char *name,
                                                                 dnn_status code,
                                                                 const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return dnn_error(code, "%s: %.300s: %s", op, name ? name : "(memory)", msg);
}

/* Both contexts start with the message buffer libpng's error handler fills. */
typedef struct {
  char msg[256];
  bool oom;
  const unsigned char *buf;
  size_t n, pos;
  bool keep16;
  /* owned by the caller of decode_guarded, freed whichever way it returns */
  unsigned char *pixels;
  png_bytep *rows;
  /* results */
  int64_t height, width;
  int channels, bit_depth;
} dec_ctx;

static void png_on_error(png_structp png, png_const_charp msg) {
  char *buf = png_get_error_ptr(png);
  snprintf(buf, 256, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
  (void)png, (void)msg; /* warnings (bad ancillary chunks) are not worth a message */
}

static void dec_read(png_structp png, png_bytep out, size_t len) {
  dec_ctx *c = png_get_io_ptr(png);
  if (len > c->n - c->pos) png_error(png, "the data ends early (truncated file)");
  memcpy(out, c->buf + c->pos, len);
  c->pos += len;
}

/* The only function of the reader that calls setjmp.  It writes nothing but
 * *c, so after a longjmp the caller frees c->pixels and c->rows. */
static int decode_guarded(png_structp png, png_infop info, dec_ctx *c) {
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_read_fn(png, c, dec_read);
  png_read_info(png, info);
  png_uint_32 w, h;
  int depth, ctype, interlace;
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
  uint64_t raw = (uint64_t)h * (1 + ((uint64_t)w * (uint64_t)depth * png_get_channels(png, info) + 7) / 8);
  if (raw > (uint64_t)PNG_MAX_INFLATE_RATIO * c->n + 65536) {
    snprintf(c->msg, sizeof c->msg,
             "declares %lux%lu pixels, more than its %zu bytes can hold (corrupt or truncated)",
             (unsigned long)w, (unsigned long)h, c->n);
    return -1;
  }
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) {
    if (c->keep16) png_set_swap(png);
    else png_set_scale_16(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  c->channels = png_get_channels(png, info);
  c->bit_depth = png_get_bit_depth(png, info);
  if (c->bit_depth != 8 && c->bit_depth != 16) png_error(png, "unexpected bit depth after expansion");
  if (rowbytes != (size_t)w * (size_t)c->channels * (size_t)(c->bit_depth / 8))
    png_error(png, "unexpected row size after expansion");
  if (rowbytes && h > SIZE_MAX / rowbytes) png_error(png, "image too large");
  c->pixels = malloc((size_t)h * rowbytes);
  c->rows = malloc((size_t)h * sizeof *c->rows);
  if (!c->pixels || !c->rows) {
    c->oom = true;
    png_error(png, "out of memory for the pixels");
  }
  for (png_uint_32 r = 0; r < h; r++) c->rows[r] = c->pixels + (size_t)r * rowbytes;
  png_read_image(png, c->rows);
  png_read_end(png, NULL);
  c->height = h;
  c->width = w;
  return 0;
}

/* ---- channel conversion (after decoding, on 8- or 16-bit samples) ---- */

#define DEFINE_CONVERT(NAME, T, MAXV)                                                     \
  static void NAME(const T *s, int sc, T *d, int dc, size_t npix) {                       \
    for (size_t i = 0; i < npix; i++, s += sc, d += dc) {                                 \
      uint64_t gray, alpha = sc == 2 ? s[1] : sc == 4 ? s[3] : (MAXV);                    \
      if (sc >= 3)                                                                        \
        gray = ((uint64_t)s[0] * 19595 + (uint64_t)s[1] * 38470 + (uint64_t)s[2] * 7471 + \
                32768) >> 16;                                                             \
      else                                                                                \
        gray = s[0];                                                                      \
      switch (dc) {                                                                       \
      case 1: d[0] = (T)gray; break;                                                      \
      case 2: d[0] = (T)gray, d[1] = (T)alpha; break;                                     \
      case 3:                                                                             \
        if (sc >= 3) d[0] = s[0], d[1] = s[1], d[2] = s[2];                               \
        else d[0] = d[1] = d[2] = (T)gray;                                                \
        break;                                                                            \
      default:                                                                            \
        if (sc >= 3) d[0] = s[0], d[1] = s[1], d[2] = s[2];                               \
        else d[0] = d[1] = d[2] = (T)gray;                                                \
        d[3] = (T)alpha;                                                                  \
      }                                                                                   \
    }                                                                                     \
  }
DEFINE_CONVERT(convert_u8, uint8_t, 255u)
DEFINE_CONVERT(convert_u16, uint16_t, 65535u)

dnn_status dnn_png_decode(const char *op, const void *buf, size_t n, const char *name,
                          int channels, bool keep16, dnn_png_image *out) {
  memset(out, 0, sizeof *out);
  if (channels < 0 || channels > 4)
    return png_fail(op, name, DNN_ERR_ARG, "channels must be 0 (as stored), 1, 2, 3 or 4, got %d",
                    channels);
  if (n == 0) return png_fail(op, name, DNN_ERR_IO, "the file is empty, not a PNG image");
  if (n < 8 || png_sig_cmp((png_const_bytep)buf, 0, 8) != 0)
    return png_fail(op, name, DNN_ERR_IO, "not a PNG file (it does not start with the PNG signature)");
  dec_ctx c;
  memset(&c, 0, sizeof c);
  c.buf = buf;
  c.n = n;
  c.keep16 = keep16;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c.msg, png_on_error, png_on_warning);
  if (!png) return png_fail(op, name, DNN_ERR_MEMORY, "cannot start libpng (out of memory)");
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return png_fail(op, name, DNN_ERR_MEMORY, "cannot start libpng (out of memory)");
  }
  int rc = decode_guarded(png, info, &c);
  png_destroy_read_struct(&png, &info, NULL);
  free(c.rows);
  if (rc != 0) {
    free(c.pixels);
    if (c.oom) return png_fail(op, name, DNN_ERR_MEMORY, "%s", c.msg);
    return png_fail(op, name, DNN_ERR_IO, "corrupt or truncated PNG: %s", c.msg);
  }
  out->height = c.height;
  out->width = c.width;
  out->bit_depth = c.bit_depth;
  out->channels = c.channels;
  out->data = c.pixels;
  if (channels == 0 || channels == c.channels) return DNN_OK;

  size_t npix = (size_t)c.height * (size_t)c.width, ss = (size_t)c.bit_depth / 8;
  void *conv = malloc(npix * (size_t)channels * ss);
  if (!conv) {
    dnn_png_image_free(out);
    return png_fail(op, name, DNN_ERR_MEMORY, "out of memory converting to %d channels", channels);
  }
  if (ss == 1) convert_u8(c.pixels, c.channels, conv, channels, npix);
  else convert_u16((const uint16_t *)(void *)c.pixels, c.channels, conv, channels, npix);
  free(c.pixels);
  out->data = conv;
  out->channels = channels;
  return DNN_OK;
}

dnn_status dnn_png_load(const char *op, const char *path, int channels, bool keep16,
                        dnn_png_image *out) {
  memset(out, 0, sizeof *out);
  char *buf;
  size_t n;
  dnn_status st = dnn_read_all(op, path, PNG_MAX_FILE_BYTES, &buf, &n);
  if (st != DNN_OK) return st;
  st = dnn_png_decode(op, buf, n, path, channels, keep16, out);
  free(buf);
  return st;
}

void dnn_png_image_free(dnn_png_image *img) {
  free(img->data);
  img->data = NULL;
}

dnn_tensor *dnn_png_read(const char *path, int channels, dnn_dtype dtype) {
  if (dtype != DNN_UINT8 && dtype != DNN_INT32) {
    png_fail("read_png", path, DNN_ERR_DTYPE,
             "dtype must be uint8 (16-bit images scaled to 8 bits) or int32 (samples as stored), got %s",
             dnn_dtype_name(dtype));
    return NULL;
  }
  dnn_png_image img;
  if (dnn_png_load("read_png", path, channels, dtype == DNN_INT32, &img) != DNN_OK) return NULL;
  int64_t shape[3] = {img.height, img.width, img.channels};
  dnn_tensor *t = dnn_empty(3, shape, dtype, DNN_CPU);
  if (!t) {
    dnn_png_image_free(&img);
    dnn_error_prefix("read_png");
    return NULL;
  }
  size_t ns = (size_t)img.height * (size_t)img.width * (size_t)img.channels;
  if (dtype == DNN_UINT8) {
    memcpy(dnn_data_ptr(t), img.data, ns);
  } else {
    int32_t *d = dnn_data_ptr(t);
    if (img.bit_depth == 16)
      for (size_t i = 0; i < ns; i++) d[i] = ((const uint16_t *)img.data)[i];
    else
      for (size_t i = 0; i < ns; i++) d[i] = ((const uint8_t *)img.data)[i];
  }
  dnn_png_image_free(&img);
  return t;
}

/* ---------- writing ---------- */

typedef struct {
  char msg[256];
  bool oom;
  unsigned char *out;
  size_t len, cap;
  png_bytep *rows;
} enc_ctx;

static void enc_write(png_structp png, png_bytep data, size_t len) {
  enc_ctx *c = png_get_io_ptr(png);
  if (len > c->cap - c->len) {
    size_t cap = c->cap ? c->cap : 4096;
    while (cap - c->len < len) cap *= 2;
    unsigned char *nb = realloc(c->out, cap);
    if (!nb) {
      c->oom = true;
      png_error(png, "out of memory for the encoded image");
    }
    c->out = nb;
    c->cap = cap;
  }
  memcpy(c->out + c->len, data, len);
  c->len += len;
}

static void enc_flush(png_structp png) { (void)png; }

/* The only function of the writer that calls setjmp (see decode_guarded). */
static int encode_guarded(png_structp png, png_infop info, enc_ctx *c, const void *pixels,
                          png_uint_32 h, png_uint_32 w, int channels, int depth) {
  static const int ctypes[4] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
  if (setjmp(png_jmpbuf(png))) return -1;
  png_set_write_fn(png, c, enc_write, enc_flush);
  png_set_IHDR(png, info, w, h, depth, ctypes[channels - 1], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if (depth == 16) png_set_swap(png);
  size_t rowbytes = (size_t)w * (size_t)channels * (size_t)(depth / 8);
  c->rows = malloc((size_t)h * sizeof *c->rows);
  if (!c->rows) {
    c->oom = true;
    png_error(png, "out of memory");
  }
  for (png_uint_32 r = 0; r < h; r++) c->rows[r] = (png_bytep)pixels + (size_t)r * rowbytes;
  png_write_image(png, c->rows);
  png_write_end(png, NULL);
  return 0;
}

dnn_status dnn_png_encode(const char *op, const void *pixels, int64_t height, int64_t width,
                          int channels, int bit_depth, void **buf, size_t *n) {
  *buf = NULL;
  *n = 0;
  if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16))
    return dnn_error(DNN_ERR_ARG, "%s: PNG takes 1 to 4 channels of 8 or 16 bits, got %d of %d",
                     op, channels, bit_depth);
  if (height < 1 || width < 1 || height > 1000000 || width > 1000000)
    return dnn_error(DNN_ERR_SHAPE,
                     "%s: a PNG image is 1 to 1000000 pixels high and wide, got %lldx%lld", op,
                     (long long)height, (long long)width);
  enc_ctx c;
  memset(&c, 0, sizeof c);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c.msg, png_on_error, png_on_warning);
  if (!png) return dnn_error(DNN_ERR_MEMORY, "%s: cannot start libpng (out of memory)", op);
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return dnn_error(DNN_ERR_MEMORY, "%s: cannot start libpng (out of memory)", op);
  }
  int rc = encode_guarded(png, info, &c, pixels, (png_uint_32)height, (png_uint_32)width,
                          channels, bit_depth);
  png_destroy_write_struct(&png, &info);
  free(c.rows);
  if (rc != 0) {
    free(c.out);
    return dnn_error(c.oom ? DNN_ERR_MEMORY : DNN_ERR_INTERNAL, "%s: libpng: %s", op, c.msg);
  }
  *buf = c.out;
  *n = c.len;
  return DNN_OK;
}

/* The tensor's samples as a contiguous uint8 or uint16 buffer: *owned is set
 * when the buffer was allocated here. */
static dnn_status png_samples(const char *path, const dnn_tensor *t, int *depth, void **px,
                              bool *owned) {
  int64_t n = dnn_numel(t);
  *owned = false;
  if (t->dtype == DNN_UINT8) {
    *depth = 8;
    if (dnn_is_contiguous(t)) {
      *px = dnn_data_ptr(t);
      return DNN_OK;
    }
    uint8_t *b = malloc((size_t)n);
    if (!b) return png_fail("write_png", path, DNN_ERR_MEMORY, "out of memory");
    for (int64_t i = 0; i < n; i++) b[i] = (uint8_t)dnn_get_flat(t, i);
    *px = b;
    *owned = true;
    return DNN_OK;
  }
  /* int32 / int64: 16-bit samples; the range is checked before anything is written */
  *depth = 16;
  uint16_t *b = malloc((size_t)n * 2);
  if (!b) return png_fail("write_png", path, DNN_ERR_MEMORY, "out of memory");
  for (int64_t i = 0; i < n; i++) {
    double v = dnn_get_flat(t, i);
    if (!(v >= 0 && v <= 65535)) {
      free(b);
      return png_fail("write_png", path, DNN_ERR_ARG,
                      "a %s tensor is written as a 16-bit PNG, so its values must lie in "
                      "0..65535; element %lld is %.0f",
                      dnn_dtype_name((dnn_dtype)t->dtype), (long long)i + 1, v);
    }
    b[i] = (uint16_t)v;
  }
  *px = b;
  *owned = true;
  return DNN_OK;
}

dnn_status dnn_png_write(const char *path, const dnn_tensor *t) {
  if (!path || !*path) return dnn_error(DNN_ERR_ARG, "write_png: the path is empty");
  char sbuf[200], dbuf[16];
  if (dnn_tensor_device(t).type != DNN_DEVICE_CPU)
    return png_fail("write_png", path, DNN_ERR_DEVICE, "the tensor is on %s: copy it to the CPU first",
                    dnn_device_str(dnn_tensor_device(t), dbuf));
  if (t->ndim != 2 && t->ndim != 3)
    return png_fail("write_png", path, DNN_ERR_SHAPE,
                    "expected an image (H, W) or (H, W, C) with C = 1..4, got shape %s",
                    DNN_SHAPE_STR(t, sbuf));
  int channels = t->ndim == 3 ? (int)(t->shape[2] >= 1 && t->shape[2] <= 4 ? t->shape[2] : 0) : 1;
  if (!channels)
    return png_fail("write_png", path, DNN_ERR_SHAPE,
                    "shape %s: PNG stores 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels",
                    DNN_SHAPE_STR(t, sbuf));
  if (t->dtype != DNN_UINT8 && t->dtype != DNN_INT32 && t->dtype != DNN_INT64)
    return png_fail("write_png", path, DNN_ERR_DTYPE,
                    "a %s tensor: PNG takes uint8 (8-bit) or int32/int64 with values 0..65535 "
                    "(16-bit); convert, e.g. (x * 255):clamp(0, 255):byte()",
                    dnn_dtype_name((dnn_dtype)t->dtype));
  if (t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > 1000000 || t->shape[1] > 1000000)
    return png_fail("write_png", path, DNN_ERR_SHAPE,
                    "shape %s: a PNG image is 1 to 1000000 pixels high and wide",
                    DNN_SHAPE_STR(t, sbuf));
  int depth = 8;
  void *px = NULL;
  bool owned;
  dnn_status st = png_samples(path, t, &depth, &px, &owned);
  if (st != DNN_OK) return st;
  void *enc;
  size_t n;
  st = dnn_png_encode("write_png", px, t->shape[0], t->shape[1], channels, depth, &enc, &n);
  if (owned) free(px);
  if (st != DNN_OK) return st;

  /* Atomic: a temporary file beside the target, renamed over it when whole.
   * No fsync: image trees hold thousands of files, and what this guards
   * against is a half-written file under the real name after an error. */
  char tmp[4096];
  int fd = dnn_open_temp_beside(path, tmp, sizeof tmp);
  if (fd < 0) {
    int e = errno;
    free(enc);
    return png_fail("write_png", path, DNN_ERR_IO, "cannot create a file beside it: %s", strerror(e));
  }
  size_t off = 0;
  int e = 0;
  while (off < n) {
    ssize_t w = write(fd, (const char *)enc + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      e = errno;
      break;
    }
    off += (size_t)w;
  }
  free(enc);
  if (close(fd) != 0 && !e) e = errno;
  if (!e && rename(tmp, path) != 0) e = errno;
  if (e) {
    unlink(tmp);
    return png_fail("write_png", path, DNN_ERR_IO, "cannot write: %s", strerror(e));
  }
  return DNN_OK;
}
