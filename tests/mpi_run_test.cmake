# One MPI run test (tests/CMakeLists.txt): runs
#   MPIEXEC -n RANKS CLI -q run ARGS -o OUT
# and compares OUT with REFERENCE (the same run without MPI) bit for bit with COMPARE. With
# EXPECT_FAIL, the job must instead exit non-zero and leave no OUT (nor any OUT.* temporary), and
# its error output must match EXPECT_ERROR if given. With OTHER_ARGS, rank 0 runs ARGS and ranks
# 1 .. RANKS - 1 run OTHER_ARGS (mpirun's `A : B` form): input only the other ranks see.
separate_arguments(_preflags UNIX_COMMAND "${PREFLAGS}")
separate_arguments(_args UNIX_COMMAND "${ARGS}")
file(REMOVE "${OUT}")
if(DEFINED OTHER_ARGS)
  separate_arguments(_other_args UNIX_COMMAND "${OTHER_ARGS}")
  math(EXPR _others "${RANKS} - 1")
  set(_command ${MPIEXEC} ${_preflags} -n 1 ${CLI} -q run ${_args} -o ${OUT} : -n ${_others} ${CLI} -q run ${_other_args} -o ${OUT})
else()
  set(_command ${MPIEXEC} ${_preflags} -n ${RANKS} ${CLI} -q run ${_args} -o ${OUT})
endif()
execute_process(
  COMMAND ${_command}
  OUTPUT_VARIABLE _stdout
  ERROR_VARIABLE _stderr
  RESULT_VARIABLE _rc)
if(_stderr)
  message(STATUS "${_stderr}")
endif()
if(EXPECT_FAIL)
  if(_rc EQUAL 0)
    message(FATAL_ERROR "mpirun -n ${RANKS} restake-sim run ${ARGS} -o ${OUT} succeeded; it should fail")
  endif()
  if(EXISTS "${OUT}")
    message(FATAL_ERROR "a failed MPI run left ${OUT}")
  endif()
  file(GLOB _left "${OUT}.*")
  if(_left)
    message(FATAL_ERROR "a failed MPI run left ${_left}")
  endif()
  if(DEFINED EXPECT_ERROR AND NOT _stderr MATCHES "${EXPECT_ERROR}")
    message(FATAL_ERROR "a failed MPI run did not say \"${EXPECT_ERROR}\"")
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
