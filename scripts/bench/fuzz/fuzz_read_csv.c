/* libFuzzer target: bytes as a CSV file through dnn.io.read_csv (the calls
 * are in read_csv.lua; see README.md). */
#include "lua_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  dnn_fuzz_lua_init("read_csv");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return dnn_fuzz_lua_one(data, size);
}
