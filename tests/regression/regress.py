#!/usr/bin/python3
"""Regression references: every output of every shipped scenario and sweep, pinned.

    regress.py generate CLI      runs every case and (re)writes references/<case>.json
    regress.py check CLI [CASE]  runs the cases and compares them to the references

Each case runs the CLI (small trial counts, two threads, several blocks) and reduces what it
wrote to a JSON digest: for every HDF5 dataset its dtype, shape and SHA-256 of its bytes (and its
values, when small), every attribute but the ones that name the build or the clock, and the text
the command printed. `check` compares dataset by dataset, as OpenMC's regression suite does.

Everything must match bit for bit, except the datasets named in RELATIVE_TOLERANCE, which may move
in the last bits (1e-12 relative) because their summation order changed by design; a commit that
adds one says why. A commit that moves a number on purpose regenerates the references and says
why in its message.
"""
import hashlib
import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = Path(__file__).resolve().parent / "references"

TRIALS = 3000
BLOCK = 1100  # not a divisor of TRIALS: blocks of unequal size
THREADS = 2

# Attributes that say which build or when, not what was computed.
VOLATILE_ATTRIBUTES = {"created_utc", "git_commit", "program_version"}
# Written by H5DSattach_scale: labels of axes, not data (they hold object references).
DIMENSION_SCALE_ATTRIBUTES = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "DIMENSION_LABELS"}
# Datasets whose values are kept in the digest in full (small ones, not per-trial records), so
# differences are readable and the tolerated ones can be compared with a tolerance.
MAX_VALUES = 4096

# Longer than a tally chunk (4096 trial indices, sim/stats/tally.hpp), in blocks that cut chunks:
# the tally merges chunks in trial order (issue 10, section 5), so the floating-point sums below
# may move in their last bits against the sequential sums of the reference's binary.
CHUNK_TRIALS = 3 * 4096 + 1234
CHUNK_BLOCK = 5000

# dataset path -> relative tolerance, with the reason. The summaries accumulated as floating-point
# sums: chunks of trials merged in order (Chan et al. for the moments) round differently from one
# running sum. Everything else - per-trial records, counts, quantiles, integer and fixed-point
# sums - is bit for bit.
MERGED_SUMS = 1e-12
RELATIVE_TOLERANCE: dict[str, float] = {
    f"/summary/{name}": MERGED_SUMS
    for name in ("loss/mean", "loss/sd", "loss/stderr", "net_return/mean", "net_return/sd", "net_return/stderr",
                 "covered_mean", "loss_by_cause_mean", "avs_stake_lost_mean", "pool_drawdown_mean")
}


def cases():
    """(name, argv, output files) for every shipped scenario and sweep."""
    out = []
    scenario_files = sorted(
        list((ROOT / "scenarios").glob("*.toml"))
        + list((ROOT / "scenarios" / "published").glob("*.toml"))
        + list((ROOT / "scenarios" / "cascade").glob("*.toml")))
    common = ["--trials", str(TRIALS), "--block", str(BLOCK), "--threads", str(THREADS), "--no-progress"]
    for path in scenario_files:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "scenarios/published/reproductions.toml":
            continue  # the manifest of `reproduce`, below
        stem = rel.removeprefix("scenarios/").removesuffix(".toml").replace("/", "-")
        out.append((f"run-{stem}", ["run", rel, *common, "--json", "-o", "{out}/results.h5"], ["results.h5"]))
        out.append((f"run-no-records-{stem}",
                    ["run", rel, *common, "--no-records", "--json", "-o", "{out}/results.h5"], ["results.h5"]))
    chunks = ["--trials", str(CHUNK_TRIALS), "--block", str(CHUNK_BLOCK), "--threads", str(THREADS), "--no-progress"]
    for flags, name in (([], "run-chunks-default"), (["--no-records"], "run-no-records-chunks-default")):
        # The printed table, not --json: its rounded figures do not show the last bits.
        out.append((name, ["run", "scenarios/default.toml", *chunks, *flags, "-o", "{out}/results.h5"], ["results.h5"]))
    for path in sorted((ROOT / "scenarios" / "cascade").glob("*.toml")):
        rel = path.relative_to(ROOT).as_posix()
        out.append((f"cascade-{path.stem}", ["cascade", rel, "--json"], []))
    out.append(("reproduce", ["reproduce"], []))
    for path in sorted((ROOT / "sweeps").glob("*.toml")):
        rel = path.relative_to(ROOT).as_posix()
        sweep = ["sweep", rel, "--trials", str(TRIALS), "--block", str(BLOCK), "--threads", str(THREADS)]
        out.append((f"sweep-{path.stem}", [*sweep, "-o", "{out}/sweep.h5"], ["sweep.h5"]))
        out.append((f"sweep-records-{path.stem}", [*sweep, "--records", "-o", "{out}/sweep.h5"], ["sweep.h5"]))
    return out


