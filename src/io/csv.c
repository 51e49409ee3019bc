/* CSV files of numbers (see csv.h).  One pass: records are tokenised in
 * place, selected cells parsed into a growing buffer of doubles or int64s,
 * and the tensor is made at the end. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readall.h"

#define CSV_OP "read_csv"

typedef struct {
  const char *p, *end;
  int64_t line; /* 1-based line of p */
  char delim;
  const char *name;
} csv_cur;

typedef struct {
  const char *s; /* raw text (quotes stripped; "" pairs still doubled) */
  size_t n;
  bool quoted;
  int64_t line;
} csv_field;

__attribute__((format(printf, 4, 5))) static dnn_status csv_fail(const char *name, int64_t line,
                                                                 dnn_status code, const char *fmt,
                                                                 ...) {
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0) return dnn_error(code, "%s: %.300s:%lld: %s", CSV_OP, name, (long long)line, msg);
  return dnn_error(code, "%s: %.300s: %s", CSV_OP, name, msg);
}

/* Skips blank lines; false at the end of the data. */
static bool csv_next_record(csv_cur *c) {
  while (c->p < c->end) {
    if (*c->p == '\n') {
      c->p++, c->line++;
    } else if (*c->p == '\r' && (c->p + 1 == c->end || c->p[1] == '\n')) {
      c->p++;
    } else {
      return true;
    }
  }
  return false;
}

/* One field at c->p; *eor tells whether the record ends after it. */
static dnn_status csv_field_next(csv_cur *c, int64_t col, csv_field *f, bool *eor) {
  f->line = c->line;
  f->quoted = false;
  if (c->p < c->end && *c->p == '"') {
    int64_t open_line = c->line;
    const char *q = ++c->p;
    for (;;) {
      while (q < c->end && *q != '"') {
        if (*q == '\n') c->line++;
        q++;
      }
      if (q >= c->end)
        return csv_fail(c->name, open_line, DNN_ERR_IO,
                        "column %lld: a quoted field opened on this line is never closed",
                        (long long)col + 1);
      if (q + 1 < c->end && q[1] == '"') {
        q += 2; /* "" is an escaped quote */
        continue;
      }
      break;
    }
    f->s = c->p;
    f->n = (size_t)(q - c->p);
    f->quoted = true;
    c->p = q + 1;
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
    if (c->p < c->end && *c->p != c->delim && *c->p != '\n' && *c->p != '\r')
      return csv_fail(c->name, c->line, DNN_ERR_IO,
                      "column %lld: unexpected '%c' after the closing quote of a field",
                      (long long)col + 1, *c->p);
    if (c->p < c->end && *c->p == '\r') {
      if (c->p + 1 < c->end && c->p[1] != '\n')
        return csv_fail(c->name, c->line, DNN_ERR_IO,
                        "column %lld: unexpected carriage return after a closing quote",
                        (long long)col + 1);
      c->p++;
    }
  } else {
    const char *q = c->p;
    while (q < c->end && *q != c->delim && *q != '\n') q++;
    f->s = c->p;
    f->n = (size_t)(q - c->p);
    if (f->n && f->s[f->n - 1] == '\r' && (q == c->end || *q == '\n')) f->n--; /* CRLF */
    c->p = q;
  }
  if (c->p < c->end && *c->p == c->delim) {
    c->p++;
    *eor = false;
  } else {
    if (c->p < c->end) c->p++, c->line++; /* the newline */
    *eor = true;
  }
  return DNN_OK;
}

/* The field's text with "" unescaped, NUL-terminated, malloc'd. */
static char *csv_field_dup(const csv_field *f) {
  char *s = malloc(f->n + 1);
  if (!s) return NULL;
  size_t w = 0;
  for (size_t i = 0; i < f->n; i++) {
    s[w++] = f->s[i];
    if (f->quoted && f->s[i] == '"' && i + 1 < f->n && f->s[i + 1] == '"') i++;
  }
  s[w] = 0;
  return s;
}

typedef struct {
  dnn_dtype dt;
  bool is_float;
  int64_t lo, hi; /* integer range of the dtype */
} csv_kind;

/* "column 2 (\"b\")" or "column 2" into buf. */
static const char *col_label(char *buf, size_t n, int64_t col, char **names) {
  if (names && names[col]) snprintf(buf, n, "column %lld (\"%.100s\")", (long long)col + 1, names[col]);
  else snprintf(buf, n, "column %lld", (long long)col + 1);
  return buf;
}

