/* HDF5 helper layer: tensors and scalars as datasets (h5_dataset.h). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_attr.h"
#include "io/h5_base.h"
#include "io/h5_dataset.h"
#include "io/h5_group.h"
#include "io/h5_vlen.h"

/* Bytes a never-written dataset may claim (it reads as its fill value). */
#define UNWRITTEN_LIMIT ((uint64_t)1 << 20)
/* gzip's best ratio is about 1032:1; no filter h5py offers does better. */
#define MAX_EXPANSION 1100u

/* ---------- writing ---------- */

/* Creates dataset loc/name of ftype over space (contiguous, no fill writes:
 * we write every byte anyway).  -1 with the error recorded. */
static hid_t create_dataset(dnn_h5_id loc, const char *name, hid_t ftype, hid_t space) {
  if (dnn_h5_kind_of(loc, name, NULL) != DNN_H5_NONE) {
    dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_ARG, "the name exists already");
    return -1;
  }
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = dnn_h5_lcpl(name), d = -1;
  if (dcpl >= 0 && lcpl >= 0 && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0)
    d = H5Dcreate2((hid_t)loc, name, ftype, space, lcpl, dcpl, H5P_DEFAULT);
  if (d < 0) dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot create it");
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  return d;
}

/* Writes buf (mtype over the whole space) into a new dataset and closes it. */
static dnn_status put_dataset(dnn_h5_id loc, const char *name, hid_t ftype, hid_t space,
                              hid_t mtype, const void *buf, bool write) {
  dnn_status st = DNN_OK;
  hid_t d = create_dataset(loc, name, ftype, space);
  if (d < 0) return dnn_error_code();
  if (write && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot write it");
  if (H5Dclose(d) < 0 && st == DNN_OK)
    st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot write it");
  return st;
}

dnn_status dnn_h5_write_tensor(dnn_h5_id loc, const char *name, const dnn_tensor *t) {
  if (dnn_tensor_device(t).type != DNN_DEVICE_CPU) {
    char dbuf[16];
    return dnn_error(DNN_ERR_DEVICE, "dataset %s: the tensor is on %s: copy it to the CPU first",
                     name, dnn_device_str(dnn_tensor_device(t), dbuf));
  }
  dnn_dtype dt = (dnn_dtype)t->dtype;
  dnn_tensor *c = dnn_contiguous((dnn_tensor *)t);
  if (!c) return dnn_error_code();
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st;
  hsize_t dims[DNN_MAX_DIMS];
  for (int i = 0; i < c->ndim; i++) dims[i] = (hsize_t)c->shape[i];
  hid_t space = c->ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(c->ndim, dims, NULL);
  if (space < 0)
    st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot make its dataspace");
  else
    st = put_dataset(loc, name, dnn_h5_file_type(dt), space, dnn_h5_mem_type(dt), dnn_data_ptr(c),
                     dnn_numel(c) > 0);
  if (space >= 0) H5Sclose(space);
  if (st == DNN_OK && (dt == DNN_BOOL || dnn_dtype_is_half(dt))) /* the stored type alone does not say */
    st = dnn_h5_attr_write_string(loc, name, DNN_H5_DTYPE_ATTR, dnn_dtype_name(dt), strlen(dnn_dtype_name(dt)),
                                  DNN_H5_STR_FIXED);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  dnn_tensor_release(c);
  return st;
}

static dnn_status write_scalar(dnn_h5_id loc, const char *name, hid_t ftype, hid_t mtype,
                               const void *v) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  hid_t space = H5Screate(H5S_SCALAR);
  dnn_status st = space < 0 ? dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO,
                                          "cannot make its dataspace")
                            : put_dataset(loc, name, ftype, space, mtype, v, true);
  if (space >= 0) H5Sclose(space);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

