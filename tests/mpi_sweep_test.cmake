# One MPI sweep test (tests/CMakeLists.txt): runs
#   MPIEXEC -n RANKS CLI sweep SWEEP --trials TRIALS [--block BLOCK] -o OUT
# and compares OUT with REFERENCE (a run without MPI) bit for bit with COMPARE.
set(_block)
if(BLOCK)
  set(_block --block ${BLOCK})
endif()
separate_arguments(_preflags UNIX_COMMAND "${PREFLAGS}")
file(REMOVE "${OUT}")
execute_process(
  COMMAND ${MPIEXEC} ${_preflags} -n ${RANKS} ${CLI} -q sweep ${SWEEP} --trials ${TRIALS} ${_block} -o ${OUT}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "mpirun -n ${RANKS} restake-sim sweep failed: ${_rc}")
endif()
execute_process(COMMAND ${COMPARE} ${REFERENCE} ${OUT} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${OUT} (${RANKS} ranks) differs from ${REFERENCE} (no MPI)")
endif()
