# rein_proto_library(NAME name ROOT dir PROTOS a.proto b.proto ...)
# Generates C++ messages and gRPC stubs for PROTOS (paths relative to ROOT) into the build
# tree and declares the static library rein_<name> (alias rein::<name>).
include_guard(GLOBAL)

function(rein_proto_library)
  cmake_parse_arguments(R "" "NAME;ROOT" "PROTOS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(srcs)
  foreach(proto ${R_PROTOS})
    get_filename_component(dir ${proto} DIRECTORY)
    get_filename_component(stem ${proto} NAME_WE)
    set(base ${out_dir}/${dir}/${stem})
    set(outputs ${base}.pb.cc ${base}.pb.h ${base}.grpc.pb.cc ${base}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc
        --proto_path=${R_ROOT}
        --cpp_out=${out_dir}
        --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${R_ROOT}/${proto}
      DEPENDS ${R_ROOT}/${proto} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${base}.pb.cc ${base}.grpc.pb.cc)
  endforeach()
  add_library(rein_${R_NAME} STATIC ${srcs})
  # Generated code is not ours to warn about.
  target_include_directories(rein_${R_NAME} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(rein_${R_NAME} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  target_compile_features(rein_${R_NAME} PUBLIC cxx_std_20)
  add_library(rein::${R_NAME} ALIAS rein_${R_NAME})
endfunction()
