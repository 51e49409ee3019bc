/* IDX files, the format of MNIST and Fashion-MNIST.
 *
 * Layout: a 4-byte magic 00 00 <type code> <ndims>, ndims big-endian uint32
 * sizes, then the elements row-major and big-endian.  Type codes: 0x08 uint8,
 * 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.  We have no
 * int8/int16 dtypes, so those two are widened to int32.
 *
 * Reading accepts plain and gzipped files (told apart by the gzip magic, not
 * the name).  The file must hold exactly the bytes its header declares:
 * trailing bytes are an error too, because in practice they mean the header
 * is wrong (a mis-written shape), and silently dropping data hides that.
 *
 * A header is never trusted with memory: a plain file's declared size is
 * checked against its size on disk before anything is allocated, and a
 * gzipped file is inflated into a buffer that grows only as real data
 * arrives, so a hostile header claiming 2^60 elements allocates nothing.
 *
 * Writing (uint8, int32, float32, float64; plain, not gzipped) goes to a
 * temporary file beside the target that is renamed over it once complete,
 * so a failed write never leaves a half-written file under the real name. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dnn.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "idx.c: the big-endian conversions assume a little-endian host"
#endif

typedef struct {
  uint8_t code;
  const char *name; /* the type as stored in the file */
  size_t size;      /* bytes per element in the file */
  dnn_dtype dtype;  /* the tensor's dtype */
} idx_type;

static const idx_type IDX_TYPES[] = {
    {0x08, "uint8", 1, DNN_UINT8},     {0x09, "int8", 1, DNN_INT32},
    {0x0B, "int16", 2, DNN_INT32},     {0x0C, "int32", 4, DNN_INT32},
    {0x0D, "float32", 4, DNN_FLOAT32}, {0x0E, "float64", 8, DNN_FLOAT64},
};
#define N_IDX_TYPES (sizeof IDX_TYPES / sizeof IDX_TYPES[0])

static const idx_type *idx_type_of_code(uint8_t code) {
  for (size_t i = 0; i < N_IDX_TYPES; i++)
    if (IDX_TYPES[i].code == code) return &IDX_TYPES[i];
  return NULL;
}

/* "<op>: <path>: <message>" as the thread's error; returns code. */
__attribute__((format(printf, 4, 5))) static dnn_status idx_fail(const char *op, const char *path,
                                                                 dnn_status code, const char *fmt,
                                                                 ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return dnn_error(code, "%s: %.200s: %s", op, path, msg);
}

/* "60000x28x28" (or "scalar" for 0 dims) into buf of >= 200 bytes. */
static const char *idx_dims_str(int ndim, const int64_t *shape, char *buf) {
  if (ndim == 0) return strcpy(buf, "scalar");
  size_t w = 0;
  for (int i = 0; i < ndim && w < 180; i++)
    w += (size_t)snprintf(buf + w, 200 - w, i ? "x%lld" : "%lld", (long long)shape[i]);
  return buf;
}

/* ---------- reading ---------- */

typedef struct {
  const char *path;
  gzFile gz;        /* reads plain files too (zlib's transparent mode) */
  bool gzipped;
  int64_t disk_bytes;
} idx_reader;

