/* Whole files into memory, for the decoders that work on a buffer (PNG, CSV)
 * so that a file and a fuzzer's input go through the same code. */
#ifndef DNN_IO_READALL_H
#define DNN_IO_READALL_H

#include <stddef.h>

#include "dnn.h"

/* Reads path into a malloc'd buffer (*buf, *n; one extra NUL byte after the
 * data so text parsers may look one past the end).  Errors name op and path:
 * "read_png: a.png: no such file", "...: is a directory", "...: cannot read:
 * Permission denied".  max_bytes bounds the size (0: no bound). */
dnn_status dnn_read_all(const char *op, const char *path, size_t max_bytes, char **buf, size_t *n);

/* A fresh temporary name beside path, created exclusively: the descriptor,
 * or -1 with errno set.  tmp gets the name (>= 4096 bytes). */
int dnn_open_temp_beside(const char *path, char *tmp, size_t tmpsize);

#endif
