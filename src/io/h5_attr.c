/* HDF5 helper layer: attributes (h5_attr.h). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_attr.h"
#include "io/h5_base.h"
#include "io/h5_vlen.h"

static const char *objname(const char *obj) { return obj && *obj ? obj : "."; }

/* "attribute 'x' of" for dnn_h5_fail's `what`. */
static const char *attr_what(const char *attr, char *buf, size_t n) {
  snprintf(buf, n, "attribute '%s' of", attr);
  return buf;
}

#define ATTR_FAIL(detail, code, ...)                                                   \
  dnn_h5_fail(loc, objname(obj), attr_what(attr, whatbuf, sizeof whatbuf), (detail), (code), \
              __VA_ARGS__)

/* True when the object exists and has the attribute (never an error). */
static bool exists_quiet(dnn_h5_id loc, const char *obj, const char *attr) {
  return H5Aexists_by_name((hid_t)loc, objname(obj), attr, H5P_DEFAULT) > 0;
}

bool dnn_h5_attr_exists(dnn_h5_id loc, const char *obj, const char *attr) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  bool r = exists_quiet(loc, obj, attr);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return r;
}

dnn_h5_attr_class dnn_h5_attr_info(dnn_h5_id loc, const char *obj, const char *attr,
                                   int64_t *count, bool *scalar) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_h5_attr_class c = DNN_H5_ATTR_NONE;
  if (count) *count = 0;
  if (scalar) *scalar = false;
  hid_t a = -1, t = -1, s = -1;
  if (!exists_quiet(loc, obj, attr)) goto done;
  c = DNN_H5_ATTR_OTHER;
  if ((a = H5Aopen_by_name((hid_t)loc, objname(obj), attr, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
      (t = H5Aget_type(a)) < 0 || (s = H5Aget_space(a)) < 0)
    goto done;
  switch (H5Tget_class(t)) {
    case H5T_STRING: c = DNN_H5_ATTR_STRING; break;
    case H5T_INTEGER: c = DNN_H5_ATTR_INT; break;
    case H5T_FLOAT: c = DNN_H5_ATTR_FLOAT; break;
    default: break;
  }
  hssize_t np = H5Sget_simple_extent_npoints(s);
  if (count) *count = np < 0 ? 0 : (int64_t)np;
  if (scalar) *scalar = H5Sget_simple_extent_type(s) == H5S_SCALAR;
done:
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return c;
}

dnn_status dnn_h5_attr_delete(dnn_h5_id loc, const char *obj, const char *attr) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  char whatbuf[300];
  if (exists_quiet(loc, obj, attr) &&
      H5Adelete_by_name((hid_t)loc, objname(obj), attr, H5P_DEFAULT) < 0)
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot delete it");
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

static herr_t collect_attr(hid_t id, const char *name, const H5A_info_t *info, void *data) {
  (void)id, (void)info;
  dnn_h5_strings *l = data;
  size_t n = strlen(name);
  char **s = realloc(l->s, (size_t)(l->n + 1) * sizeof *s);
  if (s) l->s = s;
  size_t *len = realloc(l->len, (size_t)(l->n + 1) * sizeof *len);
  if (len) l->len = len;
  char *copy = malloc(n + 1);
  if (!s || !len || !copy) {
    free(copy);
    return -1;
  }
  memcpy(copy, name, n + 1);
  l->s[l->n] = copy;
  l->len[l->n++] = n;
  return 0;
}

dnn_status dnn_h5_attr_names(dnn_h5_id loc, const char *obj, dnn_h5_strings *out) {
  memset(out, 0, sizeof *out);
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  hsize_t idx = 0;
  if (H5Aiterate_by_name((hid_t)loc, objname(obj), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr,
                         out, H5P_DEFAULT) < 0) {
    st = dnn_h5_fail(loc, objname(obj), NULL, true, DNN_ERR_IO, "cannot list its attributes");
    dnn_h5_strings_free(out);
  }
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

/* Replaces attr with a new one of file type ftype over space, written from buf. */
static dnn_status attr_put(dnn_h5_id loc, const char *obj, const char *attr, hid_t ftype,
                           hid_t space, hid_t mtype, const void *buf) {
  char whatbuf[300];
  dnn_status st = DNN_OK;
  hid_t acpl = -1, a = -1;
  if (exists_quiet(loc, obj, attr) &&
      H5Adelete_by_name((hid_t)loc, objname(obj), attr, H5P_DEFAULT) < 0)
    return ATTR_FAIL(true, DNN_ERR_IO, "cannot replace it");
  acpl = H5Pcreate(H5P_ATTRIBUTE_CREATE);
  if (acpl >= 0 && dnn_h5_is_utf8(attr, strlen(attr))) H5Pset_char_encoding(acpl, H5T_CSET_UTF8);
  a = H5Acreate_by_name((hid_t)loc, objname(obj), attr, ftype, space, acpl, H5P_DEFAULT,
                        H5P_DEFAULT);
  if (a < 0)
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot create it");
  else if (H5Awrite(a, mtype, buf) < 0)
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot write it");
  if (a >= 0) H5Aclose(a);
  if (acpl >= 0) H5Pclose(acpl);
  return st;
}

/* A string type: fixed of `size` bytes NUL-padded (h5py's 'S'), or vlen UTF-8. */
static hid_t string_type(dnn_h5_strkind kind, size_t size) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return -1;
  herr_t r = kind == DNN_H5_STR_FIXED
                 ? (H5Tset_size(t, size ? size : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
                    H5Tset_cset(t, H5T_CSET_ASCII) < 0)
                       ? -1
                       : 0
                 : (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
                    H5Tset_cset(t, H5T_CSET_UTF8) < 0)
                       ? -1
                       : 0;
  if (r < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

dnn_status dnn_h5_attr_write_string(dnn_h5_id loc, const char *obj, const char *attr,
                                    const char *s, size_t len, dnn_h5_strkind kind) {
  const size_t lens[1] = {len};
  return dnn_h5_attr_write_strings(loc, obj, attr, -1, &s, lens, kind);
}

/* n < 0: one string in a scalar dataspace. */
dnn_status dnn_h5_attr_write_strings(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                     const char *const *s, const size_t *lens,
                                     dnn_h5_strkind kind) {
  char whatbuf[300];
  bool scalar = n < 0;
  int64_t count = scalar ? 1 : n;
  size_t width = 0;
  for (int64_t i = 0; i < count; i++) {
    size_t l = lens ? lens[i] : strlen(s[i]);
    if (kind == DNN_H5_STR_VLEN && (memchr(s[i], 0, l) || !dnn_h5_is_utf8(s[i], l))) {
      dnn_h5_quiet q;
      dnn_h5_quiet_begin(&q);
      dnn_status st = ATTR_FAIL(false, DNN_ERR_ARG,
                                "string %lld is not valid UTF-8 without NUL bytes (store it "
                                "as a fixed-length byte string)",
                                (long long)i + 1);
      dnn_h5_quiet_end(&q);
      return st;
    }
    if (l > width) width = l;
  }
  if (width == 0) width = 1;
  void *buf = NULL;
  uint64_t bytes;
  if (kind == DNN_H5_STR_FIXED) {
    if (!dnn_h5_mul((uint64_t)count, width, &bytes) || bytes > SIZE_MAX)
      return dnn_error(DNN_ERR_MEMORY, "attribute '%s': too large", attr);
    buf = calloc(bytes ? bytes : 1, 1);
    if (buf)
      for (int64_t i = 0; i < count; i++)
        memcpy((char *)buf + i * (int64_t)width, s[i], lens ? lens[i] : strlen(s[i]));
  } else {
    /* vlen strings are passed as char*; copy so the const pointers stay const */
    buf = calloc(count ? (size_t)count : 1, sizeof(char *));
    if (buf)
      for (int64_t i = 0; i < count; i++) ((const char **)buf)[i] = s[i];
  }
  if (!buf) return dnn_error(DNN_ERR_MEMORY, "attribute '%s': out of memory", attr);

  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  hsize_t dims[1] = {(hsize_t)count};
  hid_t t = string_type(kind, width);
  hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
  if (t < 0 || space < 0)
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot make its type");
  else
    st = attr_put(loc, obj, attr, t, space, t, buf);
  if (space >= 0) H5Sclose(space);
  if (t >= 0) H5Tclose(t);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  free(buf);
  return st;
}

/* Appends a copy of s[0..n) to l (l sized by the caller). */
static bool push_string(dnn_h5_strings *l, const char *s, size_t n) {
  char *c = malloc(n + 1);
  if (!c) return false;
  memcpy(c, s, n);
  c[n] = 0;
  l->s[l->n] = c;
  l->len[l->n++] = n;
  return true;
}

/* Length of a fixed-length element once its padding is dropped. */
static size_t unpadded(const char *e, size_t size, H5T_str_t pad) {
  if (pad == H5T_STR_NULLTERM) return strnlen(e, size);
  char p = pad == H5T_STR_SPACEPAD ? ' ' : 0;
  while (size > 0 && e[size - 1] == p) size--;
  return size;
}

static dnn_status read_strings(hid_t a, dnn_h5_id loc, const char *obj, const char *attr,
                               dnn_h5_strings *out) {
  char whatbuf[300];
  dnn_status st = DNN_OK;
  hid_t t = H5Aget_type(a), space = H5Aget_space(a), mt = -1;
  hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  void *buf = NULL;
  if (t < 0 || np < 0) {
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot read its type");
    goto done;
  }
  if (H5Tget_class(t) != H5T_STRING) {
    st = ATTR_FAIL(false, DNN_ERR_IO, "holds %s data, expected strings", dnn_h5_class_name(t));
    goto done;
  }
  bool vlen = H5Tis_variable_str(t) > 0;
  /* bytes the strings take in the file (a vlen reference is at least 10) */
  size_t size = vlen ? 10 : H5Tget_size(t);
  uint64_t bytes;
  if (size == 0 || !dnn_h5_mul((uint64_t)np, size, &bytes) || bytes > dnn_h5_file_size(a)) {
    st = ATTR_FAIL(false, DNN_ERR_IO, "claims %lld strings of %zu bytes, more than the file holds",
                   (long long)np, size);
    goto done;
  }
  out->s = calloc(np ? (size_t)np : 1, sizeof *out->s);
  out->len = calloc(np ? (size_t)np : 1, sizeof *out->len);
  if (!out->s || !out->len) {
    st = dnn_error(DNN_ERR_MEMORY, "attribute '%s': out of memory", attr);
    goto done;
  }
  if (vlen) { /* through our own heap reader: see h5_vlen.h */
    char why[400];
    if (!dnn_h5_vlen_read(a, true, (size_t)np, out->s, out->len, why, sizeof why))
      st = ATTR_FAIL(false, DNN_ERR_IO, "cannot read it: %s", why);
    else
      out->n = np;
    goto done;
  }
  buf = calloc(bytes ? (size_t)bytes : 1, 1);
  if (!buf) {
    st = dnn_error(DNN_ERR_MEMORY, "attribute '%s': out of memory", attr);
    goto done;
  }
  /* Read in the stored form (same size, padding and set): no conversion. */
  mt = H5Tcopy(t);
  if (mt < 0 || H5Aread(a, mt, buf) < 0) {
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot read it");
    goto done;
  }
  H5T_str_t pad = H5Tget_strpad(t);
  bool ok = true;
  for (hssize_t i = 0; i < np && ok; i++) {
    const char *e = (const char *)buf + i * (hssize_t)size;
    ok = push_string(out, e, unpadded(e, size, pad));
  }
  if (!ok) st = dnn_error(DNN_ERR_MEMORY, "attribute '%s': out of memory", attr);
done:
  if (st != DNN_OK) dnn_h5_strings_free(out);
  free(buf);
  if (mt >= 0) H5Tclose(mt);
  if (space >= 0) H5Sclose(space);
  if (t >= 0) H5Tclose(t);
  return st;
}

/* Opens attr or records "attribute 'x' of /obj: no such attribute". */
static hid_t open_attr(dnn_h5_id loc, const char *obj, const char *attr) {
  char whatbuf[300];
  if (!exists_quiet(loc, obj, attr)) {
    ATTR_FAIL(false, DNN_ERR_IO, "no such attribute");
    return -1;
  }
  hid_t a = H5Aopen_by_name((hid_t)loc, objname(obj), attr, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) ATTR_FAIL(true, DNN_ERR_IO, "cannot open it");
  return a;
}

dnn_status dnn_h5_attr_read_strings(dnn_h5_id loc, const char *obj, const char *attr,
                                    dnn_h5_strings *out) {
  memset(out, 0, sizeof *out);
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  hid_t a = open_attr(loc, obj, attr);
  dnn_status st = a < 0 ? dnn_error_code() : read_strings(a, loc, obj, attr, out);
  if (a >= 0) H5Aclose(a);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

dnn_status dnn_h5_attr_read_string(dnn_h5_id loc, const char *obj, const char *attr, char **s,
                                   size_t *len) {
  *s = NULL;
  *len = 0;
  dnn_h5_strings l;
  dnn_status st = dnn_h5_attr_read_strings(loc, obj, attr, &l);
  if (st != DNN_OK) return st;
  if (l.n != 1) {
    char whatbuf[300];
    dnn_h5_quiet q;
    dnn_h5_quiet_begin(&q);
    st = ATTR_FAIL(false, DNN_ERR_IO, "holds %lld strings, expected one", (long long)l.n);
    dnn_h5_quiet_end(&q);
    dnn_h5_strings_free(&l);
    return st;
  }
  *s = l.s[0];
  *len = l.len[0];
  l.s[0] = NULL;
  dnn_h5_strings_free(&l);
  return DNN_OK;
}

static dnn_status write_numbers(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                const void *v, bool scalar, hid_t ftype, hid_t mtype) {
  char whatbuf[300];
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  if (scalar && n != 1) {
    st = ATTR_FAIL(false, DNN_ERR_ARG, "a scalar holds one number, got %lld", (long long)n);
  } else {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    static const int64_t zero = 0; /* HDF5 wants a buffer even for no elements */
    st = space < 0 ? ATTR_FAIL(true, DNN_ERR_IO, "cannot make its dataspace")
                   : attr_put(loc, obj, attr, ftype, space, mtype, n ? v : &zero);
    if (space >= 0) H5Sclose(space);
  }
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

dnn_status dnn_h5_attr_write_int64s(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                    const int64_t *v, bool scalar) {
  return write_numbers(loc, obj, attr, n, v, scalar, H5T_STD_I64LE, H5T_NATIVE_INT64);
}

dnn_status dnn_h5_attr_write_doubles(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                     const double *v, bool scalar) {
  return write_numbers(loc, obj, attr, n, v, scalar, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}

void dnn_h5_numbers_free(dnn_h5_numbers *n) {
  if (!n) return;
  free(n->i);
  free(n->d);
  memset(n, 0, sizeof *n);
}

dnn_status dnn_h5_attr_read_numbers(dnn_h5_id loc, const char *obj, const char *attr,
                                    dnn_h5_numbers *out) {
  memset(out, 0, sizeof *out);
  char whatbuf[300];
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  hid_t t = -1, space = -1;
  hid_t a = open_attr(loc, obj, attr);
  if (a < 0) {
    st = dnn_error_code();
    goto done;
  }
  t = H5Aget_type(a);
  space = H5Aget_space(a);
  hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (t < 0 || np < 0) {
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot read its type");
    goto done;
  }
  H5T_class_t cls = H5Tget_class(t);
  bool is_int = cls == H5T_INTEGER;
  if (!is_int && cls != H5T_FLOAT) {
    st = ATTR_FAIL(false, DNN_ERR_IO, "holds %s data, expected numbers", dnn_h5_class_name(t));
    goto done;
  }
  if (is_int && H5Tget_size(t) >= 8 && H5Tget_sign(t) == H5T_SGN_NONE) {
    st = ATTR_FAIL(false, DNN_ERR_IO, "holds unsigned 64-bit integers (int64 cannot hold them all)");
    goto done;
  }
  uint64_t bytes;
  if (!dnn_h5_mul((uint64_t)np, 8, &bytes) || bytes > (uint64_t)PTRDIFF_MAX) {
    st = ATTR_FAIL(false, DNN_ERR_IO, "claims %lld numbers", (long long)np);
    goto done;
  }
  void *buf = malloc(bytes ? (size_t)bytes : 1);
  if (!buf) {
    st = dnn_error(DNN_ERR_MEMORY, "attribute '%s': out of memory", attr);
    goto done;
  }
  if (H5Aread(a, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, buf) < 0) {
    free(buf);
    st = ATTR_FAIL(true, DNN_ERR_IO, "cannot read it");
    goto done;
  }
  out->n = np;
  out->scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
  out->is_int = is_int;
  if (is_int)
    out->i = buf;
  else
    out->d = buf;
done:
  if (space >= 0) H5Sclose(space);
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}
