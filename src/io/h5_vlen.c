/* HDF5 helper layer: vlen strings through our own global-heap reader
 * (h5_vlen.h says why). */
#include <errno.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/h5_base.h"
#include "io/h5_vlen.h"

#define RAW_TAG "dnnlua vlen reference"

/* ---------- the raw references, through a conversion HDF5 calls ---------- */

static bool is_raw_type(hid_t t) {
  if (H5Tget_class(t) != H5T_OPAQUE) return false;
  char *tag = H5Tget_tag(t);
  bool ok = tag && strcmp(tag, RAW_TAG) == 0;
  if (tag) H5free_memory(tag);
  return ok;
}

/* vlen string (as stored: its size is the reference's) -> our opaque type of
 * the same size: the bytes stay as they are.  Any other pair is declined at
 * INIT, so HDF5 goes on to its own functions. */
static herr_t conv_raw(hid_t src, hid_t dst, H5T_cdata_t *cdata, size_t nelmts, size_t buf_stride,
                       size_t bkg_stride, void *buf, void *bkg, hid_t dxpl) {
  (void)nelmts, (void)buf_stride, (void)bkg_stride, (void)buf, (void)bkg, (void)dxpl;
  switch (cdata->command) {
    case H5T_CONV_INIT:
      if (!is_raw_type(dst) || H5Tis_variable_str(src) <= 0 || H5Tget_size(src) != H5Tget_size(dst))
        return -1;
      cdata->need_bkg = H5T_BKG_NO;
      return 0;
    case H5T_CONV_CONV: return 0; /* same size, same place: nothing to move */
    case H5T_CONV_FREE: return 0;
    default: return -1;
  }
}

static bool registered;

static bool register_conv(void) {
  if (registered) return true;
  hid_t src = H5Tcopy(H5T_C_S1), dst = H5Tcreate(H5T_OPAQUE, 1);
  bool ok = src >= 0 && dst >= 0 && H5Tset_size(src, H5T_VARIABLE) >= 0 &&
            H5Tset_tag(dst, RAW_TAG) >= 0 &&
            H5Tregister(H5T_PERS_SOFT, "dnnlua_vlen_raw", src, dst, conv_raw) >= 0;
  if (src >= 0) H5Tclose(src);
  if (dst >= 0) H5Tclose(dst);
  registered = ok;
  return ok;
}

/* ---------- the file: descriptor, sizes, base address ---------- */

typedef struct {
  int fd;
  uint64_t fsize, base;
  size_t sa, ss; /* bytes of a file address, of a length */
  uint64_t coll_addr;
  uint8_t *coll; /* the last collection read, coll_size bytes */
  uint64_t coll_size;
  char *why;
  size_t whyn;
} heap_ctx;

static bool fail(heap_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(heap_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, c->whyn, fmt, ap);
  va_end(ap);
  return false;
}

static bool ctx_open(heap_ctx *c, hid_t obj) {
  bool ok = false;
  hid_t f = H5Iget_file_id(obj), fcpl = -1;
  void *handle = NULL;
  hsize_t ub = 0;
  struct stat st;
  if (f < 0 || (fcpl = H5Fget_create_plist(f)) < 0 || H5Pget_sizes(fcpl, &c->sa, &c->ss) < 0 ||
      H5Pget_userblock(fcpl, &ub) < 0 || H5Fget_vfd_handle(f, H5P_DEFAULT, &handle) < 0 || !handle)
    fail(c, "cannot find the file's layout");
  else if (c->sa < 2 || c->sa > 8 || c->ss < 2 || c->ss > 8)
    fail(c, "the file uses %zu-byte addresses and %zu-byte lengths (we read 2 to 8)", c->sa, c->ss);
  else if (fstat(*(int *)handle, &st) != 0)
    fail(c, "cannot stat the file: %s", strerror(errno));
  else {
    c->fd = *(int *)handle; /* the sec2 driver's descriptor (dnn_h5_open_read uses sec2) */
    c->fsize = (uint64_t)st.st_size;
    c->base = ub; /* addresses count from the superblock, after any user block */
    ok = true;
  }
  if (fcpl >= 0) H5Pclose(fcpl);
  if (f >= 0) H5Fclose(f); /* the id H5Iget_file_id added a reference to */
  return ok;
}

static uint64_t le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
  return v;
}

static bool read_at(heap_ctx *c, uint64_t off, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(c->fd, (char *)buf + got, n - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    got += (size_t)k;
  }
  return true;
}

