/* HDF5 helper layer: error scope, messages, dtype mapping (see h5_base.h). */
#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_base.h"

_Static_assert(sizeof(hid_t) == sizeof(dnn_h5_id), "dnn_h5_id must hold an hid_t (HDF5 >= 1.10)");

void dnn_h5_strings_free(dnn_h5_strings *l) {
  if (!l) return;
  for (int64_t i = 0; i < l->n; i++) free(l->s[i]);
  free(l->s);
  free(l->len);
  l->n = 0;
  l->s = NULL;
  l->len = NULL;
}

/* HDF5 normally installs an atexit handler that tears the library down; after
 * it has read a damaged file that teardown can find blocks its own error paths
 * leaked and print "HDF5: infinite loop closing library" to stderr as the
 * process exits.  We close every file we open ourselves (writers abort on
 * collection), so the handler has nothing to do for us: ask HDF5 not to
 * install it.  This must precede the library's initialisation, so it runs at
 * the first helper call; if something else initialised HDF5 first, the call
 * fails harmlessly and HDF5 keeps its handler. */
static void h5_first_use(void) {
  static bool done;
  if (done) return;
  done = true;
  H5dont_atexit();
}

void dnn_h5_quiet_begin(dnn_h5_quiet *q) {
  h5_first_use();
  H5E_auto2_t func = NULL;
  void *data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &func, &data);
  q->func = (void (*)(void))func;
  q->data = data;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void dnn_h5_quiet_end(const dnn_h5_quiet *q) {
  H5Eset_auto2(H5E_DEFAULT, (H5E_auto2_t)q->func, q->data);
}

typedef struct {
  char *buf;
  size_t n;
} detail_ctx;

/* Walking upward, entry 0 is the innermost call: the most specific reason. */
static herr_t detail_walk(unsigned n, const H5E_error2_t *e, void *data) {
  detail_ctx *c = data;
  if (n == 0 && e->desc && *e->desc) snprintf(c->buf, c->n, "%s", e->desc);
  return 0;
}

const char *dnn_h5_detail(char *buf, size_t n) {
  buf[0] = 0;
  detail_ctx c = {buf, n};
  /* H5Ewalk2 walks a copy-free view of the stack and does not clear it. */
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, detail_walk, &c);
  return buf;
}

const char *dnn_h5_path(dnn_h5_id loc, const char *name, char *buf, size_t n) {
  char base[1024];
  ssize_t k = H5Iget_name((hid_t)loc, base, sizeof base);
  if (k <= 0) snprintf(base, sizeof base, "/");
  bool self = !name || !*name || strcmp(name, ".") == 0;
  if (self || name[0] == '/')
    snprintf(buf, n, "%s", self ? base : name);
  else
    snprintf(buf, n, "%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", name);
  return buf;
}

dnn_status dnn_h5_fail(dnn_h5_id loc, const char *name, const char *what, bool with_detail,
                       dnn_status code, const char *fmt, ...) {
  char detail[512] = "";
  if (with_detail) dnn_h5_detail(detail, sizeof detail);
  char path[1100], msg[1024];
  dnn_h5_path(loc, name, path, sizeof path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  H5Eclear2(H5E_DEFAULT);
  return dnn_error(code, "%s%s%s: %s%s%s", what ? what : "", what ? " " : "", path, msg,
                   *detail ? ": " : "", detail);
}

uint64_t dnn_h5_file_size(dnn_h5_id obj) {
  hsize_t size = 0;
  hid_t f = H5Iget_file_id((hid_t)obj);
  if (f < 0 || H5Fget_filesize(f, &size) < 0) size = 0;
  if (f >= 0) H5Fclose(f); /* drops the reference H5Iget_file_id added */
  return (uint64_t)size;
}

/* IEEE binary16 and bfloat16 as HDF5 float types, built the way h5py builds
 * its float16 (HDF5 1.10 has no predefined H5T_IEEE_F16LE): made once, locked
 * (a locked type cannot be closed by mistake), and used for both the file and
 * memory sides, so the raw 16-bit patterns go through unconverted. */
static hid_t half_type(dnn_dtype dt) {
  static hid_t cached[2] = {-1, -1};
  int i = dt == DNN_BFLOAT16;
  if (cached[i] >= 0) return cached[i];
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  if (t < 0) return -1;
  /* sign at bit 15; exponent at 10 (5 bits, bias 15) or 7 (8 bits, bias 127) */
  bool ok = i == 0 ? H5Tset_fields(t, 15, 10, 5, 0, 10) >= 0 && H5Tset_precision(t, 16) >= 0 &&
                         H5Tset_size(t, 2) >= 0 && H5Tset_ebias(t, 15) >= 0
                   : H5Tset_fields(t, 15, 7, 8, 0, 7) >= 0 && H5Tset_precision(t, 16) >= 0 &&
                         H5Tset_size(t, 2) >= 0 && H5Tset_ebias(t, 127) >= 0;
  if (!ok || H5Tlock(t) < 0) {
    H5Tclose(t);
    return -1;
  }
  return cached[i] = t;
}

bool dnn_h5_is_half_type(dnn_h5_id type_, dnn_dtype dt) {
  hid_t type = (hid_t)type_;
  size_t spos, epos, esize, mpos, msize;
  if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 2 ||
      H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0)
    return false;
  return dt == DNN_FLOAT16 ? esize == 5 && msize == 10 : dt == DNN_BFLOAT16 && esize == 8 && msize == 7;
}

