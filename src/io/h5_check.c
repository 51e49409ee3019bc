/* HDF5 helper layer: the file check in a forked child (h5_check.h). */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/h5_attr.h"
#include "io/h5_base.h"
#include "io/h5_check.h"
#include "io/h5_dataset.h"
#include "io/h5_file.h"
#include "io/h5_group.h"

#define MAX_OBJECTS 200000 /* objects and attributes visited before the child stops */
#define MAX_DEPTH 128
/* Contiguous data up to this is read too (HDF5 converts it by its stored
 * type); beyond it, only chunked data is, since contiguous data is plain
 * reads at one place and the process reads it right after. */
#define READ_LIMIT ((uint64_t)16 << 20)

static bool in_check;

bool dnn_h5_in_check(void) { return in_check; }

/* ---------- the walk (in the child) ---------- */

typedef struct {
  dnn_h5_objkey *keys; /* open-addressing set of visited objects */
  size_t cap;
  long budget;
} walk_ctx;

static bool first_visit(walk_ctx *w, const dnn_h5_objkey *k) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof k->bytes; i++) h = (h ^ k->bytes[i]) * 1099511628211ull;
  static const dnn_h5_objkey empty;
  for (size_t i = h & (w->cap - 1);; i = (i + 1) & (w->cap - 1)) {
    if (memcmp(&w->keys[i], &empty, sizeof empty) == 0) {
      w->keys[i] = *k;
      return true;
    }
    if (memcmp(&w->keys[i], k, sizeof *k) == 0) return false;
  }
}

static void walk_attrs(dnn_h5_id f, const char *path, walk_ctx *w) {
  dnn_h5_attr_exists(f, path, "\001dnnlua-check"); /* a miss decodes every attribute */
  dnn_h5_strings names;
  if (dnn_h5_attr_names(f, path, &names) == DNN_OK) {
    for (int64_t i = 0; i < names.n && --w->budget > 0; i++) {
      switch (dnn_h5_attr_info(f, path, names.s[i], NULL, NULL)) {
        case DNN_H5_ATTR_STRING: {
          dnn_h5_strings l;
          if (dnn_h5_attr_read_strings(f, path, names.s[i], &l) == DNN_OK) dnn_h5_strings_free(&l);
          break;
        }
        case DNN_H5_ATTR_INT:
        case DNN_H5_ATTR_FLOAT: {
          dnn_h5_numbers n;
          if (dnn_h5_attr_read_numbers(f, path, names.s[i], &n) == DNN_OK) dnn_h5_numbers_free(&n);
          break;
        }
        default: break;
      }
    }
    dnn_h5_strings_free(&names);
  }
  dnn_error_clear();
}

/* Contiguous data is plain reads at one offset: no structure to parse. */
static bool contiguous(dnn_h5_id f, const char *path) {
  dnn_h5_quiet q;
  dnn_h5_quiet_begin(&q);
  bool yes = false;
  hid_t d = H5Dopen2((hid_t)f, path, H5P_DEFAULT);
  hid_t dcpl = d >= 0 ? H5Dget_create_plist(d) : -1;
  if (dcpl >= 0) yes = H5Pget_layout(dcpl) == H5D_CONTIGUOUS;
  if (dcpl >= 0) H5Pclose(dcpl);
  if (d >= 0) H5Dclose(d);
  H5Eclear2(H5E_DEFAULT);
  dnn_h5_quiet_end(&q);
  return yes;
}

static void walk_dataset(dnn_h5_id f, const char *path, walk_ctx *w) {
  walk_attrs(f, path, w);
  int nd;
  int64_t shape[DNN_MAX_DIMS];
  dnn_dtype dt;
  if (dnn_h5_dataset_info(f, path, &nd, shape, &dt) == DNN_OK) {
    uint64_t bytes = dnn_dtype_size(dt);
    for (int i = 0; i < nd; i++)
      if (!dnn_h5_mul(bytes, (uint64_t)shape[i], &bytes)) bytes = UINT64_MAX;
    if (bytes <= READ_LIMIT || !contiguous(f, path)) {
      dnn_tensor *t = dnn_h5_read_tensor(f, path);
      if (t) dnn_tensor_release(t);
    }
  } else {
    dnn_h5_scalar s;
    if (dnn_h5_read_scalar(f, path, &s) == DNN_OK) free(s.s);
  }
  dnn_error_clear();
}

static void walk_group(dnn_h5_id f, const char *path, int depth, walk_ctx *w) {
  walk_attrs(f, path, w);
  char child[4096];
  snprintf(child, sizeof child, "%s/\001dnnlua-check", strcmp(path, "/") ? path : "");
  dnn_h5_kind_of(f, child, NULL); /* a miss: the group's lookup structures */
  dnn_h5_strings m;
  if (dnn_h5_group_members(f, path, DNN_H5_ORDER_AUTO, &m) != DNN_OK) {
    dnn_error_clear();
    return;
  }
  for (int64_t i = 0; i < m.n && --w->budget > 0; i++) {
    int k = snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "", m.s[i]);
    if (k < 0 || (size_t)k >= sizeof child) continue;
    dnn_h5_objkey key;
    memset(&key, 0, sizeof key);
    switch (dnn_h5_kind_of(f, child, &key)) {
      case DNN_H5_GROUP:
        if (first_visit(w, &key) && depth < MAX_DEPTH) walk_group(f, child, depth + 1, w);
        break;
      case DNN_H5_DATASET:
        if (first_visit(w, &key)) walk_dataset(f, child, w);
        break;
      default: break;
    }
  }
  dnn_h5_strings_free(&m);
  dnn_error_clear();
}