/* Parses one selected cell into *dv / *iv. */
static dnn_status csv_cell(const csv_cur *c, const csv_field *f, int64_t col, char **names,
                           const csv_kind *k, const dnn_csv_options *o, double *dv, int64_t *iv) {
  char lab[160], text[128];
  size_t i = 0, n = f->n;
  const char *s = f->s;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (i == n) {
    if (o->has_na) {
      *dv = o->na;
      *iv = (int64_t)o->na;
      return DNN_OK;
    }
    return csv_fail(c->name, f->line, DNN_ERR_IO,
                    "%s is empty (pass na=<number> to read missing values as that number)",
                    col_label(lab, sizeof lab, col, names));
  }
  bool too_long = n - i >= sizeof text;
  size_t len = too_long ? sizeof text - 1 : n - i;
  memcpy(text, s + i, len);
  text[len] = 0;
  if (too_long)
    return csv_fail(c->name, f->line, DNN_ERR_IO, "%s: \"%.40s...\" is too long to be a number",
                    col_label(lab, sizeof lab, col, names), text);
  for (size_t j = 0; j < len; j++)
    if (text[j] == 'x' || text[j] == 'X' || text[j] == '"') goto bad; /* no hex floats */
  char *endp;
  errno = 0;
  if (k->is_float) {
    double v = strtod(text, &endp);
    if (endp == text || *endp) goto bad;
    if (k->dt == DNN_FLOAT32 && isfinite(v) && fabs(v) > 3.4028234663852886e38)
      return csv_fail(c->name, f->line, DNN_ERR_IO, "%s: %s is out of range for float32",
                      col_label(lab, sizeof lab, col, names), text);
    *dv = v;
    return DNN_OK;
  }
  long long v = strtoll(text, &endp, 10);
  if (endp == text || *endp) {
    strtod(text, &endp);
    if (endp != text && !*endp)
      return csv_fail(c->name, f->line, DNN_ERR_IO, "%s: %s is not an integer (dtype %s)",
                      col_label(lab, sizeof lab, col, names), text, dnn_dtype_name(k->dt));
    goto bad;
  }
  if (errno == ERANGE || v < k->lo || v > k->hi)
    return csv_fail(c->name, f->line, DNN_ERR_IO, "%s: %s is out of range for %s (%lld..%lld)",
                    col_label(lab, sizeof lab, col, names), text, dnn_dtype_name(k->dt),
                    (long long)k->lo, (long long)k->hi);
  *iv = v;
  return DNN_OK;
bad:
  return csv_fail(c->name, f->line, DNN_ERR_IO, "%s: cannot read \"%s\" as a number",
                  col_label(lab, sizeof lab, col, names), text);
}

typedef struct {
  char **all_names; /* header fields, ncols_file of them */
  int64_t ncols_file;
  int64_t *pos;   /* per file column: its output position, or -1 */
  int64_t nout;   /* output columns */
  int64_t *which; /* per output column: the file column */
  void *vals;     /* doubles or int64s, rows * nout */
  size_t nvals, cap;
} csv_state;

static void csv_state_free(csv_state *s) {
  if (s->all_names)
    for (int64_t i = 0; i < s->ncols_file; i++) free(s->all_names[i]);
  free(s->all_names);
  free(s->pos);
  free(s->which);
  free(s->vals);
}

/* Maps the selection onto the file's columns once their number is known. */
static dnn_status csv_select(const char *name, const dnn_csv_options *o, csv_state *s) {
  int64_t nc = s->ncols_file;
  s->nout = o->nsel > 0 ? o->nsel : nc;
  s->pos = malloc((size_t)(nc ? nc : 1) * sizeof *s->pos);
  s->which = malloc((size_t)(s->nout ? s->nout : 1) * sizeof *s->which);
  if (!s->pos || !s->which) return csv_fail(name, 0, DNN_ERR_MEMORY, "out of memory");
  for (int64_t i = 0; i < nc; i++) s->pos[i] = -1;
  for (int64_t j = 0; j < s->nout; j++) {
    int64_t col = j;
    if (o->nsel > 0 && o->sel_names) {
      col = -1;
      for (int64_t i = 0; i < nc && col < 0; i++)
        if (strcmp(s->all_names[i], o->sel_names[j]) == 0) col = i;
      if (col < 0) {
        char have[400];
        size_t w = 0;
        have[0] = 0;
        for (int64_t i = 0; i < nc && w < sizeof have - 8; i++)
          w += (size_t)snprintf(have + w, sizeof have - w, i ? ", %s" : "%s", s->all_names[i]);
        if (w >= sizeof have - 8) strcpy(have + sizeof have - 8, " ...");
        return csv_fail(name, 0, DNN_ERR_ARG, "no column named \"%.100s\" (the header has: %s)",
                        o->sel_names[j], have);
      }
    } else if (o->nsel > 0) {
      col = o->sel_index[j];
      if (col < 0 || col >= nc)
        return csv_fail(name, 0, DNN_ERR_INDEX, "column %lld is out of range (the file has %lld columns)",
                        (long long)col + 1, (long long)nc);
    }
    s->which[j] = col;
    if (s->pos[col] < 0) s->pos[col] = j;
  }
  return DNN_OK;
}

