/* TensorBoard event files: TFRecord framing and a hand-written encoding of
 * the few protobuf fields a scalar needs (see io/tfevents.h).
 *
 *   Event          1 wall_time double (fixed64)   2 step int64 (varint)
 *                  3 file_version string          5 summary Summary
 *   Summary        1 value Value (repeated)
 *   Summary.Value  1 tag string                   2 simple_value float (fixed32)
 *
 * proto3 leaves zero scalars out, so step 0 is not written (readers take
 * the default), which is what TensorFlow's own writer produces. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/tfevents.h"

struct dnn_tfevents {
  FILE *f;
  char *path;
  int64_t size; /* bytes written, flushed or not */
};

#define MAX_TAG 65536 /* longer tags are surely a mistake (TensorBoard shows them in a list) */

/* ---------- protobuf pieces ---------- */

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

static void put_le(uint8_t *p, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int nbytes) {
  uint64_t v = 0;
  for (int i = 0; i < nbytes; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint64_t double_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

size_t dnn_tfevents_encode_scalar(uint8_t *buf, size_t cap, const char *tag, float value,
                                  int64_t step, double wall_time) {
  size_t tlen = strlen(tag);
  size_t vlen = 1 + varint_len(tlen) + tlen + 1 + 4; /* Value{tag, simple_value} */
  size_t slen = 1 + varint_len(vlen) + vlen;         /* Summary{value} */
  size_t need = 9 + (step != 0 ? 1 + varint_len((uint64_t)step) : 0) + 1 + varint_len(slen) + slen;
  if (need > cap) return need;
  uint8_t *p = buf;
  *p++ = 0x09; /* field 1, fixed64 */
  put_le(p, double_bits(wall_time), 8);
  p += 8;
  if (step != 0) {
    *p++ = 0x10; /* field 2, varint (negative int64s take ten bytes) */
    p += put_varint(p, (uint64_t)step);
  }
  *p++ = 0x2A; /* field 5, length-delimited */
  p += put_varint(p, slen);
  *p++ = 0x0A; /* Summary.value */
  p += put_varint(p, vlen);
  *p++ = 0x0A; /* Value.tag */
  p += put_varint(p, tlen);
  memcpy(p, tag, tlen);
  p += tlen;
  *p++ = 0x15; /* Value.simple_value, fixed32 */
  uint32_t fb;
  memcpy(&fb, &value, 4);
  put_le(p, fb, 4);
  p += 4;
  return (size_t)(p - buf);
}

/* ---------- records ---------- */

static dnn_status io_fail(const char *path, const char *what) {
  return dnn_error(DNN_ERR_IO, "tfevents: %s: %s: %s", path, what, strerror(errno));
}

static dnn_status write_record(dnn_tfevents *w, const uint8_t *data, size_t n) {
  uint8_t head[12], foot[4];
  put_le(head, n, 8);
  put_le(head + 8, dnn_crc32c_mask(dnn_crc32c(head, 8)), 4);
  put_le(foot, dnn_crc32c_mask(dnn_crc32c(data, n)), 4);
  if (fwrite(head, 1, 12, w->f) != 12 || fwrite(data, 1, n, w->f) != n ||
      fwrite(foot, 1, 4, w->f) != 4)
    return io_fail(w->path, "cannot write");
  w->size += (int64_t)(16 + n);
  return DNN_OK;
}

static dnn_status write_file_version(dnn_tfevents *w, double wall_time) {
  static const char version[] = "brain.Event:2";
  uint8_t buf[64], *p = buf;
  *p++ = 0x09;
  put_le(p, double_bits(wall_time), 8);
  p += 8;
  *p++ = 0x1A; /* field 3, file_version */
  p += put_varint(p, sizeof version - 1);
  memcpy(p, version, sizeof version - 1);
  p += sizeof version - 1;
  return write_record(w, buf, (size_t)(p - buf));
}

/* ---------- files ---------- */

/* mkdir -p: every missing component, tolerating ones that appear meanwhile. */
static dnn_status make_dirs(const char *dir) {
  size_t n = strlen(dir);
  char *p = malloc(n + 1);
  if (!p) return dnn_error(DNN_ERR_MEMORY, "tfevents: out of memory");
  memcpy(p, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    struct stat st;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      dnn_status s = dnn_error(DNN_ERR_IO, "tfevents: cannot create the log directory %s: %s", p,
                               strerror(errno));
      free(p);
      return s;
    }
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
      dnn_status s = dnn_error(DNN_ERR_IO, "tfevents: %s is not a directory", p);
      free(p);
      return s;
    }
    p[i] = c;
  }
  free(p);
  return DNN_OK;
}

