/* The interactive loop, after lua.c's doREPL: a line is first tried as
 * "return <line>" so expressions print their values (addreturn); otherwise
 * it is compiled as a statement, and while the compiler stops at <eof> more
 * lines are read under the ">>" prompt (multiline).  "?name" asks for help.
 * How values print, completion and help live in Lua (lua/dnn/repl.lua). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define EOFMARK "<eof>"
#define MARKLEN (sizeof(EOFMARK) / sizeof(char) - 1)

/* loadline's results besides a lua_load status */
enum { LINE_EOF = -1, LINE_SKIP = -2, LINE_HELP = -3 };

static int repl_ref = LUA_NOREF; /* the dnn.repl table */

/* _PROMPT / _PROMPT2 override the prompts, as in lua.c. */
static void get_prompt(lua_State *L, int firstline, char *out, size_t n) {
  const char *def = firstline ? "> " : ">> ";
  lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2");
  const char *p = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : def;
  snprintf(out, n, "%s", p);
  lua_pop(L, 1);
}

/* Reads a line onto the stack: 1 read, 0 end of input, -1 Ctrl-C. */
static int pushline(lua_State *L, int firstline) {
  char prompt[256];
  get_prompt(L, firstline, prompt, sizeof prompt);
  char *b = NULL;
  dnn_line_status st = dnn_lineread(prompt, &b);
  if (st == DNN_LINE_EOF) return 0;
  if (st == DNN_LINE_INTERRUPT) return -1;
  lua_pushstring(L, b); /* may raise only after b is freed: copy first */
  free(b);
  if (firstline && lua_tostring(L, -1)[0] == '=') { /* "=expr", as in Lua 5.1 */
    lua_pushfstring(L, "return %s", lua_tostring(L, -1) + 1);
    lua_remove(L, -2);
  }
  return 1;
}

/* The syntax error says the chunk ended too soon: pops it, returns 1. */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= MARKLEN && strcmp(msg + lmsg - MARKLEN, EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Tries "return <line>;"; on success leaves the function and records the line. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    dnn_lineread_remember(line);
  } else {
    lua_pop(L, 2);
  }
  return status;
}

/* Reads continuation lines while the chunk is unfinished. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *chunk = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, chunk, len, "=stdin");
    if (!incomplete(L, status)) {
      dnn_lineread_remember(chunk);
      return status;
    }
    int r = pushline(L, 0);
    if (r < 0) return LINE_SKIP; /* Ctrl-C drops the whole chunk */
    if (r == 0) {
      dnn_lineread_remember(chunk);
      lua_pushliteral(L, "stdin: unfinished chunk at end of input");
      return LUA_ERRSYNTAX;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

static int is_help_line(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return *s == '?';
}

/* Leaves the compiled chunk on the stack, or the line for LINE_HELP. */
static int loadline(lua_State *L) {
  lua_settop(L, 0);
  int r = pushline(L, 1);
  if (r == 0) return LINE_EOF;
  if (r < 0) return LINE_SKIP;
  if (is_help_line(lua_tostring(L, 1))) {
    dnn_lineread_remember(lua_tostring(L, 1));
    return LINE_HELP;
  }
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  if (status != LINE_SKIP) lua_remove(L, 1); /* the line; the chunk or error stays */
  return status;
}

/* Pushes dnn.repl[name] (or nothing: returns 0). */
static int push_repl_fn(lua_State *L, const char *name) {
  if (repl_ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, repl_ref);
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

/* Shows the results on the stack through dnn.repl.show (or print). */
static void show_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  if (!push_repl_fn(L, "show")) lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (dnn_docall(L, n, 0) != LUA_OK) dnn_report(L, NULL);
}

static void run_help_line(lua_State *L) {
  if (!push_repl_fn(L, "help_command")) {
    lua_getglobal(L, "help");
    const char *s = lua_tostring(L, 1);
    while (*s == ' ' || *s == '\t' || *s == '?') s++;
    lua_pushstring(L, s);
    lua_remove(L, 1);
  } else {
    lua_insert(L, 1);
  }
  if (dnn_docall(L, 1, 0) != LUA_OK) dnn_report(L, NULL);
}

/* require "dnn.repl" into repl_ref; the loop still works without it. */
static void load_repl_module(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "dnn.repl");
  if (dnn_docall(L, 1, 1) != LUA_OK) {
    dnn_report(L, NULL);
    return;
  }
  if (lua_type(L, -1) == LUA_TTABLE) repl_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  else lua_pop(L, 1);
}

int dnn_repl(lua_State *L) {
  lua_settop(L, 0);
  printf("%s -- help(obj) or ?name for help, Ctrl-D to exit\n", dnn_version_string());
  fflush(stdout);
  load_repl_module(L);
  dnn_lineread_init();
  if (dnn_lineread_interactive()) dnn_complete_init(L, repl_ref);
  int status;
  while ((status = loadline(L)) != LINE_EOF) {
    if (status == LINE_SKIP) continue;
    if (status == LINE_HELP) {
      run_help_line(L);
      continue;
    }
    if (status == LUA_OK) status = dnn_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) show_results(L);
    else dnn_report(L, NULL);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  dnn_lineread_close();
  if (repl_ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, repl_ref);
    repl_ref = LUA_NOREF;
  }
  return 0;
}
