/* The per-device backend table: ops reach kernels only through here, so a
 * new device (cuda/) registers itself without touching callers. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const op_names[] = {
#define DNN_X_NAME(name) #name,
    DNN_OP_LIST(DNN_X_NAME)
#undef DNN_X_NAME
};
_Static_assert(sizeof op_names / sizeof op_names[0] == DNN_OP_COUNT, "op name table out of date");

static const dnn_backend *backends[DNN_DEVICE_TYPE_COUNT];

const char *dnn_op_name(dnn_op op) {
  static char lower[DNN_OP_COUNT][48];
  if ((unsigned)op >= DNN_OP_COUNT) return "?";
  if (!lower[op][0]) {
    char tmp[48];
    size_t i = 0;
    for (; op_names[op][i] && i < sizeof tmp - 1; i++)
      tmp[i] = (char)(op_names[op][i] >= 'A' && op_names[op][i] <= 'Z' ? op_names[op][i] + 32
                                                                         : op_names[op][i]);
    tmp[i] = 0;
    memcpy(lower[op], tmp, sizeof tmp);
  }
  return lower[op];
}

void dnn_backend_register(dnn_device_type type, const dnn_backend *b) {
  if ((unsigned)type < DNN_DEVICE_TYPE_COUNT) backends[type] = b;
}

void dnn_cpu_backend_init(void); /* cpu/backend_cpu.c */

const dnn_backend *dnn_backend_get(dnn_device dev) {
  if ((unsigned)dev.type >= DNN_DEVICE_TYPE_COUNT) return NULL;
  if (!backends[DNN_DEVICE_CPU]) dnn_cpu_backend_init();
  return backends[dev.type];
}

dnn_status dnn_dispatch(dnn_device dev, const dnn_op_args *a) {
  const dnn_backend *b = dnn_backend_get(dev);
  char buf[16];
  if (!b)
    return dnn_error(DNN_ERR_DEVICE, "%s: device %s is not available in this build", dnn_op_name(a->op),
                     dnn_device_str(dev, buf));
  if (!b->kernels[a->op])
    return dnn_error(DNN_ERR_UNSUPPORTED, "%s: not implemented on %s", dnn_op_name(a->op), b->name);
  return b->kernels[a->op](a);
}
