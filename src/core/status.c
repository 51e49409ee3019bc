/* Thread-local error record: the engine reports, the binding raises. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dnn.h"

static _Thread_local char err_msg[1024];
static _Thread_local dnn_status err_code;

dnn_status dnn_error(dnn_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  va_end(ap);
  err_code = code;
  return code;
}

const char *dnn_error_message(void) { return err_msg[0] ? err_msg : "unknown error"; }
dnn_status dnn_error_code(void) { return err_code; }

void dnn_error_clear(void) {
  err_msg[0] = 0;
  err_code = DNN_OK;
}

void dnn_error_prefix(const char *prefix) {
  char tmp[sizeof err_msg];
  size_t n = strlen(prefix);
  if (strncmp(err_msg, prefix, n) == 0 && err_msg[n] == ':') return; /* already named */
  memcpy(tmp, err_msg, sizeof tmp);
  int w = snprintf(err_msg, sizeof err_msg, "%.200s: ", prefix);
  if (w > 0 && (size_t)w < sizeof err_msg) snprintf(err_msg + w, sizeof err_msg - (size_t)w, "%.800s", tmp);
}
