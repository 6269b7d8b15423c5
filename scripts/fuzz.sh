#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/, clang with ASan + UBSan), seeds them and runs a
# bounded campaign of each; exits non-zero if any target found a crash, a sanitizer report, a leak,
# a timeout or an out-of-memory (docs/reliability.md, "Fuzzing"). .ci/run runs the short campaign:
#
#   scripts/fuzz.sh                          # every target for 60 s, two at a time (CI)
#   scripts/fuzz.sh --seconds 3600 --jobs 2  # a long campaign: an hour per target, two at a time
#   scripts/fuzz.sh --targets fuzz_results --seconds 600
#   scripts/fuzz.sh --report                 # only classify the failing inputs of the last run again
#
# The corpus each target grows is kept in build-fuzz/corpus/<target>/ and reused by the next run
# on this machine (a clean clone starts from the seeds again); crashes go to build-fuzz/crashes/
# and are reproduced with `build-fuzz/bin/<target> <file>`. The HDF5 seeds are written by the normal
# build's restake-sim (build/bin/restake-sim, or --cli PATH), so build that first.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
jobs=$(nproc)
targets="fuzz_scenario fuzz_sweep fuzz_manifest fuzz_results fuzz_sweep_part"
cli=build/bin/restake-sim
out=build-fuzz
report_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --build) out=$2; shift 2 ;;
    --report) report_only=1; shift ;;
    *) echo "usage: scripts/fuzz.sh [--seconds N] [--jobs J] [--targets \"fuzz_a fuzz_b\"] [--cli PATH] [--build DIR] [--report]" >&2
       exit 2 ;;
  esac
done
if [ "$report_only" = 0 ] && [ ! -x "$cli" ]; then
  echo "fuzz.sh: $cli not found: build restake-sim first (README), or give --cli PATH (it writes the HDF5 seeds)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$report_only" = 0 ]; then
# -O1 -g without NDEBUG: toml++'s assertions stay on (it is header-only in this build).
CC=clang CXX=clang++ cmake -S . -B "$out" -DRESTAKE_FUZZ=ON -DRESTAKE_BUILD_TESTS=OFF -DRESTAKE_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" "-DCMAKE_C_FLAGS_DEBUG=-O1 -g" >/dev/null
cmake --build "$out" -j"$(nproc)" --target fuzz_targets

# ---- seeds: the shipped files, and small HDF5 files of each kind written by restake-sim ----
seeds=$out/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{fuzz_scenario,fuzz_sweep,fuzz_manifest,fuzz_results,fuzz_sweep_part} "$out/crashes" "$out/logs"
for f in scenarios/*.toml scenarios/*/*.toml; do
  [ "$(basename "$f")" = reproductions.toml ] && continue
  cp "$f" "$seeds/fuzz_scenario/$(echo "$f" | tr / _)"
done
cp scenarios/published/reproductions.toml "$seeds/fuzz_manifest/"
# A sweep seed is the sweep file, a line "#@scenario" and the scenario it names (fuzz_sweep.cpp).
for f in sweeps/*.toml; do
  scenario=$(sed -n 's/^scenario *= *"\(.*\)".*/\1/p' "$f" | head -n 1)
  { cat "$f"; printf '\n#@scenario\n'; cat "sweeps/$scenario"; } >"$seeds/fuzz_sweep/$(basename "$f")"
done
small=$PWD/scenarios/published/electra-lone-validator.toml  # one validator: small files
"$cli" -q run "$small" --trials 5 --no-progress --no-records -o "$seeds/fuzz_results/small-sketches.h5" >/dev/null
"$cli" -q run "$small" --trials 5 --no-progress -o "$seeds/fuzz_results/small-records.h5" >/dev/null
"$cli" -q run scenarios/default.toml --trials 20 --no-progress --no-records -o "$seeds/fuzz_results/default.h5" >/dev/null
# A sweep of two points over it, with a string parameter: shards, and a progress file (the sweep
# stopped after its first point keeps it for --resume, exiting 130).
printf '[sweep]\nscenario = "%s"\ntrials = 5\n\n[[sweep.parameter]]\npath = "ethereum.fork"\nvalues = ["electra", "deneb"]\n' \
  "$small" >"$work/small-sweep.toml"
"$cli" -q sweep "$work/small-sweep.toml" --shard 0/1 -o "$seeds/fuzz_sweep_part/shard-0of1.h5"
"$cli" -q sweep "$work/small-sweep.toml" --shard 0/1 --records -o "$seeds/fuzz_sweep_part/shard-0of1-records.h5"
"$cli" -q sweep "$work/small-sweep.toml" --shard 1/2 -o "$seeds/fuzz_sweep_part/shard-1of2.h5"
"$cli" -q sweep "$work/small-sweep.toml" --records --stop-after 1 -o "$work/stopped.h5" 2>/dev/null || [ $? -eq 130 ]
cp "$work/stopped.h5.partial-points/point-0.h5" "$seeds/fuzz_sweep_part/progress-point-0.h5"
fi