static dnn_tfevents *wrap(int fd, char *path, const char *mode, int64_t size) {
  dnn_tfevents *w = calloc(1, sizeof *w);
  FILE *f = w ? fdopen(fd, mode) : NULL;
  if (!f) {
    dnn_error(DNN_ERR_MEMORY, "tfevents: %s: cannot open a stream", path);
    free(w);
    free(path);
    close(fd);
    return NULL;
  }
  w->f = f;
  w->path = path;
  w->size = size;
  return w;
}

dnn_tfevents *dnn_tfevents_create(const char *logdir, const char *suffix, double wall_time) {
  if (!logdir || !*logdir) {
    dnn_error(DNN_ERR_ARG, "tfevents: the log directory is empty");
    return NULL;
  }
  if (!suffix) suffix = "";
  if (strchr(suffix, '/')) {
    dnn_error(DNN_ERR_ARG, "tfevents: the file name suffix '%s' holds a '/'", suffix);
    return NULL;
  }
  if (make_dirs(logdir) != DNN_OK) return NULL;
  char host[256] = "localhost";
  if (gethostname(host, sizeof host) != 0) strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  for (char *h = host; *h; h++)
    if (*h == '/') *h = '_';
  size_t cap = strlen(logdir) + strlen(host) + strlen(suffix) + 64;
  char *path = malloc(cap);
  if (!path) {
    dnn_error(DNN_ERR_MEMORY, "tfevents: out of memory");
    return NULL;
  }
  int fd = -1;
  for (int k = 0; k < 1000 && fd < 0; k++) {
    int n = snprintf(path, cap, "%s/events.out.tfevents.%010lld.%s%s", logdir,
                     (long long)wall_time, host, suffix);
    if (k > 0) snprintf(path + n, cap - (size_t)n, ".%d", k);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    io_fail(path, "cannot create the event file");
    free(path);
    return NULL;
  }
  dnn_tfevents *w = wrap(fd, path, "wb", 0);
  if (!w) return NULL;
  if (write_file_version(w, wall_time) != DNN_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", dnn_error_message());
    unlink(w->path);
    dnn_tfevents_close(w);
    dnn_error(DNN_ERR_IO, "%s", msg);
    return NULL;
  }
  return w;
}

/* Checks that the first `size` bytes of f are whole records with good CRCs. */
static dnn_status check_records(FILE *f, const char *path, int64_t size) {
  uint8_t head[12], foot[4], chunk[8192];
  int64_t pos = 0;
  while (pos < size) {
    if (size - pos < 16 || fread(head, 1, 12, f) != 12)
      return dnn_error(DNN_ERR_IO, "tfevents: %s: the first %lld bytes end inside a record",
                       path, (long long)size);
    uint64_t len = get_le(head, 8);
    if ((uint32_t)get_le(head + 8, 4) != dnn_crc32c_mask(dnn_crc32c(head, 8)))
      return dnn_error(DNN_ERR_IO, "tfevents: %s: bad length checksum in the record at byte %lld",
                       path, (long long)pos);
    if (len > (uint64_t)(size - pos - 16))
      return dnn_error(DNN_ERR_IO, "tfevents: %s: the first %lld bytes end inside a record",
                       path, (long long)size);
    uint32_t crc = 0;
    for (uint64_t left = len; left > 0;) {
      size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
      if (fread(chunk, 1, n, f) != n) return io_fail(path, "cannot read");
      crc = dnn_crc32c_extend(crc, chunk, n);
      left -= n;
    }
    if (fread(foot, 1, 4, f) != 4) return io_fail(path, "cannot read");
    if ((uint32_t)get_le(foot, 4) != dnn_crc32c_mask(crc))
      return dnn_error(DNN_ERR_IO, "tfevents: %s: bad data checksum in the record at byte %lld",
                       path, (long long)pos);
    pos += (int64_t)(16 + len);
  }
  return DNN_OK;
}

