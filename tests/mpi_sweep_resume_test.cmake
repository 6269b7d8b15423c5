# An interrupted MPI sweep resumed (tests/CMakeLists.txt): runs
#   MPIEXEC -n 2 CLI sweep SWEEP --trials TRIALS --stop-after 2 -o OUT   (must stop, keeping 2 points)
#   MPIEXEC -n 3 CLI sweep SWEEP --trials TRIALS --resume -o OUT         (must finish the rest)
# and compares OUT with REFERENCE (a run without MPI) bit for bit with COMPARE.
separate_arguments(_preflags UNIX_COMMAND "${PREFLAGS}")
file(REMOVE "${OUT}")
execute_process(
  COMMAND ${MPIEXEC} ${_preflags} -n 2 ${CLI} -q sweep ${SWEEP} --trials ${TRIALS} --stop-after 2 -o ${OUT}
  RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
if(_rc EQUAL 0)
  message(FATAL_ERROR "the --stop-after 2 run under mpirun succeeded: it should have stopped")
endif()
if(EXISTS "${OUT}")
  message(FATAL_ERROR "the stopped run left ${OUT} behind")
endif()
file(GLOB _kept "${OUT}.partial-points/*.h5")
list(LENGTH _kept _n)
if(NOT _n EQUAL 2)
  message(FATAL_ERROR "the stopped run kept ${_n} point files in ${OUT}.partial-points, not 2")
endif()
execute_process(
  COMMAND ${MPIEXEC} ${_preflags} -n 3 ${CLI} -q sweep ${SWEEP} --trials ${TRIALS} --resume -o ${OUT}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "mpirun -n 3 restake-sim sweep --resume failed: ${_rc}")
endif()
if(EXISTS "${OUT}.partial-points")
  message(FATAL_ERROR "the finished run left its progress folder ${OUT}.partial-points behind")
endif()
execute_process(COMMAND ${COMPARE} ${REFERENCE} ${OUT} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${OUT} (stopped on 2 ranks, resumed on 3) differs from ${REFERENCE} (no MPI)")
endif()
