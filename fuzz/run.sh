#!/bin/sh
# run.sh: runs every fuzz target for a bounded time, one after the other (make fuzz).
#
#   fuzz/run.sh BUILD_DIR [TARGET...]     (default: all four targets)
#
# FUZZ_SECONDS (default 60) bounds each target; FUZZ_FLAGS adds libFuzzer flags. Seeds are
# extracted from ../shared/corpus into a temporary directory (fuzz/make_seeds.py); what
# libFuzzer learns is kept in BUILD_DIR/corpus/<target> for the next run, and crashes go to
# BUILD_DIR/artifacts/. Exits 1 if any target found a crash, leak or timeout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
shift
targets=${*:-fuzz_http fuzz_jwt fuzz_jwks fuzz_config}
seconds=${FUZZ_SECONDS:-60}
shared=${APPSERVER_SHARED_DIR:-$here/../../shared}

seeds=$(mktemp -d /tmp/appserver-fuzz-seeds.XXXXXX)
trap 'rm -rf "$seeds"' EXIT INT TERM
/usr/bin/python3 "$here/make_seeds.py" "$shared" "$seeds"

# libFuzzer reports UB and leaks itself; these make the reports complete and fatal.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=""
for target in $targets; do
  kind=${target#fuzz_}
  corpus="$build/corpus/$target"
  mkdir -p "$corpus" "$build/artifacts"
  dict=""
  [ -f "$here/$kind.dict" ] && dict="-dict=$here/$kind.dict"
  maxlen=4096
  [ "$kind" = http ] && maxlen=8192
  echo "== $target: ${seconds}s, seeds $seeds/$kind, corpus $corpus"
  # -fork=0 (in-process) on one core: the machine has two and make may run beside it.
  if ! "$build/$target" "$corpus" "$seeds/$kind" $dict -max_total_time="$seconds" \
      -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$target-" ${FUZZ_FLAGS:-} \
      2> "$build/$target.log"; then
    failed="$failed $target"
    tail -n 60 "$build/$target.log"
  fi
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
    "$build/$target.log" | sed "s/^/  /" || true
  grep -E '^#[0-9]+ +DONE' "$build/$target.log" | tail -n 1 | sed "s/^/  /" || true
done

if [ -n "$failed" ]; then
  echo "fuzz: FAILED:$failed (inputs in $build/artifacts, logs in $build/<target>.log)"
  exit 1
fi
echo "fuzz: no crash in$(printf ' %s' $targets) (${seconds}s each)"
