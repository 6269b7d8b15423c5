#!/usr/bin/python3
"""The honest peer of issue 13: the k-of-n world of scripts/make_large_world.py as a risk analyst
would write it in numpy in an afternoon, vectorised over trials in batches.

    bench/numpy_peer.py run WORLD_JSON --variant lrt|native --k K [--trials N] [--procs 2] [--seed S]
    bench/numpy_peer.py check RESTAKE_SIM [--scale 1] [--trials 4000] [--variant lrt] [--ks 0,1,5,20]

`run` prints one JSON object: the trials, the seconds spent in trials (after imports and world
loading) and each holder's loss and net-return statistics. `check` generates worlds, runs
restake-sim with per-trial records and the peer on the same world, and compares the distributions
of each holder's loss and net return (means within Monte Carlo error, two-sample Kolmogorov-Smirnov;
with k = 1 and a fixed stress fraction, day and base APR, every trial's exact loss and net return and
the frequencies of the failing AVSs); it exits 1 on a mismatch.

The model. With unique stake (ELIP-002) a slash of f by AVS j removes f x a_ij from operator i's
maxMagnitude (docs/scenario-format.md, "AVS slashing"), and every position on i keeps
stake x maxMagnitude. In the stress world each AVS fails at most once and nothing else happens, so a
holder's loss is linear in the failures: loss_h = sum_j f_j [j fails] G_hj / S_h, with
G_hj = sum_i stake_hi a_ij and S_h the holder's stake. Rewards (simple interest, as the engine):
base APR on the value (which drops at the stress day d) and, per AVS, its decaying APR on the
allocated stake stake x a_ij, which drops to a_ij (1 - f_j) at d. Per batch that is one dense matrix
product with G (the failures' fractions and their lost AVS rewards stacked); 2 processes run half the trials each (one BLAS thread apiece), so the timing is
2 cores against restake-sim's --threads 2.
Statistics per holder: mean, sd, P(loss > 0), VaR and ES at 95% and 99% of the loss (from a
log-spaced histogram: 200 bins per decade from 1e-8, about 1.2% relative resolution), mean, sd and
P(< 0) of the net return."""
import os

# One BLAS thread per process: the peer's 2 cores are its 2 processes. Set before numpy loads BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import math
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HIST_DECADES, HIST_PER_DECADE = 8, 200
HIST_BINS = 1 + HIST_DECADES * HIST_PER_DECADE   # bin 0: no loss (< 1e-8)


class World:
    """The arrays one variant of world.json needs."""

    def __init__(self, world: dict, variant: str, k: int):
        if variant not in world["holders"]:
            raise SystemExit(f"world has no variant {variant!r} (has {', '.join(world['holders'])})")
        n_avs = len(world["avs"])
        if not 0 <= k <= n_avs:
            raise SystemExit(f"k = {k} outside [0, {n_avs}] (the world's AVSs)")
        spec = world["holders"][variant]
        self.k, self.n_avs = k, n_avs
        self.names = [h["name"] for h in spec["holders"]]
        self.fee = spec["reward_fee"]
        self.horizon = float(world["horizon_days"])
        self.base_apr = world["base_apr"]
        self.fraction = world["stress_fraction"]
        self.day = world["stress_day"]
        n_ops = len(world["operators"])
        alloc = np.zeros((n_ops, n_avs))
        for m in world["memberships"]:
            alloc[m["operator"], m["avs"]] = m["allocation"]
        stake = np.zeros((len(self.names), n_ops))
        for h, holder in enumerate(spec["holders"]):
            for p in holder["positions"]:
                stake[h, p["operator"]] += p["stake_eth"]
        total = stake.sum(axis=1)
        # G / S: each holder's allocated stake per AVS as a share of its initial value
        self.gn = (stake @ alloc) / total[:, None]
        self.gn_t = np.ascontiguousarray(self.gn.T)
        avs = world["avs"]
        self.floor = np.array([a["floor_apr"] for a in avs])
        self.decaying = np.array([a["initial_apr"] - a["floor_apr"] for a in avs])
        self.half_life = np.array([float(a["half_life_days"]) for a in avs])
        # AVS rewards without any slash: each APR's integral over the horizon (APR x days) / 365
        self.avs_reward_full = self.gn @ self.apr_days(0.0, self.floor, self.decaying, self.half_life) / 365.0

    def apr_days(self, d, floor, decaying, half_life):
        """Integral of APR(t) = floor + decaying 2^(-t / half_life) from day d to the horizon."""
        return floor * (self.horizon - d) + decaying * half_life / math.log(2.0) * (
            np.exp2(-d / half_life) - np.exp2(-self.horizon / half_life))


