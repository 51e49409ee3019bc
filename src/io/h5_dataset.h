/* HDF5 helper layer, part 4: datasets.
 *
 * Tensors are datasets of the matching little-endian HDF5 type (what numpy
 * and h5py use): float32 <-> f4, float64 <-> f8, int32 <-> i4, int64 <-> i8,
 * uint8 <-> u1.  bool is stored as u1 with the attribute dnnlua_dtype =
 * "bool" (h5py reads a uint8 array; we read a bool tensor back).  A 0-d
 * tensor is a scalar dataspace, an empty one a dataspace with a 0 extent.
 * Data is stored contiguously, uncompressed, so h5py reads it as is.
 *
 * Reading also accepts what h5py writes from other numpy types (see
 * dnn_h5_dtype_of_type in h5_base.h: float16 -> float32, int8/int16/uint16 ->
 * int32, uint32 -> int64, numpy bool -> bool) and any byte order, contiguous,
 * compact or chunked (compressed) layout.
 *
 * A dataset's claimed size is checked against what the file can hold before
 * anything is allocated: contiguous data must fit in the file, chunked data
 * cannot expand more than compression allows (about 1000:1), and data never
 * written (read as its fill value) may not exceed 1 MiB.  So a small hostile
 * file claiming a terabyte dataset is an error, not an allocation. */
#ifndef DNN_IO_H5_DATASET_H
#define DNN_IO_H5_DATASET_H

#include <stdbool.h>

#include "dnn.h"

/* The attribute that marks a uint8 dataset as a bool tensor. */
#define DNN_H5_DTYPE_ATTR "dnnlua_dtype"

/* Writes a CPU tensor (any layout: it is made contiguous) as dataset loc/name. */
dnn_status dnn_h5_write_tensor(dnn_h5_id loc, const char *name, const dnn_tensor *t);
/* Shape and dtype a dataset would be read as, without reading its data. */
dnn_status dnn_h5_dataset_info(dnn_h5_id loc, const char *name, int *ndim,
                               int64_t shape[DNN_MAX_DIMS], dnn_dtype *dt);
/* Reads dataset loc/name into a new CPU tensor. */
dnn_tensor *dnn_h5_read_tensor(dnn_h5_id loc, const char *name);

/* Scalar datasets (scalar dataspace): int64, float64 and uint8 numbers, and
 * byte strings stored as a fixed-length string of exactly len bytes (NULs
 * included; an empty string has a null dataspace, which h5py reads as Empty). */
dnn_status dnn_h5_write_int64(dnn_h5_id loc, const char *name, int64_t v);
dnn_status dnn_h5_write_double(dnn_h5_id loc, const char *name, double v);
dnn_status dnn_h5_write_uint8(dnn_h5_id loc, const char *name, uint8_t v);
dnn_status dnn_h5_write_bytes(dnn_h5_id loc, const char *name, const char *s, size_t len);

typedef enum { DNN_H5_SCALAR_INT, DNN_H5_SCALAR_FLOAT, DNN_H5_SCALAR_BYTES } dnn_h5_scalar_kind;
typedef struct {
  dnn_h5_scalar_kind kind;
  int64_t i;  /* DNN_H5_SCALAR_INT: any integer type but uint64 */
  double d;   /* DNN_H5_SCALAR_FLOAT */
  char *s;    /* DNN_H5_SCALAR_BYTES: malloc'd, NUL-terminated, len bytes */
  size_t len;
} dnn_h5_scalar;

/* Reads a dataset holding one value (scalar dataspace or one element; a null
 * dataspace of a string type is the empty string).  Fixed-length strings are
 * read with every byte (trailing NULs too); variable-length ones up to their
 * end.  Free s with free(). */
dnn_status dnn_h5_read_scalar(dnn_h5_id loc, const char *name, dnn_h5_scalar *out);

#endif
