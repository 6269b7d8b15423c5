#!/usr/bin/python3
"""scripts/make_large_world.py writes scenarios restake-sim accepts, and the same files for the same
seed (issue 13's benchmark world, bench/large_world.py).

At scale 0.2 (200 operators, 20 AVSs: every k of 0, 1, 5, 20 fits) each generated file must pass
`restake-sim validate`, and world.json must describe it: every AVS has an operator, each operator's
allocations sum to at most 1 (ELIP-002), one native restaker per operator.

Usage: large_world_validates.py RESTAKE_SIM
"""
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

root = Path(__file__).resolve().parents[1]


def generate(out: Path):
    subprocess.run(["/usr/bin/python3", str(root / "scripts" / "make_large_world.py"), str(out), "--scale", "0.2"],
                   check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    cli = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        generate(a)
        generate(b)
        world = json.loads((a / "world.json").read_text())
        files = sorted(p.name for p in a.iterdir())
        if files != sorted(p.name for p in b.iterdir()) or any((a / f).read_bytes() != (b / f).read_bytes() for f in files):
            failures.append("two runs with the same seed wrote different files")
        listed = {s["file"] for s in world["scenarios"]}
        expected = {f"{v}-k{k}.toml" for v in ("lrt", "native") for k in (0, 1, 5, 20)} | {"lrt-poisson.toml", "native-poisson.toml"}
        if listed != expected:
            failures.append(f"world.json lists {sorted(listed)}, expected {sorted(expected)}")
        for name in sorted(listed):
            r = subprocess.run([cli, "validate", str(a / name)], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{name} does not validate:\n{r.stdout}{r.stderr}")
        allocated = defaultdict(float)
        for m in world["memberships"]:
            allocated[m["operator"]] += m["allocation"]
        over = [i for i, s in allocated.items() if s > 1 + 1e-12]
        if over:
            failures.append(f"operators allocating more than their stake: {over}")
        unserved = set(range(len(world["avs"]))) - {m["avs"] for m in world["memberships"]}
        if unserved:
            failures.append(f"AVSs without an operator: {sorted(unserved)}")
        if len(world["holders"]["native"]["holders"]) != len(world["operators"]):
            failures.append("not one native restaker per operator")
    for f in failures:
        print(f)
    if failures:
        return 1
    print(f"make_large_world.py --scale 0.2: {len(listed)} scenarios validate, reproducibly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
