# Writes OUTPUT, a header defining CORESCOPE_GIT_COMMIT as `git describe --always --dirty` of
# SOURCE_DIR, run at every build (cmake -P), so that the commit recorded in /runs is that of the
# sources built, not of the last configure. The file is rewritten only when the text changes, so
# an unchanged commit recompiles nothing.
execute_process(COMMAND git describe --always --dirty --abbrev=12
                WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE git_commit
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT git_commit)
  set(git_commit "unknown")
endif()
set(content "#define CORESCOPE_GIT_COMMIT \"${git_commit}\"\n")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUTPUT}" "${content}")
endif()
