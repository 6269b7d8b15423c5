# One MPI run test (tests/CMakeLists.txt): runs
#   MPIEXEC -n RANKS CLI -q run ARGS -o OUT
# and compares OUT with REFERENCE (the same run without MPI) bit for bit with COMPARE. With
# EXPECT_FAIL, the job must instead exit non-zero and leave no OUT (ARGS make rank 0 fail).
separate_arguments(_preflags UNIX_COMMAND "${PREFLAGS}")
separate_arguments(_args UNIX_COMMAND "${ARGS}")
file(REMOVE "${OUT}")
execute_process(
  COMMAND ${MPIEXEC} ${_preflags} -n ${RANKS} ${CLI} -q run ${_args} -o ${OUT}
  OUTPUT_VARIABLE _stdout
  RESULT_VARIABLE _rc)
if(EXPECT_FAIL)
  if(_rc EQUAL 0)
    message(FATAL_ERROR "mpirun -n ${RANKS} restake-sim run ${ARGS} -o ${OUT} succeeded; it should fail")
  endif()
  if(EXISTS "${OUT}")
    message(FATAL_ERROR "a failed MPI run left ${OUT}")
  endif()
  return()
endif()
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "mpirun -n ${RANKS} restake-sim run ${ARGS} failed: ${_rc}")
endif()
execute_process(COMMAND ${COMPARE} ${REFERENCE} ${OUT} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${OUT} (${RANKS} ranks) differs from ${REFERENCE} (no MPI)")
endif()
