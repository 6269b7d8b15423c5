"""The Python examples of docs/analysis.md, run as written: every ```python block, in order, from a
folder holding results/default.h5 and results/forks.h5 written by the CLI (the files the examples
name). A block that raises (an assert in it, or an API it shows that does not exist) fails here."""
import os
import re

import pytest

from conftest import REPO, run_cli, simulate

DOC = REPO / "docs" / "analysis.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("doc_examples")
    (d / "results").mkdir()
    simulate(d / "results" / "default.h5", REPO / "scenarios" / "default.toml", "--trials", "2000")
    run_cli("sweep", REPO / "sweeps" / "forks.toml", "-o", d / "results" / "forks.h5", "--trials", "200",
            "--records", "--threads", "1")
    return d


def test_the_doc_has_the_examples():
    # the frames, the sweep frame and xarray each have an example (and the older From Python one)
    text = "\n".join(BLOCKS)
    for call in ("estimates_frame()", "cause_holder_frame(", "avs_holder_frame()", "trials_long(",
                 "s.estimates_frame()", "r.to_xarray()", "s.to_xarray()"):
        assert call in text, call
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(folder, index, monkeypatch, capsys):
    if "to_xarray" in BLOCKS[index]:
        pytest.importorskip("xarray")  # a soft dependency: the other examples run without it
    monkeypatch.chdir(folder)
    code = compile(BLOCKS[index], f"{DOC}:python block {index + 1}", "exec")
    exec(code, {"__name__": "__doc_example__"})
    assert capsys.readouterr().out or "print(" not in BLOCKS[index]
