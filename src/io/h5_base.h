/* HDF5 helper layer, part 1: the error scope, messages and dtype mapping
 * shared by h5_file.c, h5_group.c, h5_dataset.c and h5_attr.c.
 * The conventions of the whole layer are in src/dnn/hdf5.h. */
#ifndef DNN_IO_H5_BASE_H
#define DNN_IO_H5_BASE_H

#include <stdbool.h>
#include <stddef.h>

#include "dnn.h"

/* Switches HDF5's automatic error printing off until dnn_h5_quiet_end puts
 * back whatever the caller had.  Every helper of this layer runs inside one,
 * so a failing HDF5 call never prints its stack to stderr. */
typedef struct {
  void (*func)(void); /* the saved H5E_auto2_t, as a generic function pointer */
  void *data;
} dnn_h5_quiet;

void dnn_h5_quiet_begin(dnn_h5_quiet *q);
void dnn_h5_quiet_end(const dnn_h5_quiet *q);

/* The innermost message of HDF5's current error stack ("truncated file: eof =
 * ..."), or "" when the stack is empty.  Call it right after the failing HDF5
 * call: any HDF5 call clears the stack. */
const char *dnn_h5_detail(char *buf, size_t n);

/* The path inside the file of loc/name ("/a/b"), or of loc when name is NULL,
 * "." or empty. */
const char *dnn_h5_path(dnn_h5_id loc, const char *name, char *buf, size_t n);

/* Records "<what> <path>: <message>[: <HDF5 detail>]" (what: "dataset",
 * "group", "attribute 'x' of", ...) and returns code.  The HDF5 detail is
 * taken first, so call it right after the HDF5 failure, before cleanup. */
dnn_status dnn_h5_fail(dnn_h5_id loc, const char *name, const char *what, bool with_detail,
                       dnn_status code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The HDF5 types of a dtype: in files (little-endian, as h5py writes them)
 * and in memory (native).  bool is stored as uint8 (see h5_dataset.h);
 * float16 as IEEE binary16 (h5py's float16) and bfloat16 as a 16-bit float
 * type with an 8-bit exponent, both marked by the dtype attribute.
 * Library-owned ids: never close them. */
dnn_h5_id dnn_h5_file_type(dnn_dtype dt);
dnn_h5_id dnn_h5_mem_type(dnn_dtype dt);
/* True when type is the 16-bit float layout of dt (float16 or bfloat16). */
bool dnn_h5_is_half_type(dnn_h5_id type, dnn_dtype dt);

/* The dtype a stored numeric type is read as: float16/32 -> float32 (float16
 * only when the dtype attribute says so, see h5_dataset.c), float64
 * (and wider) -> float64, uint8 -> uint8, int8/int16/uint16/int32 -> int32,
 * uint32/int64 -> int64, h5py's bool enum -> bool.  -1 for anything else
 * (uint64, strings, compounds, ...), with *why naming the stored type. */
int dnn_h5_dtype_of_type(dnn_h5_id type, const char **why);

/* A short name of a stored type's class for messages ("string", "compound"). */
const char *dnn_h5_class_name(dnn_h5_id type);

/* True when s[0..n) is valid UTF-8 (links and strings are then marked UTF-8,
 * which h5py decodes to str). */
bool dnn_h5_is_utf8(const char *s, size_t n);

/* A link creation property list marking the name's character set; close it
 * with H5Pclose (-1 on failure). */
dnn_h5_id dnn_h5_lcpl(const char *name);

/* The size in bytes of the file holding obj (0 when unknown): what a
 * stored object can claim at most. */
uint64_t dnn_h5_file_size(dnn_h5_id obj);

/* bytes = a * b without overflow; false when it would overflow. */
static inline bool dnn_h5_mul(uint64_t a, uint64_t b, uint64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

#endif
