/* TensorBoard event files (io/tfevents.c) and their checksum (io/crc32c.c).
 *
 * A file is a sequence of TFRecords:
 *   uint64 length (little-endian) | uint32 masked crc32c(length bytes)
 *   | data[length] | uint32 masked crc32c(data)
 * whose data are serialized `Event` protocol buffers (tensorflow/core/util/
 * event.proto): the first holds file_version "brain.Event:2", the others a
 * Summary of scalars (summary.proto: Value{tag, simple_value}).  TensorBoard
 * reads every file named events.out.tfevents.* in a log directory. */
#ifndef DNN_IO_TFEVENTS_H
#define DNN_IO_TFEVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnn.h"

/* ---------- CRC-32C (Castagnoli) ---------- */
uint32_t dnn_crc32c(const void *data, size_t n);
/* Continues a CRC: dnn_crc32c_extend(dnn_crc32c(a, n), b, m) == crc of a then b. */
uint32_t dnn_crc32c_extend(uint32_t crc, const void *data, size_t n);
/* TensorFlow's stored form: ((c >> 15) | (c << 17)) + 0xa282ead8. */
uint32_t dnn_crc32c_mask(uint32_t crc);

/* ---------- writing ---------- */
typedef struct dnn_tfevents dnn_tfevents;

/* Makes logdir (and its parents) and a new event file in it named
 * events.out.tfevents.<10-digit seconds>.<hostname><suffix> (a ".<n>" is
 * added when that name is taken), then writes the file_version record.
 * NULL with the error recorded on failure. */
dnn_tfevents *dnn_tfevents_create(const char *logdir, const char *suffix, double wall_time);

/* Reopens an event file written earlier to append to it, after cutting it
 * back to its first `size` bytes (a resumed run drops what the interrupted
 * one logged after its last checkpoint).  The kept part must be whole,
 * valid records: the CRCs are checked. */
dnn_tfevents *dnn_tfevents_append(const char *path, int64_t size);

/* Appends Event{wall_time, step, summary{value{tag, simple_value}}}.
 * The value is stored as a float32, as TensorBoard's simple_value is. */
dnn_status dnn_tfevents_scalar(dnn_tfevents *w, const char *tag, double value, int64_t step,
                               double wall_time);

/* Pushes buffered records to the kernel; with sync, to the disk too. */
dnn_status dnn_tfevents_flush(dnn_tfevents *w, bool sync);

/* Bytes in the file once everything written so far is flushed. */
int64_t dnn_tfevents_size(const dnn_tfevents *w);
const char *dnn_tfevents_path(const dnn_tfevents *w);

/* Flushes and closes; frees w in every case.  NULL is a no-op. */
dnn_status dnn_tfevents_close(dnn_tfevents *w);

/* The serialized Event of one scalar (no record framing) into buf; returns
 * its length, or the length needed when it exceeds cap. */
size_t dnn_tfevents_encode_scalar(uint8_t *buf, size_t cap, const char *tag, float value,
                                  int64_t step, double wall_time);

#endif
