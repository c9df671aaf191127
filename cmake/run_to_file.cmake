# Runs PROGRAM with ARGS (words separated by spaces) and writes its standard
# output to OUTPUT; fails the build when the program fails. Used to generate the shell
# completion scripts from the built `zoneplane` (cmake/packaging.cmake).
#
#   cmake -DPROGRAM=... -DARGS=... -DOUTPUT=... -P run_to_file.cmake
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND "${PROGRAM}" ${args}
  OUTPUT_FILE "${OUTPUT}.tmp"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "${PROGRAM} ${ARGS} failed: ${result}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