static dnn_status csv_grow(const char *name, csv_state *s, size_t need) {
  if (need <= s->cap) return DNN_OK;
  size_t cap = s->cap ? s->cap : 1024;
  while (cap < need) cap *= 2;
  void *nv = realloc(s->vals, cap * 8);
  if (!nv) return csv_fail(name, 0, DNN_ERR_MEMORY, "out of memory for %zu values", cap);
  s->vals = nv;
  s->cap = cap;
  return DNN_OK;
}

static dnn_status csv_body(csv_cur *c, const dnn_csv_options *o, const csv_kind *k, csv_state *s,
                           int64_t *nrows, int64_t first_line) {
  char **names = s->all_names;
  int64_t rows = 0;
  while (csv_next_record(c)) {
    int64_t line = c->line, col = 0;
    bool eor = false;
    dnn_status st = csv_grow(c->name, s, s->nvals + (size_t)s->nout);
    if (st) return st;
    while (!eor) {
      csv_field f;
      if ((st = csv_field_next(c, col, &f, &eor))) return st;
      if (col < s->ncols_file && s->pos[col] >= 0) {
        double dv = 0;
        int64_t iv = 0;
        if ((st = csv_cell(c, &f, col, names, k, o, &dv, &iv))) return st;
        size_t at = s->nvals + (size_t)s->pos[col];
        if (k->is_float) ((double *)s->vals)[at] = dv;
        else ((int64_t *)s->vals)[at] = iv;
      }
      col++;
    }
    if (col != s->ncols_file)
      return csv_fail(c->name, line, DNN_ERR_IO, "%lld field%s, but %s (line %lld) has %lld",
                      (long long)col, col == 1 ? "" : "s", o->header ? "the header" : "the first row",
                      (long long)first_line, (long long)s->ncols_file);
    /* a column selected twice is parsed once and copied */
    for (int64_t j = 0; j < s->nout; j++)
      if (s->pos[s->which[j]] != j) {
        int64_t *v = s->vals;
        v[s->nvals + (size_t)j] = v[s->nvals + (size_t)s->pos[s->which[j]]];
      }
    s->nvals += (size_t)s->nout;
    rows++;
  }
  *nrows = rows;
  return DNN_OK;
}

/* The first record: the header's names, or just the column count. */
static dnn_status csv_first(csv_cur *c, const dnn_csv_options *o, csv_state *s) {
  csv_cur probe = *c;
  int64_t nc = 0;
  bool eor = false;
  dnn_status st;
  while (!eor) {
    csv_field f;
    if ((st = csv_field_next(&probe, nc, &f, &eor))) return st;
    nc++;
  }
  s->ncols_file = nc;
  if (!o->header) return DNN_OK;
  s->all_names = calloc((size_t)nc, sizeof *s->all_names);
  if (!s->all_names) return csv_fail(c->name, 0, DNN_ERR_MEMORY, "out of memory");
  for (int64_t i = 0; i < nc; i++) {
    csv_field f;
    csv_field_next(c, i, &f, &eor);
    if (!(s->all_names[i] = csv_field_dup(&f))) return csv_fail(c->name, 0, DNN_ERR_MEMORY, "out of memory");
  }
  return DNN_OK;
}

static dnn_status csv_kind_of(const char *name, dnn_dtype dt, csv_kind *k) {
  k->dt = dt;
  k->is_float = dt == DNN_FLOAT32 || dt == DNN_FLOAT64;
  switch (dt) {
  case DNN_FLOAT32: case DNN_FLOAT64: k->lo = k->hi = 0; return DNN_OK;
  case DNN_INT32: k->lo = INT32_MIN, k->hi = INT32_MAX; return DNN_OK;
  case DNN_INT64: k->lo = INT64_MIN, k->hi = INT64_MAX; return DNN_OK;
  case DNN_UINT8: k->lo = 0, k->hi = 255; return DNN_OK;
  default:
    return csv_fail(name, 0, DNN_ERR_DTYPE,
                    "dtype must be float32, float64, int32, int64 or uint8, got %s", dnn_dtype_name(dt));
  }
}

