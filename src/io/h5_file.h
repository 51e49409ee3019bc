/* HDF5 helper layer, part 2: files.
 *
 * Writing is atomic.  dnn_h5_writer_begin creates "<path>.tmp-<pid>-<n>" in
 * the target's directory (same file system, so rename is atomic) and opens it
 * as a new HDF5 file; the caller writes groups, datasets and attributes below
 * dnn_h5_writer_root; then exactly one of
 *   dnn_h5_writer_commit: closes the file (every object left open with it),
 *     fsyncs it, gives it the mode of the file it replaces, renames it over
 *     the target and fsyncs the directory, so after a crash the target holds
 *     either the old file or the complete new one;
 *   dnn_h5_writer_abort: closes and removes the temporary file.
 * Both free the writer.  On any failure of commit the temporary file is
 * removed and an existing target is left untouched.
 *
 * Files are written with the HDF5 1.8 object format (readable by h5py and any
 * HDF5 >= 1.8): it tracks creation order and stores attributes over 64 KiB.
 *
 * Reading: dnn_h5_open_read tells apart, with a message naming the file,
 *   a missing file, a directory, a file without the HDF5 signature and one
 *   HDF5 cannot open (truncated, damaged).  Close with dnn_h5_close. */
#ifndef DNN_IO_H5_FILE_H
#define DNN_IO_H5_FILE_H

#include "dnn.h"

/* NULL with the error recorded ("<path>: cannot create a temporary file
 * beside it: Permission denied"). */
dnn_h5_writer *dnn_h5_writer_begin(const char *path);
/* The open file: use it as the location of the root group "/". */
dnn_h5_id dnn_h5_writer_root(const dnn_h5_writer *w);
const char *dnn_h5_writer_temp_path(const dnn_h5_writer *w);
const char *dnn_h5_writer_target(const dnn_h5_writer *w);
dnn_status dnn_h5_writer_commit(dnn_h5_writer *w);
void dnn_h5_writer_abort(dnn_h5_writer *w);

/* A file id opened read-only, or -1 with the error recorded. */
dnn_h5_id dnn_h5_open_read(const char *path);
/* Closes a file id and every object still open in it. */
dnn_status dnn_h5_close(dnn_h5_id file);

/* HDF5 files, groups, datasets, datatypes and attributes open in this
 * process: 0 once every writer and reader is closed (the specs check that
 * error paths leak no identifiers). */
int64_t dnn_h5_open_objects(void);

#endif
