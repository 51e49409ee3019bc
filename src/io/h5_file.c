/* HDF5 helper layer: the atomic writer and opening files to read (h5_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/h5_base.h"
#include "io/h5_check.h"
#include "io/h5_file.h"

struct dnn_h5_writer {
  hid_t file;
  bool had_target; /* a regular file was there: its mode is kept */
  mode_t mode;
  char *target;
  char *temp;
};

/* sec2 (plain POSIX I/O, so the bytes are in the kernel once closed); STRONG
 * close, so closing the file closes any object a caller left open instead of
 * keeping the file open behind our back; no file locks, which some file
 * systems refuse and which we do not need (writers never share a file). */
static hid_t make_fapl(bool writing) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return -1;
  if (H5Pset_fapl_sec2(fapl) < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
      (writing && H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0)) {
    H5Pclose(fapl);
    return -1;
  }
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl, false, true);
#endif
  return fapl;
}

/* Records "<path>: <message>" (file-level errors name the file themselves). */
static dnn_status file_fail(const char *path, dnn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static dnn_status file_fail(const char *path, dnn_status code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  H5Eclear2(H5E_DEFAULT);
  return dnn_error(code, "%s: %s", path, msg);
}

/* A fresh name beside the target, reserved with O_EXCL. */
static char *reserve_temp(const char *path, int *err) {
  static int counter;
  size_t n = strlen(path) + 64;
  char *tmp = malloc(n);
  if (!tmp) {
    *err = ENOMEM;
    return NULL;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    int k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    snprintf(tmp, n, "%s.tmp-%ld-%d", path, (long)getpid(), k);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      close(fd);
      return tmp;
    }
    if (errno != EEXIST) break;
  }
  *err = errno;
  free(tmp);
  return NULL;
}

static void writer_free(dnn_h5_writer *w) {
  free(w->target);
  free(w->temp);
  free(w);
}

dnn_h5_writer *dnn_h5_writer_begin(const char *path) {
  if (!path || !*path) {
    dnn_error(DNN_ERR_ARG, "the path is empty");
    return NULL;
  }
  struct stat st;
  bool had = false;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      file_fail(path, DNN_ERR_IO, "is a directory");
      return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
      file_fail(path, DNN_ERR_IO, "exists and is not a regular file");
      return NULL;
    }
    had = true;
  }
  dnn_h5_writer *w = calloc(1, sizeof *w);
  if (w) w->target = strdup(path);
  if (!w || !w->target) {
    if (w) free(w);
    dnn_error(DNN_ERR_MEMORY, "%s: out of memory", path);
    return NULL;
  }
  w->file = -1;
  w->had_target = had;
  w->mode = had ? st.st_mode & 07777 : 0;
  int err = 0;
  w->temp = reserve_temp(path, &err);
  if (!w->temp) {
    file_fail(path, DNN_ERR_IO, "cannot create a temporary file beside it: %s", strerror(err));
    writer_free(w);
    return NULL;
  }

  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  hid_t fapl = make_fapl(true), fcpl = H5Pcreate(H5P_FILE_CREATE);
  /* The root group tracks creation order like every group we create. */
  if (fapl >= 0 && fcpl >= 0 &&
      H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
    w->file = H5Fcreate(w->temp, H5F_ACC_TRUNC, fcpl, fapl);
  if (w->file < 0) {
    char detail[512];
    dnn_h5_detail(detail, sizeof detail);
    file_fail(path, DNN_ERR_IO, "cannot create the HDF5 file %s: %s", w->temp, detail);
  }
  if (fapl >= 0) H5Pclose(fapl);
  if (fcpl >= 0) H5Pclose(fcpl);
  dnn_h5_quiet_end(&q);
  if (w->file < 0) {
    unlink(w->temp);
    writer_free(w);
    return NULL;
  }
  return w;
}

dnn_h5_id dnn_h5_writer_root(const dnn_h5_writer *w) { return w->file; }
const char *dnn_h5_writer_temp_path(const dnn_h5_writer *w) { return w->temp; }
const char *dnn_h5_writer_target(const dnn_h5_writer *w) { return w->target; }

void dnn_h5_writer_abort(dnn_h5_writer *w) {
  if (!w) return;
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  if (w->file >= 0) H5Fclose(w->file);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  unlink(w->temp);
  writer_free(w);
}

