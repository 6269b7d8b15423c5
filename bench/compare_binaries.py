#!/usr/bin/python3
"""Old vs new binary on the default scenario, side by side in one run (docs/performance.md).

    bench/compare_binaries.py OLD/restake-sim NEW/restake-sim [trials] [rounds]

Alternates the two binaries round by round (so drift in the machine's load hits both), with
records off (engine and tallies) and on (plus HDF5), on 1 thread and on all cores, and prints each
binary's best wall time and best CPU time (user + system, summed over threads: the work done, less
sensitive than wall time to other load on a shared machine) and the ratios old/new (> 1: the new
binary is faster). Build both binaries the same way (e.g. both without MPI, whose libraries add a
fixed start-up cost).
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "default.toml"


def seconds(binary, trials, flags, out):
    """Wall and CPU seconds of one run."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run([binary, "-q", "run", str(SCENARIO), "--trials", str(trials), "--no-progress",
                    "-o", out, *flags], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    old, new = argv[1], argv[2]
    trials = int(argv[3]) if len(argv) > 3 else 2_000_000
    rounds = int(argv[4]) if len(argv) > 4 else 5
    configs = [("1 thread, no records", ["--threads", "1", "--no-records"]),
               ("all cores, no records", ["--no-records"]),
               ("1 thread, records", ["--threads", "1"]),
               ("all cores, records", [])]
    print(f"{'default.toml, ' + str(trials) + ' trials':<32} {'old s':>9} {'new s':>9} {'old/new':>8}"
          f" {'old cpu s':>10} {'new cpu s':>10} {'old/new':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "r.h5")
        for name, flags in configs:
            wall = {old: float("inf"), new: float("inf")}
            cpu = dict(wall)
            for _ in range(rounds):
                for binary in (old, new):
                    w, c = seconds(binary, trials, flags, out)
                    wall[binary], cpu[binary] = min(wall[binary], w), min(cpu[binary], c)
            print(f"{name:<32} {wall[old]:>9.3f} {wall[new]:>9.3f} {wall[old] / wall[new]:>8.3f}"
                  f" {cpu[old]:>10.3f} {cpu[new]:>10.3f} {cpu[old] / cpu[new]:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
