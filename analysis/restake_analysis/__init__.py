"""restake_analysis: read restake-sim results (HDF5), plot them and write an HTML report.

    from restake_analysis import Results
    with Results("results/default.h5") as r:
        print(r.summary_frame())

Command line: python3 -m restake_analysis report RESULTS.h5 [MORE.h5 ...] -o DIR (see docs/analysis.md).
"""
from .results import (FORMAT_VERSION, FormatVersionError, Holder, NoRecordsError, Results,
                      ResultsError, Summary)
from .sweep import Sweep, plot_sweep_heatmap, plot_sweep_metric

__all__ = ["FORMAT_VERSION", "FormatVersionError", "Holder", "NoRecordsError", "Results",
           "ResultsError", "Summary", "Sweep", "plot_sweep_heatmap", "plot_sweep_metric"]
__version__ = "0.1.0"