/* zlib's message for the stream's error, without the path it prefixes. */
static const char *idx_gz_message(idx_reader *r, int *zerr) {
  const char *msg = gzerror(r->gz, zerr);
  if (!msg || !*msg) return "unknown zlib error";
  size_t n = strlen(r->path);
  if (strncmp(msg, r->path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
  return msg;
}

/* Reads up to n bytes; returns the count, or -1 on a gzip error (recorded). */
static int64_t idx_read(idx_reader *r, void *dst, int64_t n) {
  int64_t got = 0;
  int zerr = Z_OK;
  while (got < n) {
    int64_t want = n - got;
    if (want > (1 << 30)) want = 1 << 30; /* gzread takes an unsigned */
    int k = gzread(r->gz, (char *)dst + got, (unsigned)want);
    if (k < 0) {
      const char *msg = idx_gz_message(r, &zerr);
      idx_fail("read_idx", r->path, DNN_ERR_IO, "corrupt gzip data: %s", msg);
      return -1;
    }
    if (k == 0) break;
    got += k;
  }
  /* A gzip stream cut short returns what it had; zlib notes the error. */
  if (got < n && r->gzipped) {
    const char *msg = idx_gz_message(r, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
      idx_fail("read_idx", r->path, DNN_ERR_IO, "corrupt or truncated gzip data: %s", msg);
      return -1;
    }
  }
  return got;
}

/* Counts the bytes left in the stream (for the trailing-data message).
 * Reading to the end also makes zlib check the gzip trailer's CRC and
 * length, so a damaged trailer is caught here: -1 (recorded). */
static int64_t idx_count_rest(idx_reader *r) {
  char scratch[1 << 16];
  int64_t total = 0;
  int64_t k;
  while ((k = idx_read(r, scratch, sizeof scratch)) > 0) total += k;
  return k < 0 ? -1 : total;
}

/* "the file" / "the decompressed data", for messages. */
static const char *idx_source(const idx_reader *r) {
  return r->gzipped ? "the decompressed data" : "the file";
}

static inline uint32_t idx_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Converts n big-endian elements of type ty at src into the tensor's dtype
 * at dst.  src may equal dst when the element sizes match. */
static void idx_decode(const idx_type *ty, const uint8_t *src, void *dst, int64_t n) {
  switch (ty->code) {
    case 0x08:
      if (src != dst) memcpy(dst, src, (size_t)n);
      break;
    case 0x09:
      for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[i] = (int8_t)src[i];
      break;
    case 0x0B:
      for (int64_t i = 0; i < n; i++)
        ((int32_t *)dst)[i] = (int16_t)(uint16_t)((unsigned)src[2 * i] << 8 | src[2 * i + 1]);
      break;
    case 0x0C:
    case 0x0D:
      for (int64_t i = 0; i < n; i++) {
        uint32_t v = idx_be32(src + 4 * i);
        memcpy((char *)dst + 4 * i, &v, 4);
      }
      break;
    case 0x0E:
      for (int64_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)idx_be32(src + 8 * i) << 32 | idx_be32(src + 8 * i + 4);
        memcpy((char *)dst + 8 * i, &v, 8);
      }
      break;
  }
}

typedef struct {
  const idx_type *type;
  int ndim;
  int64_t shape[DNN_MAX_DIMS];
  int64_t header_bytes;
  int64_t numel;
  int64_t data_bytes; /* declared */
} idx_header;

static dnn_status idx_read_header(idx_reader *r, idx_header *h) {
  uint8_t magic[4];
  int64_t got = idx_read(r, magic, 4);
  if (got < 0) return DNN_ERR_IO;
  if (got < 4)
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "truncated: %s holds %lld bytes, fewer than the 4-byte IDX magic", idx_source(r),
                    (long long)got);
  if (magic[0] != 0 || magic[1] != 0)
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "bad magic %02X %02X %02X %02X: an IDX file starts with two zero bytes, a "
                    "type code and the number of dims",
                    magic[0], magic[1], magic[2], magic[3]);
  h->type = idx_type_of_code(magic[2]);
  if (!h->type)
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "unknown type code 0x%02X (IDX knows 0x08 uint8, 0x09 int8, 0x0B int16, "
                    "0x0C int32, 0x0D float32, 0x0E float64)",
                    magic[2]);
  h->ndim = magic[3];
  if (h->ndim > DNN_MAX_DIMS)
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "header declares %d dims but tensors have at most %d", h->ndim, DNN_MAX_DIMS);
  h->header_bytes = 4 + 4 * (int64_t)h->ndim;

  uint8_t dims[4 * DNN_MAX_DIMS];
  got = idx_read(r, dims, 4 * h->ndim);
  if (got < 0) return DNN_ERR_IO;
  if (got < 4 * h->ndim)
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "truncated header: it declares %d dims (a %lld-byte header) but %s ends "
                    "after %lld bytes",
                    h->ndim, (long long)h->header_bytes, idx_source(r), (long long)(4 + got));

  uint64_t numel = 1, bytes;
  bool overflow = false;
  for (int i = 0; i < h->ndim; i++) {
    h->shape[i] = idx_be32(dims + 4 * i);
    overflow |= __builtin_mul_overflow(numel, (uint64_t)h->shape[i], &numel);
  }
  overflow |= __builtin_mul_overflow(numel, (uint64_t)h->type->size, &bytes);
  if (overflow || bytes > (uint64_t)INT64_MAX / 2) {
    char sbuf[200];
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "header declares %s %s, more than 2^62 bytes of data: not a real IDX file",
                    idx_dims_str(h->ndim, h->shape, sbuf), h->type->name);
  }
  h->numel = (int64_t)numel;
  h->data_bytes = (int64_t)bytes;
  return DNN_OK;
}

