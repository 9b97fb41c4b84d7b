# REIN_FUZZ=ON turns a build tree into the libFuzzer tree that scripts/fuzz.sh drives: every
# translation unit is compiled with ASan, UBSan and libFuzzer's coverage instrumentation, and
# tests/fuzz adds one executable per fuzz target. Only the targets those executables need are
# built there (scripts/fuzz.sh builds the `rein_fuzzers` target alone), so the LibTorch-heavy
# services never compile in that tree. Needs clang (Debian's clang and libclang-rt-14-dev,
# installed by scripts/setup.sh).
include_guard(GLOBAL)

option(REIN_FUZZ "Build the libFuzzer targets of tests/fuzz (clang, ASan + UBSan)" OFF)
if(REIN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "REIN_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "-DCMAKE_C_COMPILER=clang (scripts/fuzz.sh does)")
  endif()
  # -fno-sanitize-recover=all: a UBSan finding aborts like an ASan one, so the fuzzer stops and
  # saves the input instead of printing a line nobody reads.
  set(REIN_SANITIZE address,undefined)
  # -O1 -gline-tables-only (after the build type's -O2 -g, so they win): the tree compiles in
  # CI on every run, and line tables are all a sanitizer's stack trace needs.
  add_compile_options(-fsanitize=fuzzer-no-link,${REIN_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -O1 -gline-tables-only)
  add_link_options(-fsanitize=${REIN_SANITIZE})
endif()

# rein_fuzzer(NAME name SRCS ... DEPS ...)
# A libFuzzer executable fuzz/<name>_fuzzer in the build tree, part of the `rein_fuzzers` target.
# Its seed corpus is tests/fuzz/corpus/<name>/, its dictionary tests/fuzz/dict/<name>.dict when
# there is one (scripts/fuzz.sh passes both).
function(rein_fuzzer)
  cmake_parse_arguments(R "" "NAME" "SRCS;DEPS" ${ARGN})
  set(target ${R_NAME}_fuzzer)
  add_executable(${target} ${R_SRCS})
  target_link_libraries(${target} PRIVATE ${R_DEPS} rein_fuzz_support)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  _rein_target_defaults(${target})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  add_dependencies(rein_fuzzers ${target})
endfunction()
