"""Command line: python3 -m restake_analysis {report,summary} ... (PYTHONPATH=analysis)."""
from __future__ import annotations

import argparse
import math
import sys

from .results import Results, ResultsError
from .sweep_report import SweepReportError


def parse_thresholds(text: str) -> list[float]:
    """"5%,10%,25%" or "0.05,0.1": losses in (0, 1], none twice, ascending; as `restake-sim --threshold`."""
    out = []
    for item in text.split(","):
        item = item.strip()
        try:
            x = float(item[:-1]) / 100.0 if item.endswith("%") else float(item)
        except ValueError:
            x = math.nan
        if not (0.0 < x <= 1.0):
            raise ResultsError(f"--threshold: expected losses in (0, 1] or (0%, 100%], comma-separated (5%,10%,25%), "
                               f"got {item or 'an empty value'}")
        if x in out:
            raise ResultsError(f"--threshold: {item} is given twice")
        out.append(x)
    return sorted(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m restake_analysis",
                                 description="Read restake-sim results files: HTML report, summary tables.")
    sub = ap.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="write an HTML report (index.html + PNG figures) of one or more results files")
    rep.add_argument("results", nargs="+", help="results file(s) written by restake-sim run; several: a comparison")
    rep.add_argument("-o", "--output", required=True, help="output folder (created; files in it are replaced)")
    rep.add_argument("--title", help="page title")
    rep.add_argument("--pair", action="append", default=[], metavar="A=B",
                     help="compare holder A of the first file with holder B of the others, besides same-name "
                          "holders (repeatable; or A=B,C=D)")
    rep.add_argument("--var-limit", metavar="X",
                     help="sweep files: per holder, the parameter value that keeps VaR 99%% at or under X "
                          "(5%% or 0.05), interpolated between adjacent points, with its 95%% interval")
    rep.add_argument("--along", metavar="PARAMETER",
                     help="sweep files: the parameter of the plots' x axis and of --var-limit (default: the first "
                          "numeric parameter that varies)")
    rep.add_argument("--threshold", metavar="X[,X...]",
                     help="losses x of P(loss >= x) to show, e.g. 5%%,10%%,25%% (default: the run's --threshold, "
                          "else 1%%,5%%,10%%,25%%; from the per-trial records)")
    shown = rep.add_mutually_exclusive_group()
    shown.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="print what is being computed, with the seconds elapsed, on stderr (the default "
                            "when stderr is a terminal)")
    shown.add_argument("-q", "--quiet", dest="progress", action="store_false", help="no progress lines")
    summ = sub.add_parser("summary", help="print the stored summary as restake-sim summary does, and check it against the records")
    summ.add_argument("results")
    summ.add_argument("--check", action="store_true",
                      help="recompute the statistics from the per-trial records and compare (exit 1 on a mismatch)")
    summ.add_argument("--wide", action="store_true",
                      help="tables with a column per holder in one piece, however wide (default: cut to 120 columns)")
    args = ap.parse_args(argv)
    try:
        if args.command == "report":
            from .sweep_report import is_sweep_file, parse_limit, write_sweep_report
            sweeps = [p for p in args.results if is_sweep_file(p)]
            if sweeps:
                if len(args.results) > 1:
                    raise ResultsError(f"{sweeps[0]}: a sweep file is reported alone (one file per report)")
                if args.pair:
                    raise ResultsError("--pair compares results files, not sweeps")
                index = write_sweep_report(sweeps[0], args.output, args.title,
                                           parse_limit(args.var_limit) if args.var_limit else None, args.along)
                print(f"report written: {index}")
                return 0
            if args.var_limit or args.along:
                raise ResultsError("--var-limit and --along read a sweep file; "
                                   f"{args.results[0]} is not one")
            from .report import write_report
            index = write_report(args.results, args.output, args.title, args.pair, progress=args.progress,
                                 thresholds=parse_thresholds(args.threshold) if args.threshold else None)
            print(f"report written: {index}")
            return 0
        with Results(args.results) as r:
            from .summary_table import format_summary
            # The same text as `restake-sim summary FILE` (sim/stats/summary.cpp), from the same file.
            sys.stdout.write(format_summary(r, 0 if args.wide else 120))
            if args.check:
                diff = r.summary_mismatch()
                worst_order = max(v for k, v in diff.items() if k.split(".")[1] not in ("mean", "sd", "stderr"))
                worst_moment = max(v for k, v in diff.items() if k.split(".")[1] in ("mean", "sd", "stderr"))
                ok = worst_order == 0.0 and worst_moment < 1e-9
                print(f"check: order statistics and probabilities {'identical' if worst_order == 0 else f'differ by {worst_order:.3g}'}; "
                      f"moments agree to {worst_moment:.2g} relative -> {'OK' if ok else 'MISMATCH'}")
                return 0 if ok else 1
        return 0
    except ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SweepReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
