/* CSV files of numbers into a 2-D tensor (rows, columns).
 *
 * The dialect is RFC 4180 as spreadsheets and pandas write it: a delimiter
 * (',' by default), records ending in LF or CRLF, fields optionally quoted
 * with '"' (a doubled "" inside is one quote; quoted fields may hold
 * delimiters and newlines).  Blank lines are skipped, a UTF-8 byte-order mark
 * is ignored, spaces and tabs around a number are allowed.
 *
 * Only the selected columns are parsed as numbers, so other columns may hold
 * text.  Every record must have as many fields as the first one (the header
 * when there is one).  Errors name the file, the line and the column:
 *   read_csv: data.csv:3: column 2 ("b"): cannot read "abc" as a number
 * Numbers are read with strtod (floats: "inf" and "nan" too) or as base-10
 * integers for the integer dtypes, range-checked against the dtype. */
#ifndef DNN_IO_CSV_H
#define DNN_IO_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnn.h"

typedef struct {
  char delimiter;               /* ',' when 0 */
  bool header;                  /* the first record holds the column names */
  int64_t nsel;                 /* selected columns; 0 = every column */
  const char *const *sel_names; /* nsel names (needs a header), or NULL */
  const int64_t *sel_index;     /* nsel 0-based indices, or NULL */
  dnn_dtype dtype;              /* float32, float64, int32, int64 or uint8 */
  bool has_na;                  /* empty cells read as na; else they are errors */
  double na;
} dnn_csv_options;

typedef struct {
  dnn_tensor *data; /* (rows, ncols) of the chosen dtype */
  int64_t ncols;
  char **names; /* ncols names of the selected columns, or NULL without a header */
} dnn_csv_table;

/* Parses buf[0..n) (name is used in messages).  On success *out owns its
 * tensor and names: free with dnn_csv_table_free. */
dnn_status dnn_csv_parse(const char *buf, size_t n, const char *name, const dnn_csv_options *o,
                         dnn_csv_table *out);
dnn_status dnn_csv_read(const char *path, const dnn_csv_options *o, dnn_csv_table *out);
void dnn_csv_table_free(dnn_csv_table *t);

#endif
