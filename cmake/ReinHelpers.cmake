# Target helpers, one per target kind (the absl_cc_library habit): every library, test and
# binary in Rein is declared through these so that warnings, include paths and test discovery
# are set in exactly one place.
include_guard(GLOBAL)

# Warnings for our own code. Third-party headers come in as SYSTEM includes and stay quiet.
# -Wshadow=local is GCC's spelling; clang (the fuzz tree, cmake/ReinFuzz.cmake) has its own.
set(REIN_WARNINGS -Wall -Wextra -Wpedantic
    $<IF:$<CXX_COMPILER_ID:GNU>,-Wshadow=local,-Wshadow-uncaptured-local> -Wnon-virtual-dtor
    -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
option(REIN_WERROR "Treat warnings in Rein's own code as errors" OFF)
if(REIN_WERROR)
  list(APPEND REIN_WARNINGS -Werror)
endif()

function(_rein_target_defaults target)
  target_compile_options(${target} PRIVATE ${REIN_WARNINGS})
  target_compile_features(${target} PUBLIC cxx_std_20)
endfunction()

# rein_cc_library(NAME name SRCS ... [HDRS ...] [DEPS ...] [PRIVATE_DEPS ...])
# Declares rein_<name> with the alias rein::<name>. A library with no sources is INTERFACE.
function(rein_cc_library)
  cmake_parse_arguments(R "" "NAME" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target rein_${R_NAME})
  if(R_SRCS)
    add_library(${target} STATIC ${R_SRCS} ${R_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${R_DEPS} PRIVATE ${R_PRIVATE_DEPS})
    _rein_target_defaults(${target})
  else()
    add_library(${target} INTERFACE ${R_HDRS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${R_DEPS})
    target_compile_features(${target} INTERFACE cxx_std_20)
  endif()
  add_library(rein::${R_NAME} ALIAS ${target})
endfunction()

# rein_cc_test(NAME name SRCS ... [DEPS ...] [LABELS ...])
# A Catch2 test binary whose TEST_CASEs CTest discovers one by one.
function(rein_cc_test)
  cmake_parse_arguments(R "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  set(target ${R_NAME})
  add_executable(${target} ${R_SRCS})
  target_link_libraries(${target} PRIVATE ${R_DEPS} rein_catch2_main)
  _rein_target_defaults(${target})
  set(labels ${R_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  # --warn NoTests: a CTest name that matches no test case (a ';' in a test name is a CMake list
  # separator, so such a name is cut short) fails instead of passing with nothing run.
  catch_discover_tests(${target}
    TEST_PREFIX "${R_NAME}: "
    EXTRA_ARGS --warn NoTests
    PROPERTIES LABELS "${labels}" TIMEOUT 300
    ENVIRONMENT "REIN_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# rein_cc_binary(NAME name SRCS ... [DEPS ...] [OUTPUT_NAME name])
# A thin executable; its logic lives in libraries.
function(rein_cc_binary)
  cmake_parse_arguments(R "" "NAME;OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${R_NAME} ${R_SRCS})
  target_link_libraries(${R_NAME} PRIVATE ${R_DEPS})
  _rein_target_defaults(${R_NAME})
  if(R_OUTPUT_NAME)
    set_target_properties(${R_NAME} PROPERTIES OUTPUT_NAME ${R_OUTPUT_NAME})
  endif()
  set_target_properties(${R_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()