/* Loads the collection at (relative) address addr, checked against the file. */
static bool load_collection(heap_ctx *c, uint64_t addr) {
  if (c->coll && c->coll_addr == addr) return true;
  free(c->coll);
  c->coll = NULL;
  uint64_t off;
  size_t hdr = 8 + c->ss;
  uint8_t head[16];
  if (__builtin_add_overflow(addr, c->base, &off) || off >= c->fsize || c->fsize - off < hdr)
    return fail(c, "the global heap collection at %llu is past the end of the file (%llu bytes)",
                (unsigned long long)addr, (unsigned long long)c->fsize);
  if (!read_at(c, off, head, hdr)) return fail(c, "cannot read the global heap at %llu", (unsigned long long)addr);
  if (memcmp(head, "GCOL", 4) != 0 || head[4] != 1)
    return fail(c, "no global heap collection at %llu (damaged reference or heap)", (unsigned long long)addr);
  uint64_t size = le(head + 8, c->ss);
  if (size < hdr || size > c->fsize - off)
    return fail(c, "the global heap collection at %llu claims %llu bytes (the file has %llu from there)",
                (unsigned long long)addr, (unsigned long long)size, (unsigned long long)(c->fsize - off));
  c->coll = malloc((size_t)size);
  if (!c->coll) return fail(c, "out of memory reading the global heap");
  if (!read_at(c, off, c->coll, (size_t)size)) {
    free(c->coll);
    c->coll = NULL;
    return fail(c, "cannot read the global heap at %llu", (unsigned long long)addr);
  }
  c->coll_addr = addr;
  c->coll_size = size;
  return true;
}

/* Finds object idx of the loaded collection, walking its objects as HDF5
 * lays them out (header, then each object: index, refcount, reserved, size,
 * data padded to 8 bytes; index 0 is the free space, its size including its
 * header) and checking that every one lies inside the collection. */
static bool find_object(heap_ctx *c, unsigned idx, const uint8_t **data, uint64_t *size) {
  const uint8_t *h = c->coll;
  uint64_t total = c->coll_size, objhdr = 8 + c->ss, p = 8 + c->ss;
  while (p < total) {
    if (total - p < objhdr) break; /* a tail too short for a header is free space */
    unsigned k = (unsigned)le(h + p, 2);
    uint64_t osize = le(h + p + 8, c->ss), need;
    if (k == 0) {
      need = osize;
      if (need == 0 || need > total - p)
        return fail(c, "the global heap collection at %llu has a damaged free-space entry",
                    (unsigned long long)c->coll_addr);
    } else {
      if (osize > total - p - objhdr || (need = objhdr + ((osize + 7) & ~(uint64_t)7)) > total - p)
        return fail(c, "global heap object %u at %llu claims %llu bytes, past its collection's end",
                    k, (unsigned long long)c->coll_addr, (unsigned long long)osize);
      if (k == idx) {
        *data = h + p + objhdr;
        *size = osize;
        return true;
      }
    }
    p += need;
  }
  return fail(c, "the global heap collection at %llu has no object %u", (unsigned long long)c->coll_addr, idx);
}

bool dnn_h5_vlen_read(dnn_h5_id obj_, bool is_attr, size_t n, char **s, size_t *len, char *why,
                      size_t whyn) {
  hid_t obj = (hid_t)obj_;
  heap_ctx c = {.fd = -1, .why = why, .whyn = whyn};
  for (size_t i = 0; i < n; i++) s[i] = NULL, len[i] = 0;
  if (!register_conv()) return fail(&c, "cannot register the reference reader");
  if (!ctx_open(&c, obj)) return false;
  size_t ref = 4 + c.sa + 4; /* a stored reference: length, collection address, index */
  bool ok = true;
  uint8_t *raw = calloc(n ? n : 1, ref);
  hid_t rt = H5Tcreate(H5T_OPAQUE, ref);
  if (!raw || rt < 0 || H5Tset_tag(rt, RAW_TAG) < 0) {
    ok = fail(&c, "out of memory");
  } else if ((is_attr ? H5Aread(obj, rt, raw)
                      : H5Dread(obj, rt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw)) < 0) {
    char d[400];
    ok = fail(&c, "cannot read its references%s%s", *dnn_h5_detail(d, sizeof d) ? ": " : "", d);
  }
  for (size_t i = 0; ok && i < n; i++) {
    const uint8_t *r = raw + i * ref;
    uint64_t slen = le(r, 4), addr = le(r + 4, c.sa);
    unsigned idx = (unsigned)le(r + 4 + c.sa, 4);
    const uint8_t *data = NULL;
    uint64_t size = 0;
    if (addr != 0) { /* address 0: a NULL string, read as "" (as HDF5 does) */
      if (!load_collection(&c, addr) || !find_object(&c, idx, &data, &size)) {
        char inner[300];
        snprintf(inner, sizeof inner, "%s", why);
        ok = fail(&c, "string %zu: %s", i + 1, inner);
        break;
      }
      if (size != slen) {
        ok = fail(&c, "string %zu: its reference says %llu bytes, the global heap object holds %llu",
                  i + 1, (unsigned long long)slen, (unsigned long long)size);
        break;
      }
    }
    s[i] = malloc((size_t)size + 1);
    if (!s[i]) {
      ok = fail(&c, "out of memory");
      break;
    }
    if (size) memcpy(s[i], data, (size_t)size);
    s[i][size] = 0;
    len[i] = strlen(s[i]); /* HDF5 hands vlen strings out as C strings: they end at a NUL */
  }
  if (!ok)
    for (size_t i = 0; i < n; i++) free(s[i]), s[i] = NULL, len[i] = 0;
  if (rt >= 0) H5Tclose(rt);
  free(raw);
  free(c.coll);
  return ok;
}
