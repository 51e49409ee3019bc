/* dnnlua's pieces: the runner (main.c) and the REPL (repl.c). */
#ifndef DNN_CLI_H
#define DNN_CLI_H

#include <lua.h>

/* Runs the interactive loop until EOF; returns the exit status. */
int dnn_repl(lua_State *L);
/* Calls the function on the stack (nargs args) with a traceback handler and
 * Ctrl-C turned into a Lua error; returns the lua_pcall status. */
int dnn_docall(lua_State *L, int nargs, int nres);
/* Prints the error message on top of the stack to stderr (and pops it). */
void dnn_report(lua_State *L, const char *progname);

#endif