dnn_status dnn_h5_write_int64(dnn_h5_id loc, const char *name, int64_t v) {
  return write_scalar(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

dnn_status dnn_h5_write_double(dnn_h5_id loc, const char *name, double v) {
  return write_scalar(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

dnn_status dnn_h5_write_uint8(dnn_h5_id loc, const char *name, uint8_t v) {
  return write_scalar(loc, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, &v);
}

dnn_status dnn_h5_write_bytes(dnn_h5_id loc, const char *name, const char *s, size_t len) {
  if (len > UINT32_MAX) /* the datatype message stores a 32-bit size */
    return dnn_error(DNN_ERR_ARG, "dataset %s: a string of %zu bytes is too long for HDF5", name,
                     len);
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  hid_t t = H5Tcopy(H5T_C_S1);
  hid_t space = H5Screate(len ? H5S_SCALAR : H5S_NULL);
  if (t < 0 || space < 0 || H5Tset_size(t, len ? len : 1) < 0 ||
      H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(t, dnn_h5_is_utf8(s, len) ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0)
    st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot make its type");
  else
    st = put_dataset(loc, name, t, space, t, s, len > 0);
  if (space >= 0) H5Sclose(space);
  if (t >= 0) H5Tclose(t);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

/* ---------- reading ---------- */

/* Opens loc/name as a dataset reached by hard links only (a soft link could
 * point anywhere, an external one into another file). */
static hid_t open_dataset(dnn_h5_id loc, const char *name) {
  dnn_h5_kind k = dnn_h5_kind_of(loc, name, NULL);
  if (k == DNN_H5_NONE) {
    dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO, "no such dataset");
    return -1;
  }
  if (k != DNN_H5_DATASET) {
    dnn_h5_fail(loc, name, NULL, false, DNN_ERR_IO, "expected a dataset, found a %s",
                dnn_h5_kind_name(k));
    return -1;
  }
  hid_t d = H5Dopen2((hid_t)loc, name, H5P_DEFAULT);
  if (d < 0) dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot open it");
  return d;
}

static const char *bytes_str(uint64_t b, char *buf, size_t n) {
  if (b >= (1ull << 30))
    snprintf(buf, n, "%llu bytes (%.1f GiB)", (unsigned long long)b, (double)b / (1ull << 30));
  else
    snprintf(buf, n, "%llu bytes", (unsigned long long)b);
  return buf;
}

/* Whether the file can really hold file_bytes of d's data (see the header). */
static dnn_status check_claim(dnn_h5_id loc, const char *name, hid_t d, uint64_t file_bytes) {
  char b1[64], b2[64];
  hid_t dcpl = H5Dget_create_plist(d);
  H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
  if (dcpl >= 0) H5Pclose(dcpl);
  uint64_t stored = H5Dget_storage_size(d);
  hsize_t fsize = 0;
  hid_t f = H5Iget_file_id(d);
  if (f < 0 || H5Fget_filesize(f, &fsize) < 0)
    fsize = 0;
  if (f >= 0) H5Fclose(f);
  switch (layout) {
    case H5D_COMPACT:
      if (file_bytes <= 65536) return DNN_OK;
      break;
    case H5D_CONTIGUOUS:
      if (stored == 0 ? file_bytes <= UNWRITTEN_LIMIT : file_bytes <= fsize) return DNN_OK;
      break;
    case H5D_CHUNKED:
      if (stored == 0 ? file_bytes <= UNWRITTEN_LIMIT
                      : stored <= fsize && file_bytes / MAX_EXPANSION <= stored + UNWRITTEN_LIMIT)
        return DNN_OK;
      break;
    default:
      return dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_UNSUPPORTED,
                         "has a layout we do not read (virtual or unknown)");
  }
  return dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO,
                     "claims %s of data but the file (%llu bytes) stores %s for it",
                     bytes_str(file_bytes, b1, sizeof b1), (unsigned long long)fsize,
                     bytes_str(stored, b2, sizeof b2));
}

/* The shape of d: ndim (0 for a scalar), sizes, element count; checked. */
static dnn_status dataset_shape(dnn_h5_id loc, const char *name, hid_t space, int *ndim,
                                int64_t *shape, uint64_t *numel) {
  H5S_class_t cls = H5Sget_simple_extent_type(space);
  if (cls == H5S_NULL)
    return dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO,
                       "has a null dataspace (no elements, no shape)");
  if (cls != H5S_SCALAR && cls != H5S_SIMPLE)
    return dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "has an unreadable dataspace");
  int nd = cls == H5S_SCALAR ? 0 : H5Sget_simple_extent_ndims(space);
  if (nd < 0 || nd > DNN_MAX_DIMS)
    return dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_SHAPE,
                       "has %d dims; tensors have at most %d", nd, DNN_MAX_DIMS);
  hsize_t dims[DNN_MAX_DIMS] = {0};
  if (nd > 0 && H5Sget_simple_extent_dims(space, dims, NULL) < 0)
    return dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read its shape");
  uint64_t n = 1;
  for (int i = 0; i < nd; i++) {
    if (dims[i] > (hsize_t)INT64_MAX || !dnn_h5_mul(n, dims[i], &n) || n > (uint64_t)INT64_MAX)
      return dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_SHAPE,
                         "claims a shape whose element count overflows 64 bits");
    shape[i] = (int64_t)dims[i];
  }
  *ndim = nd;
  *numel = n;
  return DNN_OK;
}