/* Sanitizer runtimes call this (when linked) before exiting on an error;
 * libFuzzer sets it to save the input as a crash. */
extern void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

/* DNN_H5_CHECK_QUIET=1 (the fuzz harness sets it): the child dies without a
 * word, so a fuzzer running us counts only what reaches the process itself. */
static void quiet_child(void) {
  int fd = open("/dev/null", O_WRONLY);
  if (fd >= 0) dup2(fd, 2);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
}

static void child_main(const char *path) {
  in_check = true;
  const char *quiet = getenv("DNN_H5_CHECK_QUIET");
  if (quiet && strcmp(quiet, "1") == 0) quiet_child();
  walk_ctx w = {.cap = 1u << 19, .budget = MAX_OBJECTS};
  w.keys = calloc(w.cap, sizeof *w.keys);
  dnn_h5_id f = dnn_h5_open_read(path);
  if (f >= 0 && w.keys) {
    dnn_h5_objkey root;
    memset(&root, 0, sizeof root);
    if (dnn_h5_kind_of(f, "/", &root) == DNN_H5_GROUP) {
      first_visit(&w, &root);
      walk_group(f, "/", 0, &w);
    }
  }
  /* no close, no atexit handlers, no stdio flush: the parent owns all that */
  _exit(0);
}

/* ---------- the parent ---------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The file last checked, as stat saw it, and the verdict: opening it again
 * (load_model, then load_weights, ...) needs no new check until it changes. */
static struct {
  bool set;
  char refused[600]; /* why it was refused (after "<path>: "); "" when fine */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
} last_check;

static bool same_file(const struct stat *st) {
  return last_check.set && st->st_dev == last_check.dev && st->st_ino == last_check.ino &&
         st->st_size == last_check.size && st->st_mtim.tv_sec == last_check.mtime.tv_sec &&
         st->st_mtim.tv_nsec == last_check.mtime.tv_nsec && st->st_ctim.tv_sec == last_check.ctime.tv_sec &&
         st->st_ctim.tv_nsec == last_check.ctime.tv_nsec;
}

dnn_status dnn_h5_check_file(const char *path, uint64_t file_size) {
  const char *env = getenv("DNN_H5_CHECK");
  if (in_check || (env && strcmp(env, "0") == 0)) return DNN_OK;
  struct stat st;
  bool have_st = stat(path, &st) == 0;
  if (have_st && same_file(&st))
    return *last_check.refused ? dnn_error(DNN_ERR_IO, "%s: %s", path, last_check.refused) : DNN_OK;
  double limit = 30.0 + (double)file_size / 20e6;
  const char *t = getenv("DNN_H5_CHECK_TIMEOUT");
  if (t && atof(t) > 0) limit = atof(t);

  fflush(NULL); /* what stdio holds would otherwise be written twice */
  pid_t pid = fork();
  if (pid < 0) return DNN_OK; /* no process to spare: read without the check */
  if (pid == 0) child_main(path);

  int status = 0;
  double deadline = now_s() + limit;
  long pause_ns = 50000;
  bool timed_out = false;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return DNN_OK; /* reaped elsewhere (SIGCHLD ignored) */
    if (now_s() > deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      timed_out = true;
      break;
    }
    struct timespec ts = {0, pause_ns};
    nanosleep(&ts, NULL);
    if (pause_ns < 10000000) pause_ns *= 2;
  }
  char msg[600] = "";
  if (timed_out)
    snprintf(msg, sizeof msg,
             "HDF5 did not finish reading it within %.0f s (a damaged file can make it loop): "
             "refused, nothing was loaded (DNN_H5_CHECK_TIMEOUT sets the limit)",
             limit);
  else if (WIFSIGNALED(status))
    snprintf(msg, sizeof msg,
             "HDF5 crashed reading it (signal %d in a separate check process): the file is "
             "damaged or hostile; refused, nothing was loaded",
             WTERMSIG(status));
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    snprintf(msg, sizeof msg,
             "reading it failed in a separate check process (exit status %d; a memory error "
             "in HDF5?): the file is damaged or hostile; refused, nothing was loaded",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (have_st) {
    last_check.set = true;
    last_check.dev = st.st_dev;
    last_check.ino = st.st_ino;
    last_check.size = st.st_size;
    last_check.mtime = st.st_mtim;
    last_check.ctime = st.st_ctim;
    snprintf(last_check.refused, sizeof last_check.refused, "%s", msg);
  }
  if (*msg) return dnn_error(DNN_ERR_IO, "%s: %s", path, msg);
  return DNN_OK;
}
