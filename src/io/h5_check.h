/* HDF5 helper layer, part 7: checking a file to read in a separate process.
 *
 * libhdf5 itself is not safe on damaged or hostile files: the Debian 1.10.8
 * we build against reads past its buffers decoding some object-header
 * messages and loops forever on some damaged heaps, and newer releases still
 * fix such bugs every year.  We cannot fix the library, so before the
 * process opens a file for reading, a forked child opens it and reads what
 * the loaders can read (every group, attribute and dataset's metadata, the
 * data of chunked datasets and of any dataset up to 16 MB), through the same
 * helpers.  Only when the child finishes normally does the process
 * itself go on; when it crashes or runs past the time limit, the file is
 * refused with a message naming it, and nothing of it has touched this
 * process.  Errors the child meets are not failures: the process meets them
 * again and reports them in context.
 *
 * Environment:
 *   DNN_H5_CHECK=0            skip the check (files you trust, or no fork)
 *   DNN_H5_CHECK_TIMEOUT=s    the child's time limit in seconds (default 30 s
 *                             plus 1 s per 20 MB of file)
 *   DNN_H5_CHECK_QUIET=1      the child dies silently: no sanitizer report, no
 *                             fuzzer artifact (scripts/bench/fuzz sets it)
 * A file found fine is not checked again while stat shows it unchanged
 * (device, inode, size, mtime and ctime to the nanosecond). */
#ifndef DNN_IO_H5_CHECK_H
#define DNN_IO_H5_CHECK_H

#include <stdbool.h>

#include "dnn.h"

/* DNN_OK when the file may be opened here (or the check is off or cannot
 * run); else the error is recorded ("<path>: HDF5 crashed checking it ..."). */
dnn_status dnn_h5_check_file(const char *path, uint64_t file_size);

/* True inside the checking child (dnn_h5_open_read does not check again). */
bool dnn_h5_in_check(void);

#endif
