"""restake_analysis: read restake-sim results (HDF5), plot them and write an HTML report.

    from restake_analysis import Results
    with Results("results/default.h5") as r:
        print(r.summary_frame())

Command line: python3 -m restake_analysis report RESULTS.h5 [MORE.h5 ...] -o DIR (see docs/analysis.md).
"""
from .results import (FORMAT_VERSION, FormatVersionError, Holder, NoRecordsError, Results,
                      ResultsError, Summary)

__all__ = ["FORMAT_VERSION", "FormatVersionError", "Holder", "NoRecordsError", "Results",
           "ResultsError", "Summary"]
__version__ = "0.1.0"
