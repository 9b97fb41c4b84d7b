# The include directories of the LibTorch that find_package(Torch) found, made safe to put
# before the system's.
#
# A LibTorch from a PyTorch wheel keeps its own, older protobuf headers (google/protobuf) in
# its include root. As a SYSTEM include dir that root is searched before /usr/include, so
# those headers would shadow the protobuf that gRPC and Rein's generated code are built
# against, and every translation unit that includes both would fail to compile. Such a root
# is replaced by a folder in the build tree that links to everything in it but google/.
include_guard(GLOBAL)

function(rein_torch_include_dirs out_var)
  set(dirs)
  foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
    # A system folder (Debian's LibTorch is in /usr/include) holds the system's protobuf.
    if(NOT IS_DIRECTORY "${dir}/google/protobuf" OR
       dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      list(APPEND dirs "${dir}")
      continue()
    endif()
    set(shadow "${CMAKE_BINARY_DIR}/torch-include")
    file(REMOVE_RECURSE "${shadow}")
    file(MAKE_DIRECTORY "${shadow}")
    file(GLOB entries RELATIVE "${dir}" "${dir}/*")
    foreach(entry IN LISTS entries)
      if(NOT entry STREQUAL "google")
        file(CREATE_LINK "${dir}/${entry}" "${shadow}/${entry}" SYMBOLIC)
      endif()
    endforeach()
    message(STATUS "Rein: LibTorch's include root ${dir} holds its own protobuf headers; "
                   "using ${shadow}, which leaves them out")
    list(APPEND dirs "${shadow}")
  endforeach()
  set(${out_var} "${dirs}" PARENT_SCOPE)
endfunction()
