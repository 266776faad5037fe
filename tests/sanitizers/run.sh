#!/bin/sh
# run.sh: building and testing an ASan + UBSan build (make test-asan).
#
#   tests/sanitizers/run.sh build BUILD_DIR [BUILD_ARGS...]   cmake --build, sanitizers armed
#   tests/sanitizers/run.sh ctest BUILD_DIR [CTEST_ARGS...]   the whole ctest suite
#
# "build" needs the same environment as the tests: gtest_discover_tests runs every test
# binary once while building, and an instrumented binary that embeds Python reports the
# interpreter's leaks at exit unless told what to ignore. Its reports go to stderr, so a
# failing discovery shows why.
#
# "ctest": every instrumented process (test binaries, build/appserver's master and workers,
# the appserver-jwt tool) writes its sanitizer reports to BUILD_DIR/sanitizer-logs/ instead
# of stderr: a worker's stderr ends in the harness's log, which nobody reads when the test
# passes. The run fails if ctest fails or if any report was written, and prints them all.
#
# The embedded CPython is not built with ASan, hence:
#   PYTHONMALLOC=malloc  Python's objects come from malloc, which ASan tracks, instead of
#                        pymalloc arenas it cannot see into;
#   lsan.supp            what the interpreter leaks on purpose at exit (only libpython and
#                        pybind11's internals; never the project's code).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command=${1:?usage: run.sh build|ctest BUILD_DIR [ARGS...]}
build=$(cd "${2:?usage: run.sh build|ctest BUILD_DIR [ARGS...]}" && pwd)
shift 2

# abort_on_error: a report ends the process with SIGABRT, which no exit-status check
# mistakes for a clean exit.
asan="detect_leaks=1:abort_on_error=1:disable_coredump=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
ubsan="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
export PYTHONMALLOC=malloc
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"

case "$command" in
  build)
    export ASAN_OPTIONS="$asan" UBSAN_OPTIONS="$ubsan"
    exec cmake --build "$build" "$@"
    ;;
  ctest) ;;
  *)
    echo "run.sh: unknown command $command" >&2
    exit 2
    ;;
esac

logs="$build/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# log_exe_name names the files asan.<binary>.<pid>.
export ASAN_OPTIONS="$asan:log_path=$logs/asan:log_exe_name=1"
export UBSAN_OPTIONS="$ubsan:log_path=$logs/ubsan:log_exe_name=1"

status=0
(cd "$build" && ctest --output-on-failure "$@") || status=$?

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  echo
  echo "sanitizer reports ($(echo $reports | wc -w)), also in $logs:"
  for f in $reports; do
    echo "==================== $(basename "$f")"
    cat "$f"
  done
  status=1
fi
[ "$status" -eq 0 ] && echo "test-asan: ctest passed and no sanitizer report was written"
exit "$status"
