/* dnnlua's pieces: the runner (main.c), the REPL loop (repl.c), line input
 * with history (lineread.c) and tab completion (complete.c). */
#ifndef DNN_CLI_H
#define DNN_CLI_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- main.c ---- */
/* Calls the function on the stack (nargs args) with a traceback handler and
 * Ctrl-C turned into a Lua error; returns the lua_pcall status. */
int dnn_docall(lua_State *L, int nargs, int nres);
/* Prints the error message on top of the stack to stderr (and pops it). */
void dnn_report(lua_State *L, const char *progname);
/* "dnnlua 0.1.0 (CPU; Lua 5.4.6)" */
const char *dnn_version_string(void);

/* ---- repl.c ---- */
/* Runs the interactive loop until EOF; returns the exit status. */
int dnn_repl(lua_State *L);

/* ---- lineread.c: one line of input, with readline on a terminal ---- */
typedef enum { DNN_LINE_OK, DNN_LINE_EOF, DNN_LINE_INTERRUPT } dnn_line_status;
/* Chooses readline (stdin is a terminal) or plain reads; loads the history. */
void dnn_lineread_init(void);
/* Reads one line without its newline into *line (malloc'd, caller frees).
 * Ctrl-C while typing abandons the line: DNN_LINE_INTERRUPT. */
dnn_line_status dnn_lineread(const char *prompt, char **line);
/* Records a complete chunk (possibly several lines) in the history file. */
void dnn_lineread_remember(const char *chunk);
void dnn_lineread_close(void);
/* Whether input comes through readline (for the completion hook). */
int dnn_lineread_interactive(void);

/* ---- complete.c ---- */
/* Installs Tab completion: calls fn_ref's "complete" (a registry ref to the
 * dnn.repl table) with the word being completed. */
void dnn_complete_init(lua_State *L, int repl_ref);

/* The lua_Alloc of dnnlua (alloc.c): pooled small blocks. */
void *dnn_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