/* The "header declares ... but ..." messages for a wrong amount of data. */
static dnn_status idx_size_mismatch(const idx_reader *r, const idx_header *h, int64_t have) {
  char sbuf[200];
  idx_dims_str(h->ndim, h->shape, sbuf);
  if (have < h->data_bytes)
    return idx_fail("read_idx", r->path, DNN_ERR_IO,
                    "truncated: header declares %s %s (%lld bytes of data) but %s holds only "
                    "%lld bytes after the %lld-byte header",
                    sbuf, h->type->name, (long long)h->data_bytes, idx_source(r), (long long)have,
                    (long long)h->header_bytes);
  return idx_fail("read_idx", r->path, DNN_ERR_IO,
                  "trailing data: header declares %s %s (%lld bytes of data) but %s holds %lld "
                  "bytes after the %lld-byte header",
                  sbuf, h->type->name, (long long)h->data_bytes, idx_source(r),
                  (long long)have, (long long)h->header_bytes);
}

/* Reads the data of a gzipped file into a fresh malloc'd buffer (*out) that
 * grows as data arrives, so nothing is allocated beyond what the file holds;
 * then checks that nothing follows the declared data. */
static dnn_status idx_read_growing(idx_reader *r, const idx_header *h, uint8_t **out) {
  int64_t declared = h->data_bytes;
  /* Deflate rarely shrinks IDX data more than 4x, so this is usually the
   * final size, while a tiny file with a huge header gets 64 KiB. */
  int64_t guess = r->disk_bytes < INT64_MAX / 4 ? 4 * r->disk_bytes : INT64_MAX;
  if (guess < (1 << 16)) guess = 1 << 16;
  int64_t cap = declared < guess ? declared : guess, have = 0;
  uint8_t *buf = malloc(cap ? (size_t)cap : 1);
  dnn_status st = DNN_OK;
  *out = NULL;
  if (!buf) return dnn_error(DNN_ERR_MEMORY, "read_idx: %.200s: out of memory", r->path);
  for (;;) {
    int64_t k = idx_read(r, buf + have, cap - have);
    if (k < 0) {
      st = DNN_ERR_IO;
      break;
    }
    have += k;
    if (have < cap) { /* the stream ended early */
      st = idx_size_mismatch(r, h, have);
      break;
    }
    if (have == declared) {
      int64_t extra = idx_count_rest(r);
      if (extra < 0) {
        st = DNN_ERR_IO;
        break;
      }
      if (extra > 0) {
        st = idx_size_mismatch(r, h, have + extra);
        break;
      }
      *out = buf;
      return DNN_OK;
    }
    int64_t ncap = cap * 2 < declared ? cap * 2 : declared;
    uint8_t *nb = realloc(buf, (size_t)ncap);
    if (!nb) {
      st = dnn_error(DNN_ERR_MEMORY, "read_idx: %.200s: out of memory", r->path);
      break;
    }
    buf = nb;
    cap = ncap;
  }
  free(buf);
  return st;
}

/* Reads the data of a plain file straight into t (its size is already
 * checked against the file), converting in place or through a buffer. */
static dnn_status idx_read_plain_data(idx_reader *r, const idx_header *h, dnn_tensor *t) {
  void *dst = dnn_data_ptr(t);
  bool same_size = h->type->size == dnn_dtype_size(h->type->dtype);
  uint8_t *raw = same_size ? dst : malloc(h->data_bytes ? (size_t)h->data_bytes : 1);
  if (!raw) return dnn_error(DNN_ERR_MEMORY, "read_idx: %.200s: out of memory", r->path);
  int64_t got = idx_read(r, raw, h->data_bytes);
  dnn_status st = DNN_OK;
  if (got < 0) st = DNN_ERR_IO;
  else if (got < h->data_bytes) st = idx_size_mismatch(r, h, got); /* changed under us */
  else idx_decode(h->type, raw, dst, h->numel);
  if (!same_size) free(raw);
  return st;
}