# ---- the campaign ----
dict_of() { case "$1" in fuzz_results|fuzz_sweep_part) echo tests/fuzz/hdf5.dict ;; *) echo tests/fuzz/toml.dict ;; esac; }
# LeakSanitizer stays on: a leak is a finding. -malloc_limit_mb: one allocation of more than 2 GiB is
# a finding too (a file's declared extent must not decide what is allocated); -timeout: one input
# running 10 s is a finding (the shipped files take milliseconds).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limits="-timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=2048"
run_target() {
  local t=$1 mode=()
  mkdir -p "$out/corpus/$t"
  # Debian's libhdf5 1.10.8 crashes on some malformed files inside its own code (docs/reliability.md,
  # "Fuzzing": H5HG_read ...), where no check of ours can come first. The HDF5 targets therefore run in
  # fork mode, which keeps going after a crash; every input that failed is classified below.
  # Its endless loops (H5C_protect) would cost 10 s each: 3 s is still a thousand times a seed's time.
  case "$t" in
    fuzz_results|fuzz_sweep_part) mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=3) ;;
  esac
  TMPDIR=$work "$out/bin/$t" -max_total_time="$seconds" $limits "${mode[@]}" \
    -dict="$(dict_of "$t")" -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
    "$out/corpus/$t" "$seeds/$t" >"$out/logs/$t.log" 2>&1
}
export -f run_target dict_of
export out seeds seconds work limits
if [ "$report_only" = 0 ]; then
  rm -f "$out"/crashes/*
  printf '%s\n' $targets | xargs -P "$jobs" -I{} bash -c 'run_target {} || true'
fi

# Each failing input, run again: "hdf5" if the first frame of the report outside the sanitizers'
# runtime, libFuzzer and libc is in libhdf5 (HDF5's own defect: listed, not failing the run), "none" if
# it does not fail again (a timeout on a loaded machine: listed), "ours" otherwise.
# A frame in the fuzz binary itself without a source line is the sanitizers' runtime or libFuzzer,
# linked in statically (an interceptor such as strdup, called by libhdf5): our code always has one.
runtime='__interceptor_|__asan|__sanitizer|__lsan|__ubsan|libclang_rt|fuzzer::|sysdeps/|/libc\.so|libc_start|in (malloc|calloc|realloc|free|operator new)|__mem(cpy|move|set)|__str|\(/[^ ]*/bin/fuzz_[a-z_]+\+0x[0-9a-f]+\)'
classify() {
  local t=$1 input=$2 report first name
  local timeout=()
  case "$t" in fuzz_results|fuzz_sweep_part) timeout=(-timeout=3) ;; esac  # as in the campaign
  # The slow unwinder: libhdf5 has no frame pointers, and a leak's stack must reach our frames.
  report=$(ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 TMPDIR=$work "$out/bin/$t" $limits "${timeout[@]}" \
    "$input" 2>&1 || true)
  first=$(echo "$report" | grep -E '^ +#[0-9]+ ' | grep -v -E "$runtime" | head -n 1 || true)
  if [ -z "$first" ]; then
    echo "none $(basename "$input")"
  elif [[ $first == *libhdf5* ]]; then
    name=$(echo "$report" | sed -n 's/^ *#[0-9]* 0x[0-9a-f]* in \(H5[A-Za-z0-9_]*\) .*libhdf5.*/\1/p' | head -n 1 || true)
    echo "hdf5 ${name:-?}"
  else
    echo "ours $(echo "$first" | sed 's/^ *//' | cut -c1-200)"
  fi
}
failed=0
printf '%-16s %11s %7s %7s  %s\n' target executions exec/s corpus "failing inputs"
for t in $targets; do
  log=$out/logs/$t.log
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\):* .*/\1/p' "$log" | tail -n 1)  # fork mode: the last count
  speed=$(( ${runs:-0} / seconds ))
  [ "$report_only" = 0 ] || speed=-
  corpus=$(find "$out/corpus/$t" -type f | wc -l)
  hdf5=0 ours=0 none=0 notes=""
  for input in "$out/crashes/$t"-*; do
    [ -e "$input" ] || continue
    read -r kind where < <(classify "$t" "$input")
    case "$kind" in
      hdf5) hdf5=$((hdf5 + 1)); notes="$notes $where" ;;
      none) none=$((none + 1)); echo "$input: did not fail when run again" >&2 ;;
      *) ours=$((ours + 1)); echo "$input: $where" >&2 ;;
    esac
  done
  result="0 ours"
  [ "$ours" -eq 0 ] || { result="$ours OURS (listed above)"; failed=1; }
  [ "$hdf5" -eq 0 ] || result="$result, $hdf5 in libhdf5 ($(echo $notes | tr ' ' '\n' | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}'))"
  [ "$none" -eq 0 ] || result="$result, $none not again"
  if [ "$ours$hdf5$none" = 000 ] && grep -q -E '^==[0-9]+==ERROR|runtime error:|uncaught exception' "$log"; then
    result="FAILED without an input left (see $log)"; failed=1
  fi
  printf '%-16s %11s %7s %7s  %s\n' "$t" "${runs:-?}" "$speed" "$corpus" "$result"
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: a target failed in restake-sim's code; the inputs are in $out/crashes/ (reproduce: $out/bin/<target> <file>)" >&2
  exit 1
fi