dnn_h5_id dnn_h5_file_type(dnn_dtype dt) {
  switch (dt) {
    case DNN_FLOAT16:
    case DNN_BFLOAT16: return half_type(dt);
    case DNN_FLOAT32: return H5T_IEEE_F32LE;
    case DNN_FLOAT64: return H5T_IEEE_F64LE;
    case DNN_INT32: return H5T_STD_I32LE;
    case DNN_INT64: return H5T_STD_I64LE;
    case DNN_UINT8:
    case DNN_BOOL: return H5T_STD_U8LE;
    default: return -1;
  }
}

dnn_h5_id dnn_h5_mem_type(dnn_dtype dt) {
  switch (dt) {
    case DNN_FLOAT16:
    case DNN_BFLOAT16: return half_type(dt);
    case DNN_FLOAT32: return H5T_NATIVE_FLOAT;
    case DNN_FLOAT64: return H5T_NATIVE_DOUBLE;
    case DNN_INT32: return H5T_NATIVE_INT32;
    case DNN_INT64: return H5T_NATIVE_INT64;
    case DNN_UINT8:
    case DNN_BOOL: return H5T_NATIVE_UINT8;
    default: return -1;
  }
}

const char *dnn_h5_class_name(dnn_h5_id type) {
  switch (H5Tget_class((hid_t)type)) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    default: return "unknown";
  }
}

/* h5py stores numpy bool as an enum over int8 with members FALSE=0, TRUE=1. */
static bool is_h5py_bool(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_size(type) != 1 || H5Tget_nmembers(type) != 2)
    return false;
  int8_t v = -1;
  return H5Tenum_valueof(type, "FALSE", &v) >= 0 && v == 0 &&
         H5Tenum_valueof(type, "TRUE", &v) >= 0 && v == 1;
}

int dnn_h5_dtype_of_type(dnn_h5_id type_, const char **why) {
  hid_t type = (hid_t)type_;
  static __thread char whybuf[96];
  size_t size = H5Tget_size(type);
  H5T_class_t cls = H5Tget_class(type);
  *why = NULL;
  if (cls == H5T_FLOAT) {
    if (size <= 4) return DNN_FLOAT32;
    return DNN_FLOAT64;
  }
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (size == 1 && !is_signed) return DNN_UINT8;
    if (size <= 2 || (size == 4 && is_signed)) return DNN_INT32;
    if ((size == 4 && !is_signed) || (size == 8 && is_signed)) return DNN_INT64;
    snprintf(whybuf, sizeof whybuf, "%s %zu-bit integers (no dtype holds them exactly)",
             is_signed ? "signed" : "unsigned", size * 8);
    *why = whybuf;
    return -1;
  }
  if (is_h5py_bool(type)) return DNN_BOOL;
  snprintf(whybuf, sizeof whybuf, "%s data (not a numeric type)", dnn_h5_class_name(type_));
  *why = whybuf;
  return -1;
}

bool dnn_h5_is_utf8(const char *s_, size_t n) {
  const unsigned char *s = (const unsigned char *)s_;
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3, cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    /* overlong forms, surrogates and code points past U+10FFFF are not UTF-8 */
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += k + 1;
  }
  return true;
}

dnn_h5_id dnn_h5_lcpl(const char *name) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  if (lcpl < 0) return -1;
  if (dnn_h5_is_utf8(name, strlen(name)) && H5Pset_char_encoding(lcpl, H5T_CSET_UTF8) < 0) {
    H5Pclose(lcpl);
    return -1;
  }
  return lcpl;
}
