#!/usr/bin/python3
"""Time `restake-analysis report` on a large run (issue 15): wall time, CPU time and peak memory.

    bench/report_speed.py [--sim build/bin/restake-sim] [--trials 2000000]
                          [--scenario scenarios/ecosystem.toml] [--file /tmp/report-bench.h5]
                          [--repeat 1] [ANALYSIS_DIR ...]

Writes the results file once (the ecosystem scenario: 8 holders, 18 AVSs; kept and reused while its
trial count matches), then runs the report of each ANALYSIS_DIR (default: this checkout's analysis/)
under /usr/bin/time -v, alternating, `repeat` times, and prints each run's figures and the best.
To compare with an older analysis package, extract it first, e.g.
    git archive 70afee0 analysis | tar -x -C /tmp/old && bench/report_speed.py /tmp/old/analysis analysis
The machine's load average is printed before and after: wall times on a shared machine are only
comparable within one session (CPU time varies less).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parents[1]


def results_file(args) -> Path:
    path = Path(args.file)
    if path.is_file():
        try:
            with h5py.File(path, "r") as f:
                if int(f.attrs.get("trials", -1)) == args.trials and int(f.attrs.get("complete", 0)) == 1:
                    return path
        except OSError:
            pass
    print(f"writing {path}: {args.scenario}, {args.trials:,} trials", flush=True)
    subprocess.run([args.sim, "run", args.scenario, "--trials", str(args.trials), "-o", str(path), "--no-progress",
                    "-q"], check=True)
    return path


def measure(analysis: Path, results: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="report-bench-") as out:
        proc = subprocess.run(["/usr/bin/time", "-v", "/usr/bin/python3", "-m", "restake_analysis", "report",
                               str(results), "-o", out], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(analysis)})
    if proc.returncode != 0:
        sys.exit(f"report with {analysis} failed:\n{proc.stderr}")

    def field(name):
        m = re.search(rf"{re.escape(name)}: (.+)", proc.stderr)
        if not m:
            sys.exit(f"/usr/bin/time gave no {name!r}:\n{proc.stderr}")
        return m.group(1).strip()
    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
    return {"wall_s": seconds, "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
            "peak_mb": int(field("Maximum resident set size (kbytes)")) / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("analysis", nargs="*", default=[str(REPO / "analysis")],
                    help="analysis package folders to time (each holds restake_analysis/)")
    ap.add_argument("--sim", default=os.environ.get("RESTAKE_SIM", str(REPO / "build" / "bin" / "restake-sim")))
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "ecosystem.toml"))
    ap.add_argument("--trials", type=int, default=2_000_000)
    ap.add_argument("--file", default="/tmp/report-bench.h5", help="results file (written if absent or other)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    results = results_file(args)
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores", flush=True)
    runs: dict[str, list] = {a: [] for a in args.analysis}   # a folder named twice: runs alternate
    for i in range(args.repeat):
        for a in args.analysis:
            m = measure(Path(a), results)
            runs[a].append(m)
            print(f"{a} #{i + 1}: wall {m['wall_s']:.1f} s, CPU {m['cpu_s']:.1f} s, peak RSS {m['peak_mb']:,.0f} MB "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"\nbest of each, report of {results} ({args.trials:,} trials):")
    print(f"{'analysis':<40} {'runs':>5} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}")
    for a, ms in runs.items():
        print(f"{a:<40} {len(ms):>5} {min(m['wall_s'] for m in ms):>8.1f} {min(m['cpu_s'] for m in ms):>8.1f} "
              f"{min(m['peak_mb'] for m in ms):>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
