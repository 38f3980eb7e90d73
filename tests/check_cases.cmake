# Run by CTest (see faxgw_add_test): fails when the test program has a test
# case that the CASES list of its faxgw_add_test() leaves out, since CTest
# would never run that case. Arguments: -DPROGRAM=... -DCASES=a,b,c
string(REPLACE "," ";" CASES "${CASES}")
execute_process(COMMAND ${PROGRAM} --list_content
                OUTPUT_VARIABLE out ERROR_VARIABLE listed RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --list_content failed (${code}): ${listed}")
endif()
string(REPLACE "\n" ";" lines "${out}${listed}")
set(missing "")
foreach(line ${lines})
  # Boost.Test lists a case of the master suite as "name*" ("*": enabled),
  # maybe with ": description"; the cases of a suite are indented below it,
  # and CASES has no way to name them.
  if(line MATCHES "^[ \t]")
    message(FATAL_ERROR "${PROGRAM} has test suites: CASES can name master-suite cases only")
  elseif(line MATCHES "^([A-Za-z0-9_]+)")
    list(FIND CASES "${CMAKE_MATCH_1}" at)
    if(at EQUAL -1)
      list(APPEND missing "${CMAKE_MATCH_1}")
    endif()
  endif()
endforeach()
if(NOT missing STREQUAL "")
  message(FATAL_ERROR "test cases not in CASES of faxgw_add_test(), never run by CTest: ${missing}")
endif()
message(STATUS "every test case of ${PROGRAM} is registered")
