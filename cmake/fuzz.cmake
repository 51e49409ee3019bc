# Fuzz targets (option DNN_FUZZ, OFF by default; scripts/bench/fuzz/README.md).
# Included at the end of CMakeLists.txt, after the dnn and dnn_lua targets
# exist; without the option it only declares it.
#
# Every scripts/bench/fuzz/fuzz_<name>.c defines LLVMFuzzerInitialize and
# LLVMFuzzerTestOneInput; each is linked with the shared Lua harness, the
# bindings (dnn_lua) and libdnn into
#   fuzz_<name>         the libFuzzer executable (clang only), built with
#                       -fsanitize=fuzzer,address,undefined
#   fuzz_<name>_replay  a plain main() that runs files or folders through the
#                       target once (any compiler): the corpus without clang
# With clang the engine and the bindings are also compiled with coverage
# instrumentation and ASan/UBSan, so the fuzzer sees their branches and
# their memory errors.
option(DNN_FUZZ "Build the fuzz targets of scripts/bench/fuzz (libFuzzer with clang)" OFF)
if(NOT DNN_FUZZ)
  return()
endif()

set(DNN_FUZZ_DIR ${CMAKE_SOURCE_DIR}/scripts/bench/fuzz)
file(GLOB DNN_FUZZ_TARGETS CONFIGURE_DEPENDS ${DNN_FUZZ_DIR}/fuzz_*.c)

set(DNN_FUZZ_LIBFUZZER OFF)
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(DNN_FUZZ_LIBFUZZER ON)
  set(_dnn_fuzz_san -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer -g -Wno-pass-failed -Wno-unknown-pragmas) # (clang: notes on loops, GCC pragmas)
  # dnn's PUBLIC flags reach every executable linking it (dnnlua, the tests,
  # the fuzzers), so nothing links instrumented code without the runtimes.
  # C only: CUDA sources (nvcc, with gcc as its host compiler) get none of it.
  target_compile_options(dnn PUBLIC
    "$<$<COMPILE_LANGUAGE:C>:${_dnn_fuzz_san};-fsanitize=fuzzer-no-link>")
  target_link_options(dnn INTERFACE -fsanitize=address,undefined)
  target_compile_options(dnn_lua PRIVATE ${_dnn_fuzz_san} -fsanitize=fuzzer-no-link)
else()
  message(STATUS "DNN_FUZZ: ${CMAKE_C_COMPILER_ID} has no libFuzzer: building the replay drivers only (CC=clang for the fuzzers)")
endif()

add_library(dnn_fuzz_harness OBJECT ${DNN_FUZZ_DIR}/lua_harness.c)
target_include_directories(dnn_fuzz_harness PRIVATE ${LUA_INCLUDE_DIRS})
target_compile_definitions(dnn_fuzz_harness PRIVATE DNN_LUA_DIR="${CMAKE_SOURCE_DIR}/lua"
  DNN_FUZZ_DIR="${DNN_FUZZ_DIR}")
if(DNN_FUZZ_LIBFUZZER)
  target_compile_options(dnn_fuzz_harness PRIVATE ${_dnn_fuzz_san})
endif()

foreach(_src ${DNN_FUZZ_TARGETS})
  get_filename_component(_name ${_src} NAME_WE)
  set(_common ${_src} $<TARGET_OBJECTS:dnn_fuzz_harness> $<TARGET_OBJECTS:dnn_lua>)

  add_executable(${_name}_replay ${DNN_FUZZ_DIR}/replay_main.c ${_common})
  list(APPEND _fuzz_exes ${_name}_replay)

  if(DNN_FUZZ_LIBFUZZER)
    add_executable(${_name} ${_common})
    target_compile_options(${_name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${_name} PRIVATE -fsanitize=fuzzer,address,undefined)
    list(APPEND _fuzz_exes ${_name})
  endif()
endforeach()

foreach(_exe ${_fuzz_exes})
  target_include_directories(${_exe} PRIVATE ${DNN_FUZZ_DIR} src ${LUA_INCLUDE_DIRS})
  target_link_libraries(${_exe} PRIVATE dnn PkgConfig::LUA)
  if(DNN_HAVE_CUDA)
    target_link_libraries(${_exe} PRIVATE dnn_cuda)
  endif()
  # C modules the targets require (lua-cjson) find the lua_* symbols here
  set_target_properties(${_exe} PROPERTIES ENABLE_EXPORTS ON)
endforeach()
