/* The interactive loop (placeholder: reads lines without readline). */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int dnn_repl(lua_State *L) {
  char line[4096];
  while (fputs("> ", stdout), fflush(stdout), fgets(line, sizeof line, stdin)) {
    if (luaL_loadstring(L, line) != LUA_OK || dnn_docall(L, 0, 0) != LUA_OK) dnn_report(L, "dnnlua");
  }
  return 0;
}
