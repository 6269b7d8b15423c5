#!/usr/bin/env bash
# Old vs new binary on the default scenario, side by side in one run (docs/performance.md):
#   bench/compare_binaries.sh OLD/restake-sim NEW/restake-sim [trials] [rounds]
# Alternates the two binaries round by round (so drift in the machine's load hits both), with
# records off (the engine and tallies) and on (plus HDF5), on 1 thread and on all cores, and
# prints each binary's best time and the ratio old/new (> 1: the new binary is faster).
set -euo pipefail
old=$1 new=$2 trials=${3:-2000000} rounds=${4:-5}
scenario="$(dirname "$0")/../scenarios/default.toml"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
seconds() {  # binary, extra flags...
  local bin=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" -q run "$scenario" --trials "$trials" --no-progress -o "$out/r.h5" "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
printf '%-28s %12s %12s %10s\n' "default, $trials trials" "old s" "new s" "old/new"
for config in "--threads 1 --no-records" "--no-records" "--threads 1" ""; do
  best_old=1e9 best_new=1e9
  for ((r = 0; r < rounds; r++)); do
    # shellcheck disable=SC2086
    t=$(seconds "$old" $config); best_old=$(echo "if ($t < $best_old) $t else $best_old" | bc -l)
    # shellcheck disable=SC2086
    t=$(seconds "$new" $config); best_new=$(echo "if ($t < $best_new) $t else $best_new" | bc -l)
  done
  printf '%-28s %12.3f %12.3f %10.3f\n' "${config:-all cores, records}" "$best_old" "$best_new" "$(echo "$best_old / $best_new" | bc -l)"
done