def draw(rng, dist, shape):
    """A scenario distribution (fixed, uniform, normal truncated by rejection) as numpy draws."""
    kind = dist["dist"]
    if kind == "fixed":
        return np.full(shape, float(dist["value"]))
    if kind == "uniform":
        return rng.uniform(dist["min"], dist["max"], shape)
    if kind == "normal":
        x = rng.normal(dist["mean"], dist["sd"], shape)
        lo, hi = dist.get("min", -np.inf), dist.get("max", np.inf)
        bad = (x < lo) | (x > hi)
        while bad.any():
            x[bad] = rng.normal(dist["mean"], dist["sd"], int(bad.sum()))
            bad = (x < lo) | (x > hi)
        return x
    raise SystemExit(f"distribution {kind!r} is not modelled by the peer")


def batch(w: World, rng, n: int):
    """Loss and net return, (n, holders) each, of n trials."""
    base = draw(rng, w.base_apr, n)
    d = draw(rng, w.day, n)
    if w.k:
        # k of n AVSs uniformly without replacement: the k smallest of n uniform keys
        failing = np.argpartition(rng.random((n, w.n_avs)), w.k - 1, axis=1)[:, :w.k]
        f = draw(rng, w.fraction, (n, w.k))
        rows = np.arange(n)[:, None]
        slashed = np.zeros((2 * n, w.n_avs))
        slashed[rows, failing] = f
        after = w.apr_days(d[:, None], w.floor[failing], w.decaying[failing], w.half_life[failing])
        slashed[n + rows, failing] = f * after      # the AVS rewards the slashed allocation no longer earns
        both = slashed @ w.gn_t
        loss, lost_apr_days = both[:n], both[n:]
    else:
        loss = np.zeros((n, len(w.names)))
        lost_apr_days = loss
    base_reward = base[:, None] * (d[:, None] + (w.horizon - d)[:, None] * (1.0 - loss)) / 365.0
    avs_reward = w.avs_reward_full[None, :] - lost_apr_days / 365.0
    net = (1.0 - w.fee) * (base_reward + avs_reward) - loss
    return loss, net


def empty_tally(h):
    z = lambda: np.zeros(h)  # noqa: E731
    return {"n": 0, "loss_sum": z(), "loss_sq": z(), "loss_pos": z(), "net_sum": z(), "net_sq": z(), "net_neg": z(),
            "hist": np.zeros((h, HIST_BINS), dtype=np.int64)}


def add(t, loss, net):
    n, h = loss.shape
    t["n"] += n
    t["loss_sum"] += loss.sum(axis=0)
    t["loss_sq"] += (loss * loss).sum(axis=0)
    t["loss_pos"] += (loss > 0).sum(axis=0)
    t["net_sum"] += net.sum(axis=0)
    t["net_sq"] += (net * net).sum(axis=0)
    t["net_neg"] += (net < 0).sum(axis=0)
    with np.errstate(divide="ignore"):
        b = np.floor((np.log10(loss) + HIST_DECADES) * HIST_PER_DECADE) + 1
    b = np.where(loss < 10.0 ** -HIST_DECADES, 0, np.minimum(b, HIST_BINS - 1)).astype(np.int64)
    t["hist"] += np.bincount((b + np.arange(h) * HIST_BINS).ravel(), minlength=h * HIST_BINS).reshape(h, HIST_BINS)


def merge(a, b):
    return {k: a[k] + b[k] for k in a}


_WORLD = None   # set before the pool forks, so workers share it