/* The dtype d is read as: the stored type's, or bool by our attribute. */
static dnn_status dataset_dtype(dnn_h5_id loc, const char *name, hid_t ftype, dnn_dtype *dt) {
  const char *why;
  int k = dnn_h5_dtype_of_type(ftype, &why);
  if (k < 0)
    return dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_DTYPE, "holds %s, not a tensor", why);
  if (dnn_h5_attr_exists(loc, name, DNN_H5_DTYPE_ATTR)) {
    char *s = NULL;
    size_t len = 0;
    dnn_status st = dnn_h5_attr_read_string(loc, name, DNN_H5_DTYPE_ATTR, &s, &len);
    if (st != DNN_OK) return st;
    bool is_bool = len == 4 && memcmp(s, "bool", 4) == 0;
    bool is_f16 = len == 7 && memcmp(s, "float16", 7) == 0 && dnn_h5_is_half_type(ftype, DNN_FLOAT16);
    bool is_bf16 = len == 8 && memcmp(s, "bfloat16", 8) == 0 && dnn_h5_is_half_type(ftype, DNN_BFLOAT16);
    if (!(is_bool && k == DNN_UINT8) && !is_f16 && !is_bf16) {
      st = dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO,
                       "attribute %s is '%.40s' on %s data (only 'bool' on uint8, 'float16' and 'bfloat16' on "
                       "16-bit floats are known)",
                       DNN_H5_DTYPE_ATTR, s, dnn_dtype_name((dnn_dtype)k));
      free(s);
      return st;
    }
    free(s);
    k = is_f16 ? DNN_FLOAT16 : is_bf16 ? DNN_BFLOAT16 : DNN_BOOL;
  }
  *dt = (dnn_dtype)k;
  return DNN_OK;
}

/* Opens the dataset and works out what reading it would give. */
typedef struct {
  hid_t d, ftype, space;
  int ndim;
  int64_t shape[DNN_MAX_DIMS];
  uint64_t numel;
  dnn_dtype dt;
} tensor_plan;

static void plan_close(tensor_plan *p) {
  if (p->space >= 0) H5Sclose(p->space);
  if (p->ftype >= 0) H5Tclose(p->ftype);
  if (p->d >= 0) H5Dclose(p->d);
}

static dnn_status plan_tensor(dnn_h5_id loc, const char *name, tensor_plan *p) {
  memset(p, 0, sizeof *p);
  p->ftype = p->space = -1;
  p->d = open_dataset(loc, name);
  if (p->d < 0) return dnn_error_code();
  p->ftype = H5Dget_type(p->d);
  p->space = H5Dget_space(p->d);
  if (p->ftype < 0 || p->space < 0)
    return dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read its type and shape");
  dnn_status st = dataset_dtype(loc, name, p->ftype, &p->dt);
  if (st != DNN_OK) return st;
  return dataset_shape(loc, name, p->space, &p->ndim, p->shape, &p->numel);
}

dnn_status dnn_h5_dataset_info(dnn_h5_id loc, const char *name, int *ndim,
                               int64_t shape[DNN_MAX_DIMS], dnn_dtype *dt) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  tensor_plan p;
  dnn_status st = plan_tensor(loc, name, &p);
  if (st == DNN_OK) {
    *ndim = p.ndim;
    memcpy(shape, p.shape, sizeof p.shape);
    *dt = p.dt;
  }
  plan_close(&p);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

