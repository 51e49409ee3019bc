/* Engine API of HDF5 files (included at the end of dnn.h).
 *
 * The types here are shared by the helper layer in src/io/h5_*.h, which does
 * the work (every function there is declared in one of those headers):
 *
 *   io/h5_base.h     error scope (HDF5's own error printing switched off while
 *                    our calls run), messages, dtype <-> HDF5 type mapping
 *   io/h5_file.h     the atomic writer (begin -> write -> commit | abort) and
 *                    opening a file for reading with clear messages for bad files
 *   io/h5_group.h    groups (creation order tracked), members in creation or
 *                    name order, object kinds and identities, hard links
 *   io/h5_dataset.h  tensors as datasets (size-checked before allocating),
 *                    scalar numbers and byte strings as datasets
 *   io/h5_attr.h     attributes: strings (fixed 'S' and variable-length UTF-8),
 *                    arrays of strings (Keras' layer_names), numbers
 *
 * Headers of src/io/h5_*.h need no HDF5 header: an HDF5 identifier travels as
 * a dnn_h5_id (hid_t is a 64-bit integer since HDF5 1.10; h5_base.c asserts
 * it).  Only src/io/h5_*.c include <hdf5.h>, so the bindings can use the
 * helpers without HDF5's include path.
 *
 * Conventions of the helper layer:
 *  - An object is named by a location (a file or group id) and a path relative
 *    to it ("." or "/" for the location itself, "a/b" below it).
 *  - Failing functions record a dnn_error and return an error status, NULL or
 *    a negative id.  Messages of object-level helpers name the object's path
 *    inside the file ("dataset /a/b: ..."); they do not name the file, so the
 *    caller prefixes it (dnn_error_prefix).  File-level helpers name the file.
 *  - HDF5 never prints its error stack while a helper runs; the caller's
 *    H5Eset_auto setting is restored on return.
 *  - Whatever the helpers return that must be freed says so. */
#ifndef DNN_HDF5_H
#define DNN_HDF5_H

#include <stdint.h>

/* An HDF5 identifier (hid_t); negative means invalid / failed. */
typedef int64_t dnn_h5_id;

/* The order in which a group's members (or an object's attributes) are listed. */
typedef enum {
  DNN_H5_ORDER_AUTO,     /* creation order where the group tracks it, else by name */
  DNN_H5_ORDER_CREATION, /* error if the group does not track creation order */
  DNN_H5_ORDER_NAME,     /* byte-wise ascending, as h5py lists untracked groups */
} dnn_h5_order;

/* What a path names, without following soft or external links. */
typedef enum {
  DNN_H5_NONE,          /* nothing there */
  DNN_H5_GROUP,
  DNN_H5_DATASET,
  DNN_H5_DATATYPE,      /* a committed (named) datatype */
  DNN_H5_SOFT_LINK,
  DNN_H5_EXTERNAL_LINK, /* never followed: it would open another file */
  DNN_H5_OTHER,
} dnn_h5_kind;

/* How a string attribute is stored. */
typedef enum {
  DNN_H5_STR_FIXED, /* fixed-length, NUL-padded bytes: h5py's 'S' dtype, numpy bytes */
  DNN_H5_STR_VLEN,  /* variable-length UTF-8: what h5py writes for a Python str */
} dnn_h5_strkind;

/* A list of byte strings (member names, attribute names, string arrays).
 * Each s[i] is NUL-terminated and len[i] bytes long (it may hold NULs). */
typedef struct {
  int64_t n;
  char **s;
  size_t *len;
} dnn_h5_strings;

void dnn_h5_strings_free(dnn_h5_strings *l);

/* An object's identity within the process (file number + address): two paths
 * with equal keys are hard links to one object. */
typedef struct {
  unsigned char bytes[32];
} dnn_h5_objkey;

/* The atomic writer of h5_file.h. */
typedef struct dnn_h5_writer dnn_h5_writer;

#endif
