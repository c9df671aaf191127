# zp_embed_files(<target> <name> <file>...)
#
# Compiles files into <target> as byte arrays, so a binary carries them
# (the OpenAPI document, the web UI's assets) without reading anything at run
# time. No external tool: a CMake script (EmbedFilesGenerate.cmake) writes
#   <build>/embedded/<name>.h   declares zp::embedded::<name>()
#   <build>/embedded/<name>.cc  defines it: the files as
#                               std::span<const zp::EmbeddedFile>
# at build time; a file that changes regenerates the .cc, and what depends on
# it is rebuilt. Each file is listed under its base name (two files with the
# same base name are an error), in the order given. The header's directory is
# a PUBLIC include directory of <target>: `#include "embedded/<name>.h"`.
# zp::EmbeddedFile is in src/common/embedded_file.h.
set(ZP_EMBED_GENERATOR "${CMAKE_CURRENT_LIST_DIR}/EmbedFilesGenerate.cmake")

function(zp_embed_files target name)
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "zp_embed_files: \"${name}\" is not a C++ identifier")
  endif()
  set(files "")
  set(bases "")
  foreach(file IN LISTS ARGN)
    get_filename_component(absolute "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    get_filename_component(base "${absolute}" NAME)
    if(base IN_LIST bases)
      message(FATAL_ERROR "zp_embed_files(${name}): two files are named \"${base}\"")
    endif()
    list(APPEND bases "${base}")
    list(APPEND files "${absolute}")
  endforeach()
  if(NOT files)
    message(FATAL_ERROR "zp_embed_files(${name}): no files given")
  endif()
  set(out_dir "${CMAKE_BINARY_DIR}/generated")
  set(header "${out_dir}/embedded/${name}.h")
  set(source "${out_dir}/embedded/${name}.cc")
  string(REPLACE ";" "|" file_arg "${files}")
  add_custom_command(
    OUTPUT "${header}" "${source}"
    COMMAND "${CMAKE_COMMAND}" "-DNAME=${name}" "-DFILES=${file_arg}" "-DHEADER=${header}"
            "-DSOURCE=${source}" -P "${ZP_EMBED_GENERATOR}"
    DEPENDS ${files} "${ZP_EMBED_GENERATOR}"
    COMMENT "Embedding ${name}: ${bases}"
    VERBATIM)
  target_sources(${target} PRIVATE "${source}" "${header}")
  target_include_directories(${target} PUBLIC "${out_dir}")
endfunction()
