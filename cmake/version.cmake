# Writes version.hpp with the current git commit. Runs at every build (not only at configure
# time), and configure_file leaves the file untouched when nothing changed, so nothing rebuilds
# needlessly. Inputs: SRC, DST, SOURCE_DIR, PROJECT_VERSION.
set(RESTAKE_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --verify -q HEAD
                  WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE _commit
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _commit)
    set(RESTAKE_GIT_COMMIT "${_commit}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
                    WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE _dirty
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_dirty)
      set(RESTAKE_GIT_COMMIT "${RESTAKE_GIT_COMMIT}-dirty")
    endif()
  endif()
endif()
configure_file("${SRC}" "${DST}" @ONLY)