dnn_tensor *dnn_h5_read_tensor(dnn_h5_id loc, const char *name) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_tensor *t = NULL;
  hid_t mtype = -1;
  tensor_plan p;
  uint64_t file_bytes;
  dnn_status st = plan_tensor(loc, name, &p);
  if (st != DNN_OK) goto done;
  if (!dnn_h5_mul(p.numel, H5Tget_size(p.ftype), &file_bytes)) {
    dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_SHAPE, "claims more than 2^64 bytes");
    goto done;
  }
  if (check_claim(loc, name, p.d, file_bytes) != DNN_OK) goto done;
  /* h5py's bool is an enum: read it raw (0/1 bytes) in its native form. */
  bool is_enum = H5Tget_class(p.ftype) == H5T_ENUM;
  mtype = is_enum ? H5Tget_native_type(p.ftype, H5T_DIR_ASCEND) : H5Tcopy(dnn_h5_mem_type(p.dt));
  t = mtype < 0 ? NULL : dnn_empty(p.ndim, p.shape, p.dt, DNN_CPU);
  if (!t) {
    if (mtype < 0) dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot make its type");
    goto done;
  }
  if (p.numel > 0 && H5Dread(p.d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, dnn_data_ptr(t)) < 0) {
    dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read its data");
    dnn_tensor_release(t);
    t = NULL;
    goto done;
  }
  if (p.dt == DNN_BOOL) { /* any other byte would break bool kernels' assumptions */
    uint8_t *b = dnn_data_ptr(t);
    for (uint64_t i = 0; i < p.numel; i++) b[i] = b[i] != 0;
  }
done:
  if (mtype >= 0) H5Tclose(mtype);
  plan_close(&p);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return t;
}

static dnn_status read_string_scalar(dnn_h5_id loc, const char *name, hid_t d, hid_t ftype,
                                     hid_t space, dnn_h5_scalar *out) {
  out->kind = DNN_H5_SCALAR_BYTES;
  if (H5Sget_simple_extent_type(space) == H5S_NULL) { /* how we store "" */
    out->s = calloc(1, 1);
    return out->s ? DNN_OK : dnn_error(DNN_ERR_MEMORY, "out of memory");
  }
  dnn_status st = DNN_OK;
  hid_t mt = H5Tcopy(ftype);
  if (mt < 0) return dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read its type");
  if (H5Tis_variable_str(ftype) > 0) { /* through our own heap reader: see h5_vlen.h */
    char why[400];
    if (!dnn_h5_vlen_read(d, false, 1, &out->s, &out->len, why, sizeof why))
      st = dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO, "cannot read it: %s", why);
  } else {
    size_t size = H5Tget_size(ftype);
    if ((st = check_claim(loc, name, d, size)) == DNN_OK) {
      out->s = malloc(size + 1);
      if (!out->s) {
        st = dnn_error(DNN_ERR_MEMORY, "out of memory");
      } else if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->s) < 0) {
        st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read it");
      } else {
        out->s[size] = 0;
        out->len = size;
      }
    }
  }
  if (st != DNN_OK) {
    free(out->s);
    out->s = NULL;
  }
  H5Tclose(mt);
  return st;
}

dnn_status dnn_h5_read_scalar(dnn_h5_id loc, const char *name, dnn_h5_scalar *out) {
  memset(out, 0, sizeof *out);
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  dnn_status st = DNN_OK;
  hid_t ftype = -1, space = -1;
  hid_t d = open_dataset(loc, name);
  if (d < 0) {
    st = dnn_error_code();
    goto done;
  }
  ftype = H5Dget_type(d);
  space = H5Dget_space(d);
  if (ftype < 0 || space < 0) {
    st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read its type and shape");
    goto done;
  }
  H5T_class_t cls = H5Tget_class(ftype);
  hssize_t np = H5Sget_simple_extent_npoints(space);
  bool null_string = cls == H5T_STRING && H5Sget_simple_extent_type(space) == H5S_NULL;
  if (np != 1 && !null_string) {
    st = dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO,
                     "holds %lld elements, expected a single value", (long long)np);
  } else if (cls == H5T_STRING) {
    st = read_string_scalar(loc, name, d, ftype, space, out);
  } else if (cls == H5T_INTEGER) {
    if (H5Tget_size(ftype) >= 8 && H5Tget_sign(ftype) == H5T_SGN_NONE)
      st = dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO,
                       "holds an unsigned 64-bit integer (Lua integers are signed)");
    else if (H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &out->i) < 0)
      st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read it");
    out->kind = DNN_H5_SCALAR_INT;
  } else if (cls == H5T_FLOAT) {
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &out->d) < 0)
      st = dnn_h5_fail(loc, name, "dataset", true, DNN_ERR_IO, "cannot read it");
    out->kind = DNN_H5_SCALAR_FLOAT;
  } else {
    st = dnn_h5_fail(loc, name, "dataset", false, DNN_ERR_IO,
                     "holds %s data, expected a number or a string", dnn_h5_class_name(ftype));
  }
done:
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  if (d >= 0) H5Dclose(d);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}