dnn_tfevents *dnn_tfevents_append(const char *path, int64_t size) {
  if (!path || size < 0) {
    dnn_error(DNN_ERR_ARG, "tfevents: append needs a path and a size >= 0");
    return NULL;
  }
  char *copy = strdup(path);
  if (!copy) {
    dnn_error(DNN_ERR_MEMORY, "tfevents: out of memory");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    io_fail(path, "cannot open the event file");
    if (fd >= 0) close(fd);
    free(copy);
    return NULL;
  }
  if (st.st_size < size) {
    dnn_error(DNN_ERR_IO, "tfevents: %s holds %lld bytes, fewer than the %lld expected", path,
              (long long)st.st_size, (long long)size);
    close(fd);
    free(copy);
    return NULL;
  }
  dnn_tfevents *w = wrap(fd, copy, "r+b", size);
  if (!w) return NULL;
  dnn_status s = check_records(w->f, path, size);
  if (s == DNN_OK && (fflush(w->f) != 0 || ftruncate(fileno(w->f), size) != 0))
    s = io_fail(path, "cannot cut the event file");
  if (s == DNN_OK && fseek(w->f, (long)size, SEEK_SET) != 0) s = io_fail(path, "cannot seek");
  if (s != DNN_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", dnn_error_message());
    dnn_tfevents_close(w);
    dnn_error(s, "%s", msg);
    return NULL;
  }
  return w;
}

dnn_status dnn_tfevents_scalar(dnn_tfevents *w, const char *tag, double value, int64_t step,
                               double wall_time) {
  if (!w || !w->f) return dnn_error(DNN_ERR_ARG, "tfevents: the writer is closed");
  size_t tlen = strlen(tag);
  if (tlen == 0 || tlen > MAX_TAG)
    return dnn_error(DNN_ERR_ARG, "tfevents: a tag must hold 1 to %d bytes, got %zu", MAX_TAG,
                     tlen);
  uint8_t small[256];
  size_t n = dnn_tfevents_encode_scalar(small, sizeof small, tag, (float)value, step, wall_time);
  if (n <= sizeof small) return write_record(w, small, n);
  uint8_t *buf = malloc(n);
  if (!buf) return dnn_error(DNN_ERR_MEMORY, "tfevents: out of memory");
  dnn_tfevents_encode_scalar(buf, n, tag, (float)value, step, wall_time);
  dnn_status s = write_record(w, buf, n);
  free(buf);
  return s;
}

dnn_status dnn_tfevents_flush(dnn_tfevents *w, bool sync) {
  if (!w || !w->f) return dnn_error(DNN_ERR_ARG, "tfevents: the writer is closed");
  if (fflush(w->f) != 0) return io_fail(w->path, "cannot write");
  if (sync && fsync(fileno(w->f)) != 0 && errno != EINVAL) return io_fail(w->path, "cannot sync");
  return DNN_OK;
}

int64_t dnn_tfevents_size(const dnn_tfevents *w) { return w ? w->size : 0; }

const char *dnn_tfevents_path(const dnn_tfevents *w) { return w ? w->path : NULL; }

dnn_status dnn_tfevents_close(dnn_tfevents *w) {
  if (!w) return DNN_OK;
  dnn_status s = DNN_OK;
  if (w->f && fclose(w->f) != 0) s = io_fail(w->path, "cannot write");
  free(w->path);
  free(w);
  return s;
}
