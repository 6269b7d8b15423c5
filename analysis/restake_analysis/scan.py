"""One pass over a run's per-trial records, in blocks of trials, for the report (issue 15).

The report needs each holder's whole loss and net-return columns (exact order statistics need every
trial), but of the [trial, holder, cause] ledger and the [trial, AVS] slashings only digests: which
trials hit which holder or AVS, each holder's worst trials by gross loss with their causes, and the
cascade ledgers' trials with a loss. Read whole, those two datasets are 1.3 GB for 2M trials x 8
holders x 8 causes x 18 AVSs, and the arithmetic on them made several times that in temporaries.
scan_records reads every per-trial dataset once, in blocks of about BLOCK_BYTES, and keeps the
columns and the digests; every statistic and figure it feeds equals the one computed from the whole
arrays (tests/test_scan.py checks each against its whole-array function).

TrialColumns holds the columns and sorts each once: the report reads a holder's sorted loss for
its intervals, the statistics check and the exceedance curve, and its sorted return for the check
and the net-yield figure.
"""
from __future__ import annotations

import math
import mmap
import multiprocessing as mp
import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import h5py
import numpy as np

from . import contagion as cg
from . import statistics as st

BLOCK_BYTES = 16 << 20      # bytes of the widest dataset read at once (below glibc's 32 MB mmap threshold: reused)
MATERIAL_LOSS = 0.01        # the conditional matrix's "material" gross loss, share of value
TAIL_SHARE = 0.01           # the tail cause mix's worst share of trials


class Progress:
    """Progress lines on stderr, each with the seconds since the report started; silent when off."""

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.monotonic()

    def __call__(self, text: str):
        if self.enabled:   # one write per line: the drawing processes print to the same stream
            self.stream.write(f"[{time.monotonic() - self.start:6.1f} s] {text}\n")
            self.stream.flush()


