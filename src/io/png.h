/* PNG images through libpng.
 *
 * Decoding gives row-major HWC pixels: 1 channel for gray, 2 for gray+alpha,
 * 3 for RGB, 4 for RGBA.  Palette images are expanded to RGB (RGBA when they
 * carry transparency), gray below 8 bits to 8 bits, and a tRNS chunk becomes
 * an alpha channel.  16-bit images stay 16-bit (native uint16) when asked,
 * else they are scaled to 8 bits with libpng's exact rounding,
 * v8 = round(v16 * 255 / 65535).
 *
 * libpng reports errors by longjmp: only decode_guarded/encode_guarded in
 * png.c call setjmp, and they touch nothing but a context owned by their
 * caller, which frees every allocation whichever way they return.  A header
 * is not trusted with memory: an image larger than its compressed data could
 * possibly hold (zlib inflates at most ~1032:1) is refused before any pixel
 * buffer is allocated. */
#ifndef DNN_IO_PNG_H
#define DNN_IO_PNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnn.h"

typedef struct {
  int64_t height, width;
  int channels;  /* 1..4 */
  int bit_depth; /* 8 (uint8 samples) or 16 (native uint16 samples) */
  void *data;    /* malloc'd, height * width * channels samples */
} dnn_png_image;

/* Decodes a PNG held in memory.  channels: 0 keeps the stored layout; 1, 2,
 * 3 or 4 converts (gray -> RGB replicates, RGB -> gray is ITU-R 601-2 luma
 * L = (19595 R + 38470 G + 7471 B + 32768) >> 16 as PIL computes it, alpha is
 * dropped or added opaque).  keep16: 16-bit files stay 16-bit.  name is the
 * file name for messages ("<op>: <name>: ..."). */
dnn_status dnn_png_decode(const char *op, const void *buf, size_t n, const char *name,
                          int channels, bool keep16, dnn_png_image *out);
/* The same from a file. */
dnn_status dnn_png_load(const char *op, const char *path, int channels, bool keep16,
                        dnn_png_image *out);
void dnn_png_image_free(dnn_png_image *img);

/* read_png as a tensor: uint8 (H, W, C), 16-bit images scaled to 8 bits; or
 * with dtype int32, the samples as stored (0..255 for 8-bit files,
 * 0..65535 for 16-bit ones). */
dnn_tensor *dnn_png_read(const char *path, int channels, dnn_dtype dtype);

/* Writes (H, W) or (H, W, C) with C = 1 (gray), 2 (gray+alpha), 3 (RGB) or
 * 4 (RGBA): a uint8 tensor as an 8-bit PNG, an int32/int64 one (values
 * 0..65535, checked first) as a 16-bit PNG.  Atomic: a temporary file beside
 * path is renamed over it once complete. */
dnn_status dnn_png_write(const char *path, const dnn_tensor *t);

/* Encodes into a malloc'd buffer (*buf, *n): pixels HWC, uint8 or native
 * uint16 samples (bit_depth 8 or 16). */
dnn_status dnn_png_encode(const char *op, const void *pixels, int64_t height, int64_t width,
                          int channels, int bit_depth, void **buf, size_t *n);

#endif