/* Data first, then the name: fsync the file's bytes (any descriptor of the
 * inode will do, and HDF5's own is gone once the file is closed). */
static int fsync_path(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) return errno;
  int e = fsync(fd) == 0 || errno == EINVAL ? 0 : errno; /* EINVAL: no fsync here (pipes, some fs) */
  close(fd);
  return e;
}

dnn_status dnn_h5_writer_commit(dnn_h5_writer *w) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  herr_t r = H5Fflush(w->file, H5F_SCOPE_GLOBAL);
  char detail[512] = "";
  if (r < 0) dnn_h5_detail(detail, sizeof detail);
  if (H5Fclose(w->file) < 0 && r >= 0) {
    r = -1;
    dnn_h5_detail(detail, sizeof detail);
  }
  w->file = -1;
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);

  dnn_status st = DNN_OK;
  int e;
  if (r < 0)
    st = file_fail(w->target, DNN_ERR_IO, "cannot finish writing: %s", detail);
  else if ((e = fsync_path(w->temp, O_RDONLY)) != 0)
    st = file_fail(w->target, DNN_ERR_IO, "cannot flush the new file to disk: %s", strerror(e));
  else if (w->had_target && chmod(w->temp, w->mode) != 0 && errno != EPERM)
    st = file_fail(w->target, DNN_ERR_IO, "cannot set the mode of the new file: %s",
                   strerror(errno));
  else if (rename(w->temp, w->target) != 0)
    st = file_fail(w->target, DNN_ERR_IO, "cannot replace it with the new file: %s",
                   strerror(errno));
  if (st != DNN_OK) {
    unlink(w->temp);
    writer_free(w);
    return st;
  }
  /* The rename is done; a directory that cannot be fsynced (some file
   * systems) leaves it to the kernel, which is all we could do anyway. */
  char *dir = strdup(w->target);
  if (dir) {
    fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY);
    free(dir);
  }
  writer_free(w);
  return DNN_OK;
}

dnn_h5_id dnn_h5_open_read(const char *path) {
  if (!path || !*path) {
    dnn_error(DNN_ERR_ARG, "the path is empty");
    return -1;
  }
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      file_fail(path, DNN_ERR_IO, "no such file");
    else
      file_fail(path, DNN_ERR_IO, "cannot open: %s", strerror(errno));
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    file_fail(path, DNN_ERR_IO, "is a directory, not an HDF5 file");
    return -1;
  }
  if (!S_ISREG(st.st_mode)) { /* a FIFO would block, a device never ends */
    file_fail(path, DNN_ERR_IO, "not a regular file");
    return -1;
  }
  if (st.st_size == 0) {
    file_fail(path, DNN_ERR_IO, "the file is empty, not an HDF5 file");
    return -1;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    file_fail(path, DNN_ERR_IO, "cannot open: %s", strerror(errno));
    return -1;
  }
  close(fd);

  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  hid_t file = -1;
  htri_t is = H5Fis_hdf5(path);
  char detail[512] = "";
  if (is == 0) {
    file_fail(path, DNN_ERR_IO, "not an HDF5 file (no HDF5 signature)");
  } else if (is < 0) {
    dnn_h5_detail(detail, sizeof detail);
    file_fail(path, DNN_ERR_IO, "cannot read it as HDF5: %s", detail);
  } else if (dnn_h5_check_file(path, (uint64_t)st.st_size) != DNN_OK) {
    /* recorded: HDF5 crashed or hung on it in the check process (h5_check.h) */
  } else {
    hid_t fapl = make_fapl(false);
    if (fapl >= 0) file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (file < 0) {
      dnn_h5_detail(detail, sizeof detail);
      file_fail(path, DNN_ERR_IO, "HDF5 cannot open it (truncated or damaged?): %s", detail);
    }
    if (fapl >= 0) H5Pclose(fapl);
  }
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return file;
}

dnn_status dnn_h5_close(dnn_h5_id file) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  herr_t r = H5Fclose((hid_t)file);
  dnn_status st = DNN_OK;
  if (r < 0) {
    char detail[512];
    dnn_h5_detail(detail, sizeof detail);
    st = dnn_error(DNN_ERR_IO, "cannot close the file: %s", detail);
  }
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return st;
}

int64_t dnn_h5_open_objects(void) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return n < 0 ? -1 : (int64_t)n;
}
