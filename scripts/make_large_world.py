#!/usr/bin/python3
"""Writes an EigenLayer-size world for the mainnet-size benchmark (issue 13): scenarios for
restake-sim and a JSON sidecar of the same world for bench/numpy_peer.py.

    scripts/make_large_world.py [OUT_DIR] [--scale S] [--seed N] [--stress-fraction F]
                                [--stress-day D] [--base-apr R]

At scale 1: 1,000 operators and 100 AVSs on one unique-stake protocol (ELIP-002: an operator's
allocations sum to at most 1). Memberships are heavy-tailed: AVS popularity follows a Zipf law and the
number of AVSs an operator serves a Pareto law, so most operators serve one to three AVSs and a few
serve nearly all. --scale multiplies the operators and AVSs (0.01: 10 and 1; 0.1: 100 and 10).

Files written in OUT_DIR (default build/large-world; generated at bench time, never committed):
  lrt-k{0,1,5,20}.toml      one LRT delegating across every operator; [stress] k of the AVSs fail
  native-k{0,1,5,20}.toml   one native restaker per operator instead of the LRT
  lrt-poisson.toml, native-poisson.toml   random events at realistic rates instead of the stress
  world.json                the world's parameters and each file's variant and k (the peer's input)
A k larger than the number of AVSs is skipped (small scales). In the k-of-n files
`random_events = false`: exactly k AVSs, drawn uniformly, slash every operator's allocation to them
by the stress fraction (drawn per failing AVS) on one uniform day; base APR and AVS rewards accrue as
usual. Rates and sizes come from docs/modelling-guide.md's table; every one is an assumption of the
right order, not a measurement."""
import argparse
import json
import math
import pathlib
import random
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
KS = (0, 1, 5, 20)
HORIZON_DAYS = 365
BASE_APR = {"dist": "normal", "mean": 0.031, "sd": 0.003, "min": 0.015, "max": 0.05}  # domain.md sec. 5
TOTAL_STAKE_ETH = 34_000_000                                                        # domain.md sec. 2