class TrialColumns:
    """Each holder's loss (net of coverage) and net-return column of a run's records, with each
    column's sort computed once and kept. loss and net_return are [H, N] (rows may be views of an
    [N, H] array's columns); weight is the run's trial weights, None in plain Monte Carlo."""

    def __init__(self, loss: np.ndarray, net_return: np.ndarray, weight: np.ndarray | None):
        self._loss, self._return, self.weight = loss, net_return, weight
        self._sorted: dict = {}

    @classmethod
    def of(cls, r) -> "TrialColumns":
        """From a Results' whole arrays (read at once): the path of notebooks and small files."""
        return cls(r.loss_fraction.T, r.net_return.T, r.weight)

    @property
    def n(self) -> int:
        return self._loss.shape[1]

    def loss(self, h: int) -> np.ndarray:
        return self._loss[h]

    def net_return(self, h: int) -> np.ndarray:
        return self._return[h]

    def _sort(self, key, x) -> tuple[np.ndarray, np.ndarray | None]:
        if key not in self._sorted:
            self._sorted[key] = sort_sparse(x, self.weight)
        return self._sorted[key]

    def sorted_loss(self, h: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(loss ascending, its weights carried along; None in plain Monte Carlo)."""
        return self._sort(("loss", h), self._loss[h])

    def sorted_return(self, h: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self._sort(("return", h), self._return[h])

    def spread(self, h: int, b: int) -> np.ndarray:
        """Holder h's net return minus holder b's, trial by trial."""
        return self._return[h] - self._return[b]

    def sorted_spread(self, h: int, b: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self._sort(("spread", h, b), self.spread(h, b))

    def presort(self, pairs=(), workers: int = 2):
        """Sort every column, and the spreads of `pairs` [(h, b)], now, `workers` at a time (numpy
        sorts without holding the GIL)."""
        keys = [(what, h) for what in ("loss", "return") for h in range(self._loss.shape[0])]
        keys += [("spread", h, b) for h, b in pairs]
        todo = [k for k in keys if k not in self._sorted]

        def sort(key):
            x = {"loss": self._loss, "return": self._return}[key[0]][key[1]] if key[0] != "spread" \
                else self.spread(key[1], key[2])
            return key, sort_sparse(x, self.weight)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            self._sorted.update(pool.map(sort, todo))


def sort_sparse(x: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(np.sort(x), None), or st.sort_weighted(x, w) with weights: the same values in the same order,
    sorting only the nonzero values when most are zero (most trials lose nothing) and putting the
    zeros, in trial order, between the negative and the positive ones."""
    nonzero = np.flatnonzero(x != 0.0)
    if 2 * nonzero.size > x.size:
        return (np.sort(x), None) if w is None else st.sort_weighted(x, w)
    zero = np.flatnonzero(x == 0.0)
    if w is None:
        v = np.sort(x[nonzero])
        k = int(np.searchsorted(v, 0.0))   # the negative ones (NaN sorts last, as np.sort puts it)
        return np.concatenate((v[:k], x[zero], v[k:])), None
    order = nonzero[np.argsort(x[nonzero], kind="stable")]
    k = int(np.searchsorted(x[order], 0.0))
    order = np.concatenate((order[:k], zero, order[k:]))
    return x[order], np.asarray(w, dtype=np.float64)[order]


class WorstTrials:
    """One holder's worst trials by gross loss, kept as the blocks of trials go by, exactly as
    plots.tail_loss_by_cause takes them from the whole run: ranked by gross loss, ties in trial
    order, the first ceil(share N) (weighted: the first whose weights reach share N) of which those
    with a loss. Only trials with a loss are candidates (they rank before every trial without), and
    a candidate that falls behind the cut never comes back: trials added later only push it down."""

    def __init__(self, n: int, causes: int, weighted: bool, share: float = TAIL_SHARE):
        self.k = max(1, math.ceil(share * n))
        self.target = share * n
        self.weighted = weighted
        # Candidates in trial order (plain Monte Carlo) or worst first (weighted: the cut needs the
        # running sum of weights in rank order).
        self.value = np.empty(0)
        self.trial = np.empty(0, dtype=np.int64)
        self.rows = np.empty((0, causes))
        self.w = np.empty(0)
        self.cut = None   # once the cut is known: a later trial must beat this loss (a tie loses)

    def add(self, gross: np.ndarray, rows: np.ndarray, first_trial: int, w: np.ndarray | None):
        """gross [n]: the block's gross loss of this holder; rows [n, C] its loss by cause."""
        pos = np.flatnonzero(gross > 0.0 if self.cut is None else gross > self.cut)
        if pos.size:
            self._take(gross[pos], pos + first_trial, rows[pos], None if w is None else w[pos])

    def merge(self, later: "WorstTrials"):
        """Take in the candidates of the same holder's later trials (another process's part)."""
        if later.value.size:
            self._take(later.value, later.trial, later.rows, later.w if self.weighted else None)

    def _take(self, value, trial, rows, w):
        self.value = np.concatenate((self.value, value))
        self.trial = np.concatenate((self.trial, trial))
        self.rows = np.concatenate((self.rows, rows))
        if self.weighted:
            self.w = np.concatenate((self.w, w))
            order = np.lexsort((self.trial, -self.value))
            self.value, self.trial, self.rows, self.w = (self.value[order], self.trial[order], self.rows[order],
                                                         self.w[order])
            reach = int(np.searchsorted(np.cumsum(self.w), self.target)) + 1
            if reach <= self.value.size:
                self.value, self.trial, self.rows, self.w = (self.value[:reach], self.trial[:reach],
                                                             self.rows[:reach], self.w[:reach])
                self.cut = self.value[-1]
        elif self.value.size >= 2 * self.k:   # prune now and then, keeping trial order
            keep = np.sort(cg.worst_first(self.value, self.k))
            self.value, self.trial, self.rows = self.value[keep], self.trial[keep], self.rows[keep]
            self.cut = self.value.min()

    def cause_mix(self) -> np.ndarray:
        """[C] the causes' shares of the worst trials' gross loss; NaN without a loss in any trial."""
        if not self.value.size:
            return np.full(self.rows.shape[1], np.nan)
        if self.weighted:
            c = (self.rows * self.w[:, None]).sum(axis=0)
        else:
            order = cg.worst_first(self.value, self.k)   # worst first, as the whole-run sum adds them
            c = (self.rows[order] * 1.0).sum(axis=0)
        return c / c.sum()


@dataclass
class RecordScan:
    """What the report takes from a run's per-trial records (scan_records)."""
    columns: TrialColumns
    gross_hit: np.ndarray            # [N, H] bool: gross loss > 0
    gross_hit_material: np.ndarray   # [N, H] bool: gross loss > MATERIAL_LOSS of value
    avs_hit: np.ndarray              # [N, A] bool: the AVS slashed holders' stake
    tail_causes: np.ndarray          # [H, C] plots.tail_loss_by_cause
    amplification: cg.Amplification  # contagion.cascade_amplification


def block_trials(r, names, block_bytes: int = BLOCK_BYTES) -> int:
    """Trials per block: the widest dataset's rows in block_bytes, a multiple of its HDF5 chunk's
    rows (a block then decompresses each chunk once)."""
    f = r._file["trials"]
    widest = max(names, key=lambda name: f[name].dtype.itemsize * math.prod(f[name].shape[1:]))
    d = f[widest]
    row_bytes = max(1, d.dtype.itemsize * math.prod(d.shape[1:]))
    rows = max(1, block_bytes // row_bytes)
    chunk = d.chunks[0] if d.chunks else 1
    return max(chunk, rows // chunk * chunk)


def finite_by_column(r, name: str, block: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each holder's column of the [trial, holder] record /trials/`name`, read once in blocks of
    `block` trials (default: block_trials), kept only where finite: [(trials ascending, values)]
    per holder. For records that are NaN in most trials (first_loss_day: no loss), so a figure needs
    neither the whole [N, H] array nor a read of the dataset per holder."""
    d = r._file["trials"][name]
    n, H = d.shape
    block = block or block_trials(r, [name])
    parts = [([], []) for _ in range(H)]
    for a in range(0, n, block):
        x = d[a:min(n, a + block)]
        for h in range(H):
            hit = np.flatnonzero(np.isfinite(x[:, h]))
            parts[h][0].append(hit + a)
            parts[h][1].append(x[hit, h])
    return [(np.concatenate(t) if t else np.empty(0, dtype=np.int64), np.concatenate(v) if v else np.empty(0))
            for t, v in parts]


PARALLEL_TRIALS = 200_000   # from this many trials, two processes read the records (fork, two cores)


def _shared_empty(shape, dtype=np.float64) -> np.ndarray:
    """An array in anonymous shared memory: a forked process's writes to it are the parent's."""
    size = math.prod(shape) * np.dtype(dtype).itemsize
    if size == 0:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype).reshape(shape)


def scan_records(r, block: int | None = None, progress: Progress | None = None,
                 processes: int | None = None) -> RecordScan:
    """Read r's per-trial records once, `block` trials at a time (default: block_trials), into a
    RecordScan. Memory: the two [H, N] columns and [N, H + A] booleans, plus a block per process.
    processes: 1, or 2 to read the second half of the trials in a forked process (default: 2 from
    PARALLEL_TRIALS trials, where there are two cores and fork)."""
    r._require_records("the report's per-trial statistics")
    progress = progress or Progress(False)
    n, H, C, A = r.n_trials, len(r.holders), len(r.loss_causes), len(r.avs_names)
    block = block or block_trials(r, ["loss_fraction", "net_return", "loss_by_cause", "avs_stake_lost"])
    if processes is None:
        processes = 2 if (n >= PARALLEL_TRIALS and (os.cpu_count() or 1) >= 2
                          and "fork" in mp.get_all_start_methods()) else 1
    two = processes >= 2 and n > block
    alloc = _shared_empty if two else np.empty
    out = {"loss": alloc((H, n)), "ret": alloc((H, n)), "gross_hit": alloc((n, H), bool),
           "material": alloc((n, H), bool), "avs_hit": alloc((n, A), bool)}
    groups, note = cg.holder_aggregates(r)
    # The parent reads the first part, a forked process the rest (from a block's start), each
    # writing its trials' columns and hits into the shared arrays and keeping its own digests.
    mid = -(-n // 2 // block) * block if two else n
    child = None
    if two:
        ctx = mp.get_context("fork")
        conn, child_end = ctx.Pipe(duplex=False)

        def run():
            try:
                with h5py.File(r.path, "r") as f:
                    child_end.send(_scan_part(r, f["trials"], mid, n, block, out, groups, Progress(False)))
            except BaseException:
                child_end.send(traceback.format_exc())
        child = ctx.Process(target=run, daemon=True)
        child.start()
        child_end.close()
    worst, ledgers = _scan_part(r, r._file["trials"], 0, mid, block, out, groups, progress, n)
    if child is not None:
        try:
            got = conn.recv()
        except EOFError:
            got = f"the reading process ended with exit code {child.exitcode} before it reported"
        child.join()
        if isinstance(got, str):
            raise RuntimeError(f"reading {r.path} in a second process failed:\n{got}")
        for mine, theirs in zip(worst, got[0]):
            mine.merge(theirs)
        ledgers = [a + b for a, b in zip(ledgers, got[1])]
    progress(f"read the per-trial records: {n:,} trials")
    trials = [tuple(np.concatenate(parts) for parts in zip(*acc)) for acc in ledgers]
    amplification = cg.amplification_of_trials(r, trials, groups, note)
    return RecordScan(TrialColumns(out["loss"], out["ret"], r.weight), out["gross_hit"], out["material"],
                      out["avs_hit"], np.array([t.cause_mix() for t in worst]).reshape(H, C), amplification)


def _scan_part(r, f, start: int, stop: int, block: int, out: dict, groups, progress: Progress,
               shown_of: int | None = None):
    """Trials [start, stop) of the per-trial datasets f (a /trials group) into `out`'s arrays;
    returns each holder's WorstTrials and each ledger's trials with a loss (lists of pieces)."""
    n, H, C, A = r.n_trials, len(r.holders), len(r.loss_causes), len(r.avs_names)
    w = r.weight   # [N], validated by the reader
    worst = [WorstTrials(n, C, w is not None) for _ in range(H)]
    K = H + len(groups)
    empty = (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), np.empty(0, dtype=np.int16))
    ledgers = [[empty] for _ in range(K)]
    shown = 0
    for a in range(start, stop, block):
        b = min(stop, a + block)
        out["loss"][:, a:b] = f["loss_fraction"][a:b].T
        out["ret"][:, a:b] = f["net_return"][a:b].T
        lbc = f["loss_by_cause"][a:b]
        gross = lbc.sum(axis=2)
        out["gross_hit"][a:b] = gross > 0.0
        out["material"][a:b] = gross > MATERIAL_LOSS
        wb = None if w is None else w[a:b]
        for h in range(H):
            worst[h].add(gross[:, h], lbc[:, h, :], a, wb)
        for acc, piece in zip(ledgers, cg.block_ledger_trials(r, lbc, groups, gross, a)):
            acc.append(piece)
        if A:
            out["avs_hit"][a:b] = f["avs_stake_lost"][a:b] > 0.0
        if shown_of and 10 * b // stop > shown:
            shown = 10 * b // stop
            progress(f"read the per-trial records: {100 * (b - start) // (stop - start)}%"
                     + (" (this process's half)" if stop < shown_of else ""))
    return worst, ledgers
