/* libFuzzer target: model and value files through load_model, load_weights
 * and dnn.load (the calls are in load_model.lua; see README.md). */
#include "lua_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  dnn_fuzz_lua_init("load_model");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return dnn_fuzz_lua_one(data, size);
}