def worker(args):
    n, seed_seq, batch_size, keep = args
    w = _WORLD
    rng = np.random.default_rng(seed_seq)
    t = empty_tally(len(w.names))
    kept = []
    done = 0
    while done < n:
        m = min(batch_size, n - done)
        loss, net = batch(w, rng, m)
        add(t, loss, net)
        if keep:
            kept.append((loss, net))
        done += m
    return t, kept


def simulate(w: World, trials: int, procs: int, seed: int, batch_size: int, keep=False):
    """Tallies (and, with keep, every trial's loss and net) of `trials` trials on `procs` processes."""
    global _WORLD
    _WORLD = w
    seeds = np.random.SeedSequence(seed).spawn(procs)
    shares = [trials // procs + (i < trials % procs) for i in range(procs)]
    jobs = [(s, q, batch_size, keep) for s, q in zip(shares, seeds) if s > 0]
    if procs == 1:
        parts = [worker(j) for j in jobs]
    else:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            parts = pool.map(worker, jobs)
    tally = parts[0][0]
    for t, _ in parts[1:]:
        tally = merge(tally, t)
    kept = [x for _, k in parts for x in k]
    if keep:
        return tally, np.concatenate([l for l, _ in kept]), np.concatenate([n for _, n in kept])
    return tally, None, None


def bin_mids():
    """Geometric middle of each histogram bin (bin 0, no loss: 0)."""
    b = np.arange(1, HIST_BINS)
    return np.concatenate([[0.0], 10.0 ** ((b - 0.5) / HIST_PER_DECADE - HIST_DECADES)])


def summary(w: World, t) -> list:
    n = t["n"]
    mid = bin_mids()
    out = []
    for h, name in enumerate(w.names):
        mean = t["loss_sum"][h] / n
        sd = math.sqrt(max(0.0, t["loss_sq"][h] / n - mean * mean))
        counts = t["hist"][h]
        tail = np.cumsum(counts[::-1])[::-1]   # trials in this bin or above
        row = {"holder": name, "loss_mean": mean, "loss_sd": sd, "p_loss": t["loss_pos"][h] / n}
        for level in (0.95, 0.99):
            need = n * (1 - level)
            b = int(np.nonzero(tail >= need)[0][-1]) if need > 0 else HIST_BINS - 1
            row[f"var{round(level * 100)}"] = float(mid[b])
            top = slice(b + 1, None)
            above = counts[top].sum()
            row[f"es{round(level * 100)}"] = float((counts[top] @ mid[top] + (need - above) * mid[b]) / need) \
                if need > 0 else float(mid[b])
        nm = t["net_sum"][h] / n
        row.update(net_mean=nm, net_sd=math.sqrt(max(0.0, t["net_sq"][h] / n - nm * nm)), p_net_negative=t["net_neg"][h] / n)
        out.append(row)
    return out


def cmd_run(args):
    world = json.loads(Path(args.world).read_text())
    w = World(world, args.variant, args.k)
    batch_size = args.batch or max(256, min(8192, 2 ** 21 // len(w.names)))
    start = time.perf_counter()
    tally, _, _ = simulate(w, args.trials, args.procs, args.seed, batch_size)
    seconds = time.perf_counter() - start
    print(json.dumps({"trials": args.trials, "procs": args.procs, "k": args.k, "variant": args.variant,
                      "seconds_in_trials": seconds, "holders": summary(w, tally)}))


# ---------------------------------------------------------------------------------------------- check

def ks_statistic(a, b, tol=1e-12):
    """Two-sample Kolmogorov-Smirnov D. Values within tol count as equal: the two programs' atoms (a
    loss of f x G) differ in the last bits, and a strict ECDF would step at one before the other."""
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b]) + tol
    return float(np.max(np.abs(np.searchsorted(a, x, side="right") / len(a) - np.searchsorted(b, x, side="right") / len(b))))


def engine_records(binary, scenario, trials, seed, out):
    import h5py
    r = subprocess.run([binary, "-q", "run", str(scenario), "-o", str(out), "--threads", "2", "--trials", str(trials),
                        "--seed", str(seed), "--no-progress"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"restake-sim run {scenario} failed ({r.returncode}):\n{r.stderr}")
    with h5py.File(out, "r") as f:
        names = list(f["holders/names"].asstr()[()])
        return names, f["trials/loss_fraction"][()], f["trials/net_return"][()]


def compare(label, w, names, e_loss, e_net, p_loss, p_net, failures):
    """Per holder: means within Monte Carlo error, KS D below its critical value; each test at a
    0.1% false-alarm rate over all of the scenario's tests (Bonferroni: 4 per holder)."""
    n, m = len(e_loss), len(p_loss)
    alpha = 0.001 / (4 * len(w.names))
    crit = math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))
    z_crit = math.sqrt(2 * math.log(1 / alpha))   # a bound on the normal's two-sided alpha quantile
    index = {name: i for i, name in enumerate(names)}
    worst = {"loss_z": 0.0, "net_z": 0.0, "loss_ks": 0.0, "net_ks": 0.0}
    for h, name in enumerate(w.names):
        if name not in index:
            failures.append(f"{label}: restake-sim has no holder {name!r}")
            continue
        e = index[name]
        for what, a, b in (("loss", e_loss[:, e], p_loss[:, h]), ("net", e_net[:, e], p_net[:, h])):
            se = math.sqrt(a.var() / n + b.var() / m)
            z = abs(a.mean() - b.mean()) / se if se > 0 else (0.0 if abs(a.mean() - b.mean()) < 1e-12 else math.inf)
            d = ks_statistic(a, b)
            worst[f"{what}_z"] = max(worst[f"{what}_z"], z)
            worst[f"{what}_ks"] = max(worst[f"{what}_ks"], d)
            if z > z_crit or d > crit:
                failures.append(f"{label} {name} {what}: restake-sim mean {a.mean():.6g}, peer {b.mean():.6g} "
                                f"({z:.1f} SE); KS D {d:.4f} (critical {crit:.4f})")
    qs = (0.5, 0.9, 0.99)
    h0 = int(np.argmax(w.gn.sum(axis=1)))   # the most exposed holder, for the printout
    e0 = index.get(w.names[h0], 0)
    eq = np.quantile(e_loss[:, e0], qs)
    pq = np.quantile(p_loss[:, h0], qs)
    print(f"{label}: {len(w.names)} holder(s), {n} vs {m} trials; worst |z| loss {worst['loss_z']:.2f}, "
          f"net {worst['net_z']:.2f} (critical {z_crit:.2f}); worst KS D loss {worst['loss_ks']:.4f}, net {worst['net_ks']:.4f} "
          f"(critical {crit:.4f})")
    print(f"  {w.names[h0]}: mean loss {e_loss[:, e0].mean():.6g} vs {p_loss[:, h0].mean():.6g}; "
          + ", ".join(f"q{q:g} {a:.6g} vs {b:.6g}" for q, a, b in zip(qs, eq, pq)))