def exact_float(x):
    """A float as text that reads back to the same bits (NaN and infinities included)."""
    return float(x).hex() if math.isfinite(x) else repr(float(x))


def jsonable(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (np.floating, float)):
        return exact_float(value)
    if isinstance(value, (np.integer, int, np.bool_, bool)):
        return int(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.reshape(-1)]
    return str(value)


def digest_dataset(ds):
    data = ds[()]
    per_trial = ds.name.startswith("/trials/")
    entry = {"dtype": str(ds.dtype), "shape": list(ds.shape)}
    if ds.dtype.kind in "OSU":  # strings
        values = [jsonable(v) for v in np.asarray(data, dtype=object).reshape(-1)]
        entry["sha256"] = hashlib.sha256(json.dumps(values).encode()).hexdigest()
        if len(values) <= MAX_VALUES and not per_trial:
            entry["values"] = values
        return entry
    array = np.ascontiguousarray(data)
    entry["sha256"] = hashlib.sha256(array.tobytes()).hexdigest()
    if array.size <= MAX_VALUES and not per_trial:
        entry["values"] = jsonable(array) if array.ndim else [jsonable(array)]
    return entry


def digest_attributes(obj):
    return {k: jsonable(v) for k, v in sorted(obj.attrs.items())
            if k not in VOLATILE_ATTRIBUTES and k not in DIMENSION_SCALE_ATTRIBUTES}


def digest_h5(path):
    datasets, attributes = {}, {}
    with h5py.File(path, "r") as f:
        attributes["/"] = digest_attributes(f)

        def visit(name, obj):
            key = "/" + name
            attrs = digest_attributes(obj)
            if attrs:
                attributes[key] = attrs
            if isinstance(obj, h5py.Dataset):
                datasets[key] = digest_dataset(obj)
        f.visititems(visit)
    return {"datasets": datasets, "attributes": attributes}


def mask_volatile(text):
    """The printed summary names the build too: keep the key, drop the value."""
    text = re.sub(r'"(%s)": "[^"]*"' % "|".join(sorted(VOLATILE_ATTRIBUTES)), r'"\1": "*"', text)
    return re.sub(r"restake-sim \S+ \([0-9a-f]+\)", "restake-sim * (*)", text)  # the table's first line