static dnn_tensor *idx_read_open(idx_reader *r) {
  idx_header h;
  if (idx_read_header(r, &h) != DNN_OK) return NULL;

  if (!r->gzipped) { /* sizes are known: check before allocating anything */
    int64_t have = r->disk_bytes - h.header_bytes;
    if (have != h.data_bytes) {
      idx_size_mismatch(r, &h, have);
      return NULL;
    }
    dnn_tensor *t = dnn_empty(h.ndim, h.shape, h.type->dtype, DNN_CPU);
    if (!t) return NULL;
    if (idx_read_plain_data(r, &h, t) != DNN_OK) {
      dnn_tensor_release(t);
      return NULL;
    }
    return t;
  }

  /* Gzipped: the size on disk does not bound the data.  When the declared size
   * is within what the file can plausibly inflate to, read straight into the
   * tensor (no second copy of the data at the peak); else into a buffer that
   * grows only as data arrives. */
  int64_t plausible = r->disk_bytes < INT64_MAX / 4 ? 4 * r->disk_bytes : INT64_MAX;
  if (plausible < (1 << 16)) plausible = 1 << 16;
  if (h.type->size == dnn_dtype_size(h.type->dtype) && h.data_bytes <= plausible) {
    dnn_tensor *t = dnn_empty(h.ndim, h.shape, h.type->dtype, DNN_CPU);
    if (!t) return NULL;
    int64_t got = idx_read(r, dnn_data_ptr(t), h.data_bytes);
    int64_t extra = got == h.data_bytes ? idx_count_rest(r) : 0;
    if (got < 0 || extra < 0 || got < h.data_bytes || extra > 0) {
      if (got >= 0 && extra >= 0) idx_size_mismatch(r, &h, got + extra);
      dnn_tensor_release(t);
      return NULL;
    }
    idx_decode(h.type, dnn_data_ptr(t), dnn_data_ptr(t), h.numel);
    return t;
  }
  uint8_t *raw;
  if (idx_read_growing(r, &h, &raw) != DNN_OK) return NULL;
  dnn_tensor *t = dnn_empty(h.ndim, h.shape, h.type->dtype, DNN_CPU);
  if (t) idx_decode(h.type, raw, dnn_data_ptr(t), h.numel);
  free(raw);
  return t;
}

dnn_tensor *dnn_read_idx(const char *path) {
  if (!path || !*path) {
    dnn_error(DNN_ERR_ARG, "read_idx: the path is empty");
    return NULL;
  }
  struct stat st;
  if (stat(path, &st) != 0) {
    idx_fail("read_idx", path, DNN_ERR_IO, "cannot open: %s", strerror(errno));
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    idx_fail("read_idx", path, DNN_ERR_IO, "is a directory, not an IDX file");
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    idx_fail("read_idx", path, DNN_ERR_IO, "not a regular file");
    return NULL;
  }
  if (st.st_size == 0) {
    idx_fail("read_idx", path, DNN_ERR_IO, "empty file (0 bytes): an IDX file starts with a 4-byte magic");
    return NULL;
  }

  /* gzip or not by the magic 1F 8B, whatever the name says */
  unsigned char sig[2] = {0, 0};
  FILE *f = fopen(path, "rb");
  if (!f) {
    idx_fail("read_idx", path, DNN_ERR_IO, "cannot open: %s", strerror(errno));
    return NULL;
  }
  size_t nsig = fread(sig, 1, 2, f);
  fclose(f);

  idx_reader r = {.path = path, .gzipped = nsig == 2 && sig[0] == 0x1F && sig[1] == 0x8B,
                  .disk_bytes = (int64_t)st.st_size};
  errno = 0;
  r.gz = gzopen(path, "rb");
  if (!r.gz) {
    idx_fail("read_idx", path, DNN_ERR_IO, "cannot open: %s",
             errno ? strerror(errno) : "zlib could not allocate its state");
    return NULL;
  }
  gzbuffer(r.gz, 1 << 18);
  dnn_tensor *t = idx_read_open(&r);
  gzclose(r.gz);
  return t;
}

/* ---------- writing ---------- */