def exact_k1(label, w, names, e_loss, e_net, failures):
    """Fixed fraction, day and base APR, k = 1: a trial is a function of the failing AVS j alone, so
    each restake-sim trial's (loss, net return) must be one AVS's pair, and each AVS fail 1/n of the
    time."""
    f, d, base = (float(x["value"]) for x in (w.fraction, w.day, w.base_apr))
    loss = f * w.gn                                                     # (holders, AVSs)
    lost = f * w.gn * w.apr_days(d, w.floor, w.decaying, w.half_life)[None, :] / 365.0
    net = (1 - w.fee) * (base * (d + (w.horizon - d) * (1 - loss)) / 365.0 + w.avs_reward_full[:, None] - lost) - loss
    index = {name: i for i, name in enumerate(names)}
    n = len(e_loss)
    worst_loss, worst_net, worst_chi = 0.0, 0.0, -math.inf
    for h, name in enumerate(w.names):
        e = index[name]
        # the AVS of each trial: the one whose (loss, net return) pair is nearest (two AVSs may give a
        # holder the same loss, e.g. equal allocations, yet different net returns: their APRs differ)
        dist = np.maximum(np.abs(e_loss[:, e, None] - loss[h][None, :]), np.abs(e_net[:, e, None] - net[h][None, :]))
        j = np.argmin(dist, axis=1)
        dl = float(np.max(np.abs(e_loss[:, e] - loss[h][j])))
        dn = float(np.max(np.abs(e_net[:, e] - net[h][j])))
        worst_loss, worst_net = max(worst_loss, dl), max(worst_net, dn)
        if dl > 1e-12 or dn > 1e-12:
            failures.append(f"{label} {name}: a restake-sim trial is {dl:.2g} (loss) and {dn:.2g} (net return) "
                            "from every AVS's exact values")
        # frequencies of the distinct outcomes against uniform k-of-n (AVSs with equal outcomes merged)
        values, inverse = np.unique(np.round(np.stack([loss[h], net[h]], axis=1), 14), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        expected = np.bincount(inverse, minlength=len(values)) * n / w.n_avs
        observed = np.bincount(inverse[j], minlength=len(values))
        chi = float(((observed - expected) ** 2 / expected).sum())
        df = max(1, len(values) - 1)
        worst_chi = max(worst_chi, (chi - df) / math.sqrt(2 * df))
        if chi > df + 6 * math.sqrt(2 * df):
            failures.append(f"{label} {name}: frequencies of the AVS failing off uniform: chi2 {chi:.1f} on {df} df")
    print(f"{label}: every restake-sim trial is one AVS's exact (loss, net return) within {worst_loss:.1e}, "
          f"{worst_net:.1e}; frequencies vs 1/{w.n_avs}: worst (chi2 - df) / sd {worst_chi:.2f}")


def cmd_check(args):
    failures = []
    with tempfile.TemporaryDirectory(prefix="peer-check-") as tmp:
        tmp = Path(tmp)
        for fixed in (True, False):
            out = tmp / ("fixed" if fixed else "drawn")
            gen = ["/usr/bin/python3", str(REPO / "scripts" / "make_large_world.py"), str(out),
                   "--scale", str(args.scale), "--variants", args.variant, "--no-poisson",
                   "--ks", "1" if fixed else args.ks]
            if fixed:
                gen += ["--stress-fraction", str(args.fixed_fraction), "--stress-day", "100", "--base-apr", "0.031"]
            subprocess.run(gen, check=True, stdout=subprocess.DEVNULL)
            world = json.loads((out / "world.json").read_text())
            for sc in world["scenarios"]:
                w = World(world, sc["variant"], sc["k"])
                names, e_loss, e_net = engine_records(args.binary, out / sc["file"], args.trials, args.seed, tmp / "r.h5")
                _, p_loss, p_net = simulate(w, args.trials, 1, args.seed, 4096, keep=True)
                label = f"{sc['variant']} k={sc['k']}" + (f" fixed f={args.fixed_fraction}, day, APR" if fixed else "")
                if fixed:
                    exact_k1(label, w, names, e_loss, e_net, failures)
                compare(label, w, names, e_loss, e_net, p_loss, p_net, failures)
    for f in failures:
        print("MISMATCH", f)
    print("peer check:", "FAILED" if failures else "restake-sim and the peer agree")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="time the peer on one variant and k of a world.json")
    r.add_argument("world")
    r.add_argument("--variant", required=True)
    r.add_argument("--k", type=int, required=True)
    r.add_argument("--trials", type=int, default=100_000)
    r.add_argument("--procs", type=int, default=2)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--batch", type=int, help="trials per batch (default: 8192, fewer with many holders: "
                   "the peer holds a few (batch, holders) arrays)")
    c = sub.add_parser("check", help="compare with restake-sim's per-trial records on the same world")
    c.add_argument("binary")
    c.add_argument("--scale", type=float, default=1.0)
    c.add_argument("--trials", type=int, default=4000)
    c.add_argument("--variant", default="lrt", choices=("lrt", "native"))
    c.add_argument("--ks", default="0,1,5,20")
    c.add_argument("--fixed-fraction", type=float, default=0.3)
    c.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.cmd == "run":
        if args.trials < 1 or args.procs < 1 or (args.batch is not None and args.batch < 1):
            raise SystemExit("--trials, --procs and --batch must be >= 1")
        cmd_run(args)
        return 0
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
