#!/usr/bin/python3
"""Every TOML block of docs/modelling-guide.md is valid.

A block with a [simulation] table and a holder ([[lrt]], [[lst]] or [[native]]) is a complete
scenario: it must pass `restake-sim validate`. A block with a [sweep] table must run (a few trials)
against the guide's scenarios, written next to it as NAME.toml after their [simulation] names. Any
other block is a piece of a complete scenario: each of its lines (comments, blank lines and
indentation aside) must appear in one of the guide's complete scenarios, so a snippet cannot drift
from the example it is cut from.

Usage: modelling_guide_scenarios.py RESTAKE_SIM [GUIDE]
"""
import re
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from pathlib import Path

root = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(\s*)```toml\s*\n(.*?)^\1```\s*$", re.M | re.S)


def blocks(text: str):
    """(line number, dedented text) of each ```toml block."""
    for m in FENCE.finditer(text):
        yield text.count("\n", 0, m.start()) + 1, textwrap.dedent(m.group(2))


def without_comment(line: str) -> str:
    """The line up to a '#' outside a string."""
    quote, i = None, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1  # an escaped character in a basic string
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i]
        i += 1
    return line


def content_lines(body: str) -> list[str]:
    """The block's lines without comments, blank lines and indentation."""
    return [s for s in (without_comment(line).strip() for line in body.splitlines()) if s]


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    cli = sys.argv[1]
    guide = Path(sys.argv[2]) if len(sys.argv) == 3 else root / "docs" / "modelling-guide.md"
    found = list(blocks(guide.read_text()))
    failures = []
    scenarios, sweeps, pieces = [], [], []
    for line, body in found:
        try:
            parsed = tomllib.loads(body)
        except tomllib.TOMLDecodeError as e:
            failures.append(f"{guide.name}:{line}: not TOML: {e}")
            continue
        if "simulation" in parsed and any(k in parsed for k in ("lrt", "lst", "native")):
            scenarios.append((line, body, parsed["simulation"]["name"]))
        elif "sweep" in parsed:
            sweeps.append((line, body))
        else:
            pieces.append((line, body))
    if not scenarios:
        failures.append(f"{guide.name}: no complete scenario (a block with [simulation] and a holder) to check")

    with tempfile.TemporaryDirectory() as tmp:
        for line, body, name in scenarios:
            path = Path(tmp) / f"{name}.toml"
            if path.exists():
                failures.append(f"{guide.name}:{line}: a second scenario named {name!r}")
                continue
            path.write_text(body)
            r = subprocess.run([cli, "validate", str(path)], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{guide.name}:{line}: scenario {name!r} does not validate:\n{r.stdout}{r.stderr}")
        for line, body in sweeps:
            path = Path(tmp) / f"sweep-{line}.toml"
            path.write_text(body)
            r = subprocess.run([cli, "-q", "sweep", str(path), "--trials", "100", "--threads", "1",
                                "-o", str(Path(tmp) / f"sweep-{line}.h5")], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{guide.name}:{line}: sweep does not run:\n{r.stdout}{r.stderr}")

    complete = [set(content_lines(body)) for _, body, _ in scenarios]
    for line, body in pieces:
        missing = [l for l in content_lines(body) if not any(l in c for c in complete)]
        if missing:
            failures.append(f"{guide.name}:{line}: snippet lines in no complete scenario of the guide:\n  "
                            + "\n  ".join(missing))

    for f in failures:
        print(f)
    if failures:
        return 1
    print(f"{guide.name}: {len(scenarios)} scenarios validate, {len(sweeps)} sweeps run, "
          f"{len(pieces)} snippets are parts of them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