static uint8_t idx_code_of_dtype(dnn_dtype dt) {
  switch (dt) {
    case DNN_UINT8: return 0x08;
    case DNN_INT32: return 0x0C;
    case DNN_FLOAT32: return 0x0D;
    case DNN_FLOAT64: return 0x0E;
    default: return 0;
  }
}

static inline void idx_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Header and big-endian data of a contiguous CPU tensor to f. */
static bool idx_write_stream(FILE *f, const dnn_tensor *t, uint8_t code) {
  uint8_t head[4 + 4 * DNN_MAX_DIMS] = {0, 0, code, (uint8_t)t->ndim};
  for (int i = 0; i < t->ndim; i++) idx_put_be32(head + 4 + 4 * i, (uint32_t)t->shape[i]);
  if (fwrite(head, 1, 4 + 4 * (size_t)t->ndim, f) != 4 + 4 * (size_t)t->ndim) return false;

  size_t esize = dnn_dtype_size((dnn_dtype)t->dtype);
  int64_t n = dnn_numel(t);
  const uint8_t *src = dnn_data_ptr(t);
  if (esize == 1) return fwrite(src, 1, (size_t)n, f) == (size_t)n;
  uint8_t buf[1 << 16];
  int64_t per = (int64_t)(sizeof buf / esize);
  for (int64_t i = 0; i < n; i += per) {
    int64_t m = n - i < per ? n - i : per;
    for (int64_t j = 0; j < m; j++) {
      const uint8_t *e = src + (i + j) * (int64_t)esize;
      for (size_t b = 0; b < esize; b++) buf[j * (int64_t)esize + (int64_t)b] = e[esize - 1 - b];
    }
    if (fwrite(buf, esize, (size_t)m, f) != (size_t)m) return false;
  }
  return true;
}

dnn_status dnn_write_idx(const char *path, dnn_tensor *t) {
  if (!path || !*path) return dnn_error(DNN_ERR_ARG, "write_idx: the path is empty");
  uint8_t code = idx_code_of_dtype((dnn_dtype)t->dtype);
  if (!code)
    return idx_fail("write_idx", path, DNN_ERR_DTYPE,
                    "IDX has no type for %s tensors (it stores uint8, int32, float32 and "
                    "float64: convert first, e.g. :int() or :double())",
                    dnn_dtype_name((dnn_dtype)t->dtype));
  if (dnn_tensor_device(t).type != DNN_DEVICE_CPU) {
    char dbuf[16];
    return idx_fail("write_idx", path, DNN_ERR_DEVICE,
                    "the tensor is on %s: copy it to the CPU first",
                    dnn_device_str(dnn_tensor_device(t), dbuf));
  }
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] > (int64_t)UINT32_MAX) {
      char sbuf[200];
      return idx_fail("write_idx", path, DNN_ERR_SHAPE,
                      "shape %s: IDX stores each size in 32 bits (at most 4294967295)",
                      DNN_SHAPE_STR(t, sbuf));
    }

  /* A fresh name beside the target (same file system, so rename is atomic). */
  static int counter;
  char tmp[4096];
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    int k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld-%d", path, (long)getpid(), k) >= (int)sizeof tmp)
      return idx_fail("write_idx", path, DNN_ERR_ARG, "path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0)
    return idx_fail("write_idx", path, DNN_ERR_IO, "cannot create a temporary file beside it: %s",
                    strerror(errno));
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return idx_fail("write_idx", path, DNN_ERR_IO, "cannot write: %s", strerror(e));
  }

  dnn_tensor *c = dnn_contiguous(t);
  bool ok = c && idx_write_stream(f, c, code);
  int e = errno;
  if (c) dnn_tensor_release(c);
  else e = 0;
  if (ok && fflush(f) != 0) ok = false, e = errno;
  if (ok && fsync(fileno(f)) != 0 && errno != EINVAL) ok = false, e = errno;
  if (fclose(f) != 0 && ok) ok = false, e = errno;
  if (ok && rename(tmp, path) != 0) ok = false, e = errno;
  if (!ok) {
    unlink(tmp);
    if (!c) return dnn_error_code(); /* dnn_contiguous recorded why */
    return idx_fail("write_idx", path, DNN_ERR_IO, "cannot write: %s",
                    e ? strerror(e) : "short write");
  }
  return DNN_OK;
}
