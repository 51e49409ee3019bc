/* HDF5 helper layer, part 6: variable-length strings read without HDF5's
 * global-heap code.
 *
 * A vlen string is stored as a reference (length, heap collection address,
 * object index) to an object in a "global heap collection".  libhdf5 1.10
 * trusts those structures: a collection whose free-space object has size 0
 * makes it loop forever, an index past the collection's table or an object
 * larger than the reference's length makes it read or write out of bounds.
 * So we never let it follow the references: a conversion function we
 * register hands us the references as they are in the file (HDF5 converts
 * vlen strings to an opaque type of ours by copying the bytes), and we read
 * each collection with pread, checking every size against the collection
 * and the file before using it. */
#ifndef DNN_IO_H5_VLEN_H
#define DNN_IO_H5_VLEN_H

#include <stdbool.h>
#include <stddef.h>

#include "dnn.h"

/* Reads the n vlen strings of attribute or dataset obj (is_attr says which;
 * its type must be a variable-length string) into s[i] (malloc'd,
 * NUL-terminated) and len[i]; a NULL reference reads as "".  On failure
 * returns false with s[] freed and a reason in why ("string 3: the global
 * heap collection at 2048 ...") for the caller to put in its message. */
bool dnn_h5_vlen_read(dnn_h5_id obj, bool is_attr, size_t n, char **s, size_t *len, char *why,
                      size_t whyn);

#endif