dnn_status dnn_csv_parse(const char *buf, size_t n, const char *name, const dnn_csv_options *o,
                         dnn_csv_table *out) {
  memset(out, 0, sizeof *out);
  if (!name) name = "(memory)";
  csv_kind k = {DNN_FLOAT32, true, 0, 0};
  dnn_status st = csv_kind_of(name, o->dtype, &k);
  if (st) return st;
  if (o->has_na && !k.is_float && !(o->na == floor(o->na) && o->na >= (double)k.lo && o->na <= (double)k.hi))
    return csv_fail(name, 0, DNN_ERR_ARG, "na=%g does not fit dtype %s", o->na, dnn_dtype_name(k.dt));
  if (o->nsel > 0 && o->sel_names && !o->header)
    return csv_fail(name, 0, DNN_ERR_ARG, "columns are chosen by name, but header=false: the file has no names");
  char delim = o->delimiter ? o->delimiter : ',';
  if (delim == '"' || delim == '\n' || delim == '\r')
    return csv_fail(name, 0, DNN_ERR_ARG, "the delimiter cannot be a quote or a line break");
  csv_cur c = {buf, buf + n, 1, delim, name};
  if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) c.p += 3;
  csv_state s;
  memset(&s, 0, sizeof s);
  int64_t rows = 0, first_line = 0;
  if (!csv_next_record(&c)) {
    if (o->header) return csv_fail(name, 0, DNN_ERR_IO, "the file is empty: there is no header line");
    s.nout = o->nsel;
  } else {
    first_line = c.line;
    if ((st = csv_first(&c, o, &s)) || (st = csv_select(name, o, &s)) ||
        (st = csv_body(&c, o, &k, &s, &rows, first_line))) {
      csv_state_free(&s);
      return st;
    }
  }
  int64_t shape[2] = {rows, s.nout};
  dnn_tensor *t = dnn_empty(2, shape, o->dtype, DNN_CPU);
  char **names = o->header && s.nout ? calloc((size_t)s.nout, sizeof *names) : NULL;
  if (!t || (o->header && s.nout && !names)) {
    if (t) dnn_tensor_release(t);
    free(names);
    csv_state_free(&s);
    return csv_fail(name, 0, DNN_ERR_MEMORY, "out of memory for %lld x %lld values", (long long)rows,
                    (long long)s.nout);
  }
  size_t nv = (size_t)(rows * s.nout);
  void *d = dnn_data_ptr(t);
  const double *dv = s.vals;
  const int64_t *iv = s.vals;
  switch (o->dtype) {
  case DNN_FLOAT32: for (size_t i = 0; i < nv; i++) ((float *)d)[i] = (float)dv[i]; break;
  case DNN_FLOAT64: if (nv) memcpy(d, dv, nv * 8); break;
  case DNN_INT32: for (size_t i = 0; i < nv; i++) ((int32_t *)d)[i] = (int32_t)iv[i]; break;
  case DNN_INT64: if (nv) memcpy(d, iv, nv * 8); break;
  default: for (size_t i = 0; i < nv; i++) ((uint8_t *)d)[i] = (uint8_t)iv[i]; break;
  }
  for (int64_t j = 0; names && j < s.nout; j++) {
    names[j] = strdup(s.all_names[s.which[j]]);
    if (!names[j]) {
      out->names = names;
      out->ncols = s.nout;
      out->data = t;
      dnn_csv_table_free(out);
      csv_state_free(&s);
      return csv_fail(name, 0, DNN_ERR_MEMORY, "out of memory");
    }
  }
  out->data = t;
  out->ncols = s.nout;
  out->names = names;
  csv_state_free(&s);
  return DNN_OK;
}

dnn_status dnn_csv_read(const char *path, const dnn_csv_options *o, dnn_csv_table *out) {
  memset(out, 0, sizeof *out);
  char *buf;
  size_t n;
  dnn_status st = dnn_read_all(CSV_OP, path, 0, &buf, &n);
  if (st) return st;
  st = dnn_csv_parse(buf, n, path, o, out);
  free(buf);
  return st;
}

void dnn_csv_table_free(dnn_csv_table *t) {
  if (t->data) dnn_tensor_release(t->data);
  if (t->names)
    for (int64_t i = 0; i < t->ncols; i++) free(t->names[i]);
  free(t->names);
  memset(t, 0, sizeof *t);
}
