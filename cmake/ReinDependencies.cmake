# Every third-party dependency is found here, once, and exposed as an imported target.
# scripts/setup.sh installs all of them from Debian 12 packages.
include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf CONFIG QUIET)
if(NOT Protobuf_FOUND)
  find_package(Protobuf REQUIRED)
endif()
find_package(gRPC CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(Catch2 REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)  # JSON reports of benchmarks.
include(Catch)

# Tokenizer: Oniguruma runs the pre-tokenizer regexes with the semantics Hugging Face's
# tokenizers use (it is the engine of the Rust crate); ICU does Unicode normalization (NFC...).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ONIGURUMA REQUIRED IMPORTED_TARGET GLOBAL oniguruma)
add_library(rein::oniguruma ALIAS PkgConfig::ONIGURUMA)
find_package(ICU REQUIRED COMPONENTS uc)
# rein-feedback: the judgement store (SQLite embedded, PostgreSQL through libpq) and the one HTTP
# library every HTTP endpoint uses (Debian builds cpp-httplib as a shared library).
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET GLOBAL sqlite3)
add_library(rein::sqlite3 ALIAS PkgConfig::SQLITE3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET GLOBAL libpq)
add_library(rein::libpq ALIAS PkgConfig::LIBPQ)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
add_library(rein::httplib ALIAS PkgConfig::HTTPLIB)
find_package(OpenSSL REQUIRED)  # SHA-256 of annotator tokens; random tokens.
# reinctl's command line.
find_package(CLI11 CONFIG REQUIRED)

# LibTorch: Debian's 1.13.1 (CPU) by default, or another one given by Torch_DIR (for instance
# the CUDA one inside a PyTorch installation: .../site-packages/torch/share/cmake/Torch). Its
# include dirs are SYSTEM so its headers do not trip our warnings.
find_package(Torch CONFIG REQUIRED)
include(ReinTorchIncludes)
rein_torch_include_dirs(rein_torch_include_dirs)
add_library(rein_torch INTERFACE)
target_link_libraries(rein_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(rein_torch SYSTEM INTERFACE ${rein_torch_include_dirs})
add_library(rein::torch ALIAS rein_torch)
# CUDA code that needs LibTorch's own CUDA API (c10/cuda) is compiled only against a LibTorch
# built with CUDA; C10_CUDA_LIBRARY is what TorchConfig.cmake finds for one (1.13 and 2.x).
if(C10_CUDA_LIBRARY)
  set(REIN_TORCH_CUDA ON CACHE INTERNAL "LibTorch was built with CUDA")
else()
  set(REIN_TORCH_CUDA OFF CACHE INTERNAL "LibTorch was built with CUDA")
endif()
message(STATUS "Rein: LibTorch ${Torch_VERSION} from ${Torch_DIR}, CUDA=${REIN_TORCH_CUDA}")
if(REIN_FUZZ)
  # LibTorch 1.13's ATen/core/List.h instantiates std::vector<c10::IValue> while IValue is still
  # incomplete (through ATen/ops/*.h); GCC lets it pass, clang in C++20 mode does not. The clang
  # fuzz tree includes the complete type first.
  target_compile_options(rein_torch INTERFACE "SHELL:-include ATen/core/ivalue.h")
endif()

# xxHash: the chunk checksum (XXH3-64).
find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(XXHASH_LIBRARY xxhash REQUIRED)
add_library(rein_xxhash INTERFACE)
target_include_directories(rein_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIR})
target_link_libraries(rein_xxhash INTERFACE ${XXHASH_LIBRARY})
add_library(rein::xxhash ALIAS rein_xxhash)

# CUDA + NCCL: optional. When both are found the NCCL code path is compiled (and exercised on a
# GPU machine); without a GPU its tests skip and say why.
find_package(CUDAToolkit QUIET)
set(REIN_HAVE_NCCL OFF)
if(CUDAToolkit_FOUND)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(REIN_HAVE_NCCL ON)
    add_library(rein_nccl INTERFACE)
    target_include_directories(rein_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(rein_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
    add_library(rein::nccl ALIAS rein_nccl)
  endif()
endif()
message(STATUS "Rein: CUDA ${CUDAToolkit_VERSION} found=${CUDAToolkit_FOUND}, NCCL path=${REIN_HAVE_NCCL}")

# Catch2's main, compiled once and shared by every test binary.
add_library(rein_catch2_main STATIC ${PROJECT_SOURCE_DIR}/common/testing/catch2_main.cc)
target_link_libraries(rein_catch2_main PUBLIC Catch2::Catch2)
