# Warning and sanitizer flags, applied per target through corescope_target_defaults().
include_guard(GLOBAL)

function(corescope_target_defaults target)
  # Designated initializers (ModeInfo) leave fields at their defaults on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers)
  if(CORESCOPE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 warns of overlapping copies inside libstdc++'s own string concatenation (GCC bug
    # 105651, fixed in 13): false positives on any `"..." + std::string`.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(CORESCOPE_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(CORESCOPE_SANITIZE)
    list(JOIN CORESCOPE_SANITIZE "," san)
    target_compile_options(${target} PRIVATE -fsanitize=${san} -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=${san})
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # The sanitizers' instrumentation makes GCC 12 see uninitialised reads inside libstdc++'s
      # own <regex> and std::function (false positives; the same code builds clean without it).
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    if("thread" IN_LIST CORESCOPE_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC says that TSan does not model a standalone std::atomic_thread_fence (the shm
      # channel's doorbell): a note about the tool's reach, not about the code.
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
    if("undefined" IN_LIST CORESCOPE_SANITIZE)
      # Every UBSan finding ends the process with an error, so a finding fails the test that hit it.
      target_compile_options(${target} PRIVATE -fno-sanitize-recover=all)
    endif()
  endif()
endfunction()
