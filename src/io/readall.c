/* Whole files into memory (see readall.h). */
#include "readall.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dnn_status dnn_read_all(const char *op, const char *path, size_t max_bytes, char **buf, size_t *n) {
  *buf = NULL;
  *n = 0;
  if (!path || !*path) return dnn_error(DNN_ERR_ARG, "%s: the path is empty", op);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return dnn_error(DNN_ERR_IO, "%s: %.300s: no such file", op, path);
    return dnn_error(DNN_ERR_IO, "%s: %.300s: cannot open: %s", op, path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return dnn_error(DNN_ERR_IO, "%s: %.300s: cannot stat: %s", op, path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return dnn_error(DNN_ERR_IO, "%s: %.300s: is a directory, not a file", op, path);
  }
  if (max_bytes && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
    close(fd);
    return dnn_error(DNN_ERR_IO, "%s: %.300s: %lld bytes, more than the %zu this reader takes",
                     op, path, (long long)st.st_size, max_bytes);
  }
  /* Regular files are read in one go; pipes and the like grow the buffer. */
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, len = 0;
  char *b = malloc(cap);
  if (!b) {
    close(fd);
    return dnn_error(DNN_ERR_MEMORY, "%s: %.300s: out of memory for %zu bytes", op, path, cap);
  }
  for (;;) {
    if (len + 1 >= cap) {
      if (max_bytes && len >= max_bytes) {
        free(b);
        close(fd);
        return dnn_error(DNN_ERR_IO, "%s: %.300s: more than the %zu bytes this reader takes", op,
                         path, max_bytes);
      }
      char *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        close(fd);
        return dnn_error(DNN_ERR_MEMORY, "%s: %.300s: out of memory", op, path);
      }
      b = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, b + len, cap - 1 - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(b);
      close(fd);
      return dnn_error(DNN_ERR_IO, "%s: %.300s: cannot read: %s", op, path, strerror(e));
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  b[len] = 0;
  *buf = b;
  *n = len;
  return DNN_OK;
}

int dnn_open_temp_beside(const char *path, char *tmp, size_t tmpsize) {
  static int counter;
  for (int attempt = 0; attempt < 100; attempt++) {
    int k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    if (snprintf(tmp, tmpsize, "%s.tmp-%ld-%d", path, (long)getpid(), k) >= (int)tmpsize) {
      errno = ENAMETOOLONG;
      return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}
