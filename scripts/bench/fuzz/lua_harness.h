/* The shared half of the Lua fuzz targets (scripts/bench/fuzz/README.md):
 * a fuzz_<name>.c is two lines calling these, and <name>.lua says which dnn
 * calls an input goes through; check.lua judges the outcome. */
#ifndef DNN_FUZZ_LUA_HARNESS_H
#define DNN_FUZZ_LUA_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Opens the Lua state with dnn loaded and target <name>.lua ready (once;
 * aborts with a message when the target cannot be loaded). */
void dnn_fuzz_lua_init(const char *target);

/* Runs one input through the target.  Returns 0; a problem check.lua finds
 * (an error not naming the file, a leaked HDF5 object) aborts, so the fuzzer
 * records the input as a crash. */
int dnn_fuzz_lua_one(const uint8_t *data, size_t size);

#endif
