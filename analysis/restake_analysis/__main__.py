"""Command line: python3 -m restake_analysis {report,summary} ... (PYTHONPATH=analysis)."""
from __future__ import annotations

import argparse
import sys

from .results import Results, ResultsError


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
    shown = rep.add_mutually_exclusive_group()
    shown.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="print what is being computed, with the seconds elapsed, on stderr (the default "
                            "when stderr is a terminal)")
    shown.add_argument("-q", "--quiet", dest="progress", action="store_false", help="no progress lines")
    summ = sub.add_parser("summary", help="print the stored summary as a table, and check it against the records")
    summ.add_argument("results")
    summ.add_argument("--check", action="store_true",
                      help="recompute the statistics from the per-trial records and compare (exit 1 on a mismatch)")
    args = ap.parse_args(argv)
    try:
        if args.command == "report":
            from .report import write_report
            index = write_report(args.results, args.output, args.title, args.pair, progress=args.progress)
            print(f"report written: {index}")
            return 0
        with Results(args.results) as r:
            import pandas as pd
            with pd.option_context("display.width", 200, "display.max_columns", 40,
                                   "display.float_format", "{:.6g}".format):
                print(r)
                print(r.summary_frame().T)
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


if __name__ == "__main__":
    sys.exit(main())
