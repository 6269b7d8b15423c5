#!/usr/bin/python3
"""docs/architecture.md lists every source file of sim/ (as folder/name, .hpp/.cpp pairs as one)."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
doc = (root / "docs" / "architecture.md").read_text()
missing = []
for path in sorted((root / "sim").rglob("*")):
    if path.suffix not in (".hpp", ".cpp", ".in") or path.parent == root / "sim" and path.suffix != ".in":
        continue
    rel = path.relative_to(root / "sim").as_posix()
    stem = rel.rsplit(".", 1)[0] if not rel.endswith(".hpp.in") else rel
    pair = f"{stem}.hpp/.cpp"
    if rel not in doc and pair not in doc:
        missing.append(rel)
if missing:
    print("docs/architecture.md does not list:", *missing, sep="\n  ")
    sys.exit(1)
print("docs/architecture.md lists every file of sim/")
