"""The Makefile's batch job in a scratch copy of the project: incremental and safe with -j."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, scratch_project
from zhen.tei.validate import validate_files


@pytest.fixture
def other_model(tmp_path_factory) -> Path:
    """A second synthetic package (another seed): a different model for make to notice."""
    from zhen.engines.synth import build_synthetic_package

    return build_synthetic_package(tmp_path_factory.mktemp("other") / "other.argosmodel",
                                   "tiny", seed=7)


@pytest.fixture
def project(tmp_path):
    scratch_project(tmp_path)
    (tmp_path / "input").mkdir()
    for src in sorted((REPO / "input").glob("*.txt")):
        shutil.copy(src, tmp_path / "input" / src.name)
    shutil.copy(REPO / "tests" / "data" / "unseen-article.txt", tmp_path / "input")
    (tmp_path / "output").mkdir()
    return tmp_path


def make(project: Path, model: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["make", f"VENV={venv}", f"MODEL={model}", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


def summary(run: subprocess.CompletedProcess) -> tuple[int, int, int]:
    """(files written, up to date, decoder calls) from zhen's summary line."""
    m = re.search(r"(\d+) file\(s\) written .*?, (\d+) up to date, .*decoder calls: (\d+)",
                  run.stderr)
    assert m, run.stderr
    return int(m[1]), int(m[2]), int(m[3])


def test_make_translates_incrementally_by_content(project, tiny_model, other_model, zhen_env):
    first = make(project, tiny_model, zhen_env, "-j2")
    assert first.returncode == 0, first.stderr
    outputs = sorted((project / "output").glob("*.tei.xml"))
    assert [p.name for p in outputs] == sorted(
        p.stem + ".tei.xml" for p in (project / "input").glob("*.txt"))
    assert validate_files(outputs, schema=False) == []
    assert not list((project / "output").glob(".*.tmp"))
    assert first.stdout.count(" translate ") == 1  # one process for every input
    written, current, calls = summary(first)
    assert (written, current) == (len(outputs), 0) and calls > 0

    again = make(project, tiny_model, zhen_env)
    assert again.returncode == 0, again.stderr
    assert summary(again) == (0, len(outputs), 0)  # nothing rebuilt, no decoder call

    for path in (project / "input").glob("*.txt"):  # as after a fresh checkout
        os.utime(path, None)
    assert summary(make(project, tiny_model, zhen_env)) == (0, len(outputs), 0)

    one = project / "input" / "unseen-article.txt"
    one.write_text(one.read_text(encoding="utf-8") + "新的一段。\n", encoding="utf-8")
    written, current, calls = summary(make(project, tiny_model, zhen_env))
    assert (written, current) == (1, len(outputs) - 1) and calls > 0

    glossary = project / "glossary" / "terms.tsv"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace(
        "Allied defence cost sharing.", "Allied cost sharing."), encoding="utf-8")
    assert summary(make(project, tiny_model, zhen_env))[:2] == (len(outputs), 0)

    assert summary(make(project, other_model, zhen_env))[:2] == (len(outputs), 0)

    ratio = make(project, other_model, zhen_env, "ZHEN_FLAGS=--max-length-ratio 2")
    assert summary(ratio)[:2] == (len(outputs), 0)  # another decoding setting


def test_make_k_goes_on_past_a_bad_input(project, tiny_model, zhen_env):
    (project / "input" / "broken.txt").write_bytes(bytes(range(256)) * 4)
    stopped = make(project, tiny_model, zhen_env)
    assert stopped.returncode != 0 and "broken.txt" in stopped.stderr
    going = make(project, tiny_model, zhen_env, "-k")
    assert going.returncode != 0 and "broken.txt" in going.stderr
    names = {p.name for p in (project / "output").glob("*.tei.xml")}
    assert names == {p.stem + ".tei.xml" for p in (project / "input").glob("*.txt")} - {
        "broken.tei.xml"}


def test_make_clean_keeps_human_translations_in_the_memory(project, tiny_model, zhen_env):
    from zhen.memory.sqlite import SqliteMemory

    assert make(project, tiny_model, zhen_env).returncode == 0
    out = project / "output" / "unseen-article.tei.xml"
    data = out.read_text(encoding="utf-8")
    data, n = re.subn(r'(<s xml:id="en\.p2\.s1"[^>]*>).*?(</s>)', r"\1A person's English.\2",
                      data, count=1)
    assert n == 1
    out.write_text(data, encoding="utf-8")
    cleaned = make(project, tiny_model, zhen_env, "clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert not list((project / "output").glob("*.tei.xml"))
    memory = SqliteMemory(Path(zhen_env["ZHEN_MEMORY"]))
    try:
        assert [h.target for h in memory.human_entries()] == ["A person's English."]
    finally:
        memory.close()
    # a damaged output: clean refuses and removes nothing
    assert make(project, tiny_model, zhen_env).returncode == 0
    out.write_text("<TEI>broken", encoding="utf-8")
    refused = make(project, tiny_model, zhen_env, "clean")
    assert refused.returncode != 0
    assert "nothing was removed" in refused.stderr
    assert out.exists() and len(list((project / "output").glob("*.tei.xml"))) == 4
