/* File readers from Lua (dnn.io is filled by lua/dnn/io.lua from these). */
#include "lutil.h"

void dnnL_open_io(lua_State *L) { (void)L; }