def parse_fraction(text):
    """'0.3' (fixed) or 'uniform:MIN:MAX', as a scenario distribution dict."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            v = float(parts[0])
            if 0 <= v <= 1:
                return {"dist": "fixed", "value": v}
        elif len(parts) == 3 and parts[0] == "uniform":
            lo, hi = float(parts[1]), float(parts[2])
            if 0 <= lo < hi <= 1:
                return {"dist": "uniform", "min": lo, "max": hi}
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1] or uniform:MIN:MAX within [0, 1], got {text!r}")


def parse_fixed(low, high):
    """A fixed value in [low, high], as a scenario distribution dict."""
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"expected a number in [{low}, {high}], got {text!r}")
        return {"dist": "fixed", "value": v}
    return parse


def toml_dist(d):
    if d["dist"] == "fixed":
        return repr(d["value"])
    return "{ " + ", ".join(f'{k} = "{v}"' if k == "dist" else f"{k} = {v!r}" for k, v in d.items()) + " }"


def weighted_sample(rng, weights, m):
    """m distinct indices drawn with probability proportional to weight (Efraimidis-Spirakis keys)."""
    keys = sorted(((rng.random() ** (1.0 / w), j) for j, w in enumerate(weights)), reverse=True)
    return [j for _, j in keys[:m]]


def build_world(scale, seed, stress_fraction, stress_day=None, base_apr=None):
    rng = random.Random(seed)
    n_ops = max(1, round(1000 * scale))
    n_avs = max(1, round(100 * scale))

    # Operator sizes are heavy-tailed too (lognormal, median 150 validators = 4,800 ETH): at scale 1
    # about 10M ETH, of the order EigenLayer holds, and well under the beacon chain's 34M.
    operators = []
    for i in range(n_ops):
        validators = min(30_000, max(1, int(rng.lognormvariate(math.log(150), 1.2))))
        operators.append({
            "name": f"op-{i:04d}", "validators": validators,
            # ~2e-4 slashings per validator-year, in incidents (modelling guide: 0.01-0.015 x Beta(1, 60))
            "annual_fault_probability": round(rng.uniform(0.01, 0.015), 4),
            "groups": [g for g in ("client-bug", "cloud") if rng.random() < 0.3],
        })

    avs = []
    for j in range(n_avs):
        initial = round(rng.uniform(0.003, 0.012), 4)
        mean_fraction = math.exp(rng.uniform(math.log(0.01), math.log(0.5)))  # per-AVS slash size
        avs.append({
            "name": f"avs-{j:03d}",
            "initial_apr": initial, "floor_apr": round(initial / 5, 5),
            "half_life_days": rng.choice([120, 180, 270, 365]),
            # modelling guide: conditions 0.005-0.01 a year per operator, Beta(1, 9) to 0.5 in size;
            # faulty slashers 0.002-0.003 a year, 5-50%
            "slashing_annual_probability": round(rng.uniform(0.005, 0.01), 4),
            "slashing_fraction_beta": round((1 - mean_fraction) / mean_fraction, 3),
            "faulty_annual_probability": round(rng.uniform(0.002, 0.003), 4),
            "faulty_fraction_max": round(rng.uniform(0.1, 0.5), 3),
        })

    # Memberships: Zipf popularity of AVSs, Pareto(1.2) count per operator (P(1) = 1 - 2^-1.2 = 56%; ~1% serve
    # at least half at scale 1). Each operator allocates 20-90% of its stake, split at random.
    popularity = [1.0 / (j + 1) ** 0.7 for j in range(n_avs)]
    members = [[] for _ in range(n_ops)]
    for i in range(n_ops):
        m = min(n_avs, int(rng.paretovariate(1.2)))
        members[i] = weighted_sample(rng, popularity, m)
    served = {j for ms in members for j in ms}
    for j in range(n_avs):
        if j not in served:  # every AVS needs an operator: give it to one that has room to serve more
            candidates = [i for i in range(n_ops) if len(members[i]) < n_avs]
            members[rng.choice(candidates)].append(j)
    memberships = []  # (operator, avs, allocation)
    for i, ms in enumerate(members):
        total = rng.uniform(0.2, 0.9)
        shares = [rng.expovariate(1.0) for _ in ms]
        norm = sum(shares)
        for j, s in zip(ms, shares):
            # floored to 1e-4 so the rounded allocations still sum to <= 1 (ELIP-002)
            memberships.append((i, j, max(1, math.floor(total * s / norm * 1e4)) / 1e4))

    # Holders: the LRT holds 30% of each operator's stake; a native restaker 50% (whole ETH).
    lrt = [{"operator": i, "stake_eth": max(1, math.floor(0.3 * o["validators"] * 32))} for i, o in enumerate(operators)]
    native = [{"operator": i, "stake_eth": max(1, math.floor(0.5 * o["validators"] * 32))} for i, o in enumerate(operators)]
    return {
        "generator": "scripts/make_large_world.py", "scale": scale, "seed": seed,
        "horizon_days": HORIZON_DAYS, "total_active_stake_eth": TOTAL_STAKE_ETH, "base_apr": base_apr or BASE_APR,
        "protocol": "eigenlayer", "slashing_mode": "unique",
        "stress_fraction": stress_fraction,
        "stress_day": stress_day or {"dist": "uniform", "min": 0, "max": HORIZON_DAYS},
        "operators": operators, "avs": avs,
        "memberships": [{"operator": i, "avs": j, "allocation": a} for i, j, a in memberships],
        "holders": {
            "lrt": {"kind": "lrt", "reward_fee": 0.10, "holders": [{"name": "lrt", "positions": lrt}]},
            "native": {"kind": "native", "reward_fee": 0.08,
                       "holders": [{"name": f"native-{p['operator']:04d}", "positions": [p]} for p in native]},
        },
    }


def scenario_text(world, variant, k, poisson):
    ops, avs = world["operators"], world["avs"]
    name = f"large-{variant}-{'poisson' if poisson else f'k{k}'}"
    out = [f"# GENERATED by scripts/make_large_world.py (scale {world['scale']}, seed {world['seed']}): "
           "regenerate, do not edit."]
    w = out.append
    w(f'[simulation]\nname = "{name}"\nseed = {world["seed"]}\nhorizon_days = {world["horizon_days"]}\n')
    w(f'[ethereum]\ntotal_active_stake_eth = {world["total_active_stake_eth"]}\nfork = "electra"\n'
      f'base_apr = {toml_dist(world["base_apr"])}\n')
    w('[[group]]\nname = "client-bug"\nannual_probability = 0.003\nfraction = { dist = "beta", alpha = 2, beta = 8 }\n')
    w('[[group]]\nname = "cloud"\nannual_probability = 0.005\nfraction = { dist = "beta", alpha = 2, beta = 10 }\n')
    for o in ops:
        groups = ", ".join(f'"{g}"' for g in o["groups"])
        w(f'[[operator]]\nname = "{o["name"]}"\nvalidators = {o["validators"]}\n'
          f'annual_fault_probability = {o["annual_fault_probability"]}\n'
          f'fault_fraction = {{ dist = "beta", alpha = 1, beta = 60 }}\ngroups = [{groups}]\n')
    w('[[contract]]\nname = "eigenlayer-core"\nannual_failure_probability = 0.006\n'
      'loss_given_failure = { dist = "uniform", min = 0.05, max = 0.5 }\n')
    w('[[contract]]\nname = "lrt-vault"\nannual_failure_probability = 0.008\n'
      'loss_given_failure = { dist = "beta", alpha = 1, beta = 4 }\ndepends_on = ["eigenlayer-core"]\n')
    w(f'[[protocol]]\nname = "{world["protocol"]}"\nslashing_mode = "{world["slashing_mode"]}"\n'
      'contracts = ["eigenlayer-core"]\n')
    by_avs = [[] for _ in avs]
    for m in world["memberships"]:
        by_avs[m["avs"]].append(m)
    for a, ms in zip(avs, by_avs):
        rows = "\n".join(f'  {{ operator = "{ops[m["operator"]]["name"]}", allocation = {m["allocation"]} }},' for m in ms)
        w(f'[[avs]]\nname = "{a["name"]}"\nprotocol = "{world["protocol"]}"\noperators = [\n{rows}\n]\n'
          f'faulty_annual_probability = {a["faulty_annual_probability"]}\n'
          f'faulty_fraction = {{ dist = "uniform", min = 0.05, max = {a["faulty_fraction_max"]} }}\n'
          f'  [[avs.slashing]]\n  name = "misbehaviour"\n  annual_probability = {a["slashing_annual_probability"]}\n'
          f'  fraction = {{ dist = "beta", alpha = 1, beta = {a["slashing_fraction_beta"]} }}\n'
          f'  [avs.rewards]\n  initial_apr = {a["initial_apr"]}\n  floor_apr = {a["floor_apr"]}\n'
          f'  half_life_days = {a["half_life_days"]}\n')
    spec = world["holders"][variant]
    for h in spec["holders"]:
        rows = "\n".join(f'  {{ operator = "{ops[p["operator"]]["name"]}", stake_eth = {p["stake_eth"]} }},'
                         for p in h["positions"])
        contracts = '\ncontracts = ["lrt-vault"]' if variant == "lrt" else ""
        w(f'[[{spec["kind"]}]]\nname = "{h["name"]}"\nreward_fee = {spec["reward_fee"]}\n'
          f'protocol = "{world["protocol"]}"{contracts}\npositions = [\n{rows}\n]\n')
    if not poisson:
        w("[stress]\nrandom_events = false")
        if k > 0:
            names = ", ".join(f'"{a["name"]}"' for a in avs)
            w(f'[[stress.avs_failures]]\navs = [{names}]\ncount = {k}\nday = {toml_dist(world["stress_day"])}\n'
              f'fraction = {toml_dist(world["stress_fraction"])}')
    return name, "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", default=str(REPO / "build" / "large-world"))
    ap.add_argument("--scale", type=float, default=1.0, help="operators and AVSs as a share of 1,000 and 100")
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--stress-fraction", type=parse_fraction, default=parse_fraction("uniform:0.05:0.5"),
                    help="what a failing AVS slashes: a number, or uniform:MIN:MAX drawn per failing AVS "
                         "(default uniform:0.05:0.5, the modelling guide's faulty slashings)")
    # Fixed day and base APR make a k = 1 trial a function of the failing AVS alone: the peer's check
    # compares restake-sim's every loss and net return with that function's values.
    ap.add_argument("--stress-day", type=parse_fixed(0, HORIZON_DAYS), help="a fixed stress day (default uniform)")
    ap.add_argument("--base-apr", type=parse_fixed(-1, 1), help="a fixed base APR (default normal, mean 3.1%%)")
    ap.add_argument("--variants", default="lrt,native", help="comma-separated subset of lrt,native")
    ap.add_argument("--ks", default=",".join(map(str, KS)), help="comma-separated k values (default 0,1,5,20)")
    ap.add_argument("--no-poisson", action="store_true", help="skip the random-events files")
    args = ap.parse_args()
    if not 0 < args.scale <= 10:
        sys.exit(f"--scale must be in (0, 10], got {args.scale}")
    variants = args.variants.split(",")
    if not set(variants) <= {"lrt", "native"}:
        sys.exit(f"--variants: expected a subset of lrt,native, got {args.variants!r}")
    try:
        ks = [int(k) for k in args.ks.split(",")]
    except ValueError:
        sys.exit(f"--ks: expected comma-separated integers, got {args.ks!r}")

    world = build_world(args.scale, args.seed, args.stress_fraction, args.stress_day, args.base_apr)
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for variant in variants:
        for k in ks:
            if k > len(world["avs"]):
                print(f"skipped {variant}-k{k}: only {len(world['avs'])} AVSs at scale {args.scale}")
                continue
            name, text = scenario_text(world, variant, k, poisson=False)
            (out_dir / f"{variant}-k{k}.toml").write_text(text)
            files.append({"file": f"{variant}-k{k}.toml", "name": name, "variant": variant, "k": k, "poisson": False})
        if not args.no_poisson:
            name, text = scenario_text(world, variant, 0, poisson=True)
            (out_dir / f"{variant}-poisson.toml").write_text(text)
            files.append({"file": f"{variant}-poisson.toml", "name": name, "variant": variant, "k": None, "poisson": True})
    world["scenarios"] = files
    (out_dir / "world.json").write_text(json.dumps(world, indent=1) + "\n")
    n_members = len(world["memberships"])
    print(f"wrote {len(files)} scenarios and world.json to {out_dir}: {len(world['operators'])} operators, "
          f"{len(world['avs'])} AVSs, {n_members} memberships")


if __name__ == "__main__":
    main()