def run_case(cli, argv, files):
    with tempfile.TemporaryDirectory(prefix="restake-regress-") as tmp:
        args = [a.replace("{out}", tmp) for a in argv]
        proc = subprocess.run([cli, "-q", *args], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        digest = {"argv": argv, "stdout": mask_volatile(proc.stdout.replace(tmp, "{out}"))}
        for name in files:
            digest[name] = digest_h5(Path(tmp) / name)
        return digest


def close(a, b, rel):
    fa, fb = float.fromhex(a) if a.startswith(("0x", "-0x")) else float(a), \
        float.fromhex(b) if b.startswith(("0x", "-0x")) else float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    return fa == fb or abs(fa - fb) <= rel * max(abs(fa), abs(fb))


def compare_h5(name, ref, new):
    problems = []
    for key, r in ref["datasets"].items():
        n = new["datasets"].get(key)
        if n is None:
            problems.append(f"{name}:{key}: missing")
            continue
        if r["dtype"] != n["dtype"] or r["shape"] != n["shape"]:
            problems.append(f"{name}:{key}: {n['dtype']}{n['shape']}, expected {r['dtype']}{r['shape']}")
            continue
        if r["sha256"] == n["sha256"]:
            continue
        rel = RELATIVE_TOLERANCE.get(key)
        if rel is not None and "values" in r and "values" in n and \
                all(close(a, b, rel) for a, b in zip(r["values"], n["values"])):
            continue
        detail = ""
        if "values" in r and "values" in n:
            diffs = [(i, a, b) for i, (a, b) in enumerate(zip(r["values"], n["values"])) if a != b]
            i, a, b = diffs[0]
            detail = f" ({len(diffs)} values differ; first at {i}: {b}, expected {a})"
        problems.append(f"{name}:{key}: data differ{detail}")
    # An output the reference does not pin is a change too (regenerate, and say why).
    for key in new["datasets"].keys() - ref["datasets"].keys():
        problems.append(f"{name}:{key}: not in the reference")
    for key in new["attributes"].keys() - ref["attributes"].keys():
        problems.append(f"{name}:{key}: attributes not in the reference")
    for key, r in ref["attributes"].items():
        n = new["attributes"].get(key, {})
        for attr, value in r.items():
            if n.get(attr) != value:
                shown = str(n.get(attr))[:80]
                problems.append(f"{name}:{key} attribute {attr}: {shown}, expected {str(value)[:80]}")
        for attr in n.keys() - r.keys():
            problems.append(f"{name}:{key} attribute {attr}: not in the reference")
    return problems


def compare(ref, new):
    problems = []
    if ref["stdout"] != new["stdout"]:
        ref_lines, new_lines = ref["stdout"].splitlines(), new["stdout"].splitlines()
        for i, (a, b) in enumerate(zip(ref_lines, new_lines)):
            if a != b:
                problems.append(f"stdout line {i + 1}: {b!r}, expected {a!r}")
                break
        else:
            problems.append(f"stdout: {len(new_lines)} lines, expected {len(ref_lines)}")
    for name in ref:
        if name.endswith(".h5"):
            problems += compare_h5(name, ref[name], new[name])
    return problems


def main(argv):
    if len(argv) < 3 or argv[1] not in ("generate", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, cli = argv[1], argv[2]
    only = set(argv[3:])
    selected = [c for c in cases() if not only or c[0] in only]
    if only and len(selected) != len(only):
        print(f"unknown cases: {sorted(only - {c[0] for c in selected})}", file=sys.stderr)
        return 2
    REFERENCES.mkdir(exist_ok=True)
    failed = 0
    for name, case_argv, files in selected:
        digest = run_case(cli, case_argv, files)
        ref_path = REFERENCES / f"{name}.json"
        if command == "generate":
            ref_path.write_text(json.dumps(digest, indent=0, sort_keys=True) + "\n")
            print(f"wrote {ref_path.relative_to(ROOT)}")
            continue
        if not ref_path.exists():
            print(f"FAIL {name}: no reference {ref_path.relative_to(ROOT)} (a new shipped file? run generate)")
            failed += 1
            continue
        reference = json.loads(ref_path.read_text())
        if reference["argv"] != case_argv:
            print(f"FAIL {name}: the reference was made with {reference['argv']}")
            failed += 1
            continue
        problems = compare(reference, digest)
        print(f"{'FAIL' if problems else 'ok  '} {name}")
        for p in problems[:20]:
            print(f"     {p}")
        failed += bool(problems)
    if command == "check":
        known = {c[0] for c in cases()}
        stale = sorted(p.stem for p in REFERENCES.glob("*.json") if p.stem not in known)
        if stale and not only:
            print(f"FAIL references without a case (a shipped file removed?): {stale}")
            failed += 1
        print(f"{len(selected) - failed} of {len(selected)} cases identical to their references")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
