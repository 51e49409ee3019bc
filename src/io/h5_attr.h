/* HDF5 helper layer, part 5: attributes.
 *
 * Every function names the object carrying the attribute by (loc, obj): obj
 * is a path relative to loc, "." (or NULL) for loc itself.  Writing an
 * attribute that exists replaces it (as h5py's attrs[name] = v does).
 *
 * Strings come in the two forms h5py writes:
 *   DNN_H5_STR_FIXED  fixed-length, NUL-padded, ASCII-marked bytes: numpy's
 *                     'S' dtype.  Keras writes layer_names, weight_names and
 *                     (older versions) model_config this way;
 *   DNN_H5_STR_VLEN   variable-length UTF-8: a Python str (newer Keras'
 *                     model_config, keras_version, backend).
 * Readers accept both, scalar or array.  A fixed-length string loses its
 * trailing NUL bytes (they are padding, as numpy reads them); a variable-length
 * one ends at its first NUL, so write strings holding NULs as datasets
 * (dnn_h5_write_bytes) instead. */
#ifndef DNN_IO_H5_ATTR_H
#define DNN_IO_H5_ATTR_H

#include <stdbool.h>

#include "dnn.h"

/* What an attribute holds. */
typedef enum {
  DNN_H5_ATTR_NONE,   /* no such attribute (or the object is missing) */
  DNN_H5_ATTR_STRING, /* fixed or variable-length strings */
  DNN_H5_ATTR_INT,
  DNN_H5_ATTR_FLOAT,
  DNN_H5_ATTR_OTHER,  /* compound, enum, reference, ... */
} dnn_h5_attr_class;

/* Class of attr, its element count and whether its dataspace is scalar
 * (count and scalar may be NULL). */
dnn_h5_attr_class dnn_h5_attr_info(dnn_h5_id loc, const char *obj, const char *attr,
                                   int64_t *count, bool *scalar);
bool dnn_h5_attr_exists(dnn_h5_id loc, const char *obj, const char *attr);
/* Removes attr; DNN_OK when it was not there. */
dnn_status dnn_h5_attr_delete(dnn_h5_id loc, const char *obj, const char *attr);
/* The attribute names of obj, in name order. */
dnn_status dnn_h5_attr_names(dnn_h5_id loc, const char *obj, dnn_h5_strings *out);

/* One string, scalar dataspace.  FIXED stores exactly len bytes (one NUL for
 * ""); VLEN needs valid UTF-8 without NUL bytes. */
dnn_status dnn_h5_attr_write_string(dnn_h5_id loc, const char *obj, const char *attr,
                                    const char *s, size_t len, dnn_h5_strkind kind);
/* One string (a scalar or a one-element array), as a malloc'd NUL-terminated
 * buffer of *len bytes. */
dnn_status dnn_h5_attr_read_string(dnn_h5_id loc, const char *obj, const char *attr, char **s,
                                   size_t *len);

/* A 1-d array of n strings (lens may be NULL: strlen).  FIXED makes every
 * element as wide as the longest (at least 1), like numpy's np.array of
 * bytes; n == 0 gives an empty array. */
dnn_status dnn_h5_attr_write_strings(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                     const char *const *s, const size_t *lens,
                                     dnn_h5_strkind kind);
/* All strings of a string attribute of any shape (row-major); a scalar gives
 * one.  Free with dnn_h5_strings_free. */
dnn_status dnn_h5_attr_read_strings(dnn_h5_id loc, const char *obj, const char *attr,
                                    dnn_h5_strings *out);

/* Numbers: int64 or float64, as a scalar (n must be 1) or a 1-d array of n. */
dnn_status dnn_h5_attr_write_int64s(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                    const int64_t *v, bool scalar);
dnn_status dnn_h5_attr_write_doubles(dnn_h5_id loc, const char *obj, const char *attr, int64_t n,
                                     const double *v, bool scalar);

typedef struct {
  int64_t n;
  bool scalar;
  bool is_int; /* integers in i[] (any stored integer type but uint64), else doubles in d[] */
  int64_t *i;
  double *d;
} dnn_h5_numbers;

/* Every element of a numeric attribute (row-major).  Free with dnn_h5_numbers_free. */
dnn_status dnn_h5_attr_read_numbers(dnn_h5_id loc, const char *obj, const char *attr,
                                    dnn_h5_numbers *out);
void dnn_h5_numbers_free(dnn_h5_numbers *n);

#endif
