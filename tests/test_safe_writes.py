"""No lost update: every writer of a TEI goes through zhen.filelock (one lock per file, the
version read checked before the rename, the newer file's human sentences merged in), and
`--update` counts a human translation in the memory that an output does not show as a
reason to rebuild it (issue 22, points 1 and 2).

The translation runs are real (in-process, the tiny synthetic model); the writers that
meet them are real too (the review workbench's save, apply_edits, an editor's write); only
the moment they meet is chosen, by running the other writer inside the run just before
it writes its output.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from zhen.batch.runner import BatchTranslator
from zhen.errors import OutputError, StaleFile
from zhen.filelock import lock_path, locked, version_of, write_guarded
from zhen.memory.base import HumanTranslation
from zhen.memory.sqlite import SqliteMemory
from zhen.settings import DecodingOptions
from zhen.tei.read import read_tei
from zhen.ui.review.workbench import Folder, Refused

GLOSSARY = REPO / "glossary" / "terms.tsv"
ARTICLE = (REPO / "tests" / "data" / "coast-article.txt").read_text(encoding="utf-8")
FAST = DecodingOptions(beam_size=1, num_hypotheses=1, threads=1)
FIXED = "A person's correction, saved while the run was translating."


@pytest.fixture
def project(tmp_path, tiny_model):
    """in/coast.txt translated once into out/, and the memory the run used."""
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "coast.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    memory = SqliteMemory(tmp_path / "memory.sqlite3")
    report = BatchTranslator(GLOSSARY, str(tiny_model), FAST, memory).run(
        [source], tmp_path / "out")
    assert not report.failed
    yield tmp_path, source, memory, tiny_model
    memory.close()


def _rerun(project, monkeypatch, meanwhile, memory="same", update=False):
    """Translate again after a glossary change (so the output is rewritten), with another
    writer writing the output just before the run writes it (`meanwhile(target)`)."""
    import zhen.batch.runner as runner

    tmp, source, mem, model = project
    glossary = tmp / "terms.tsv"
    glossary.write_bytes(GLOSSARY.read_bytes() + "zz-safety\t海岸线\tcoastline\tterm\t\t\n".encode())
    real = runner.write_checked

    def meeting(writer, doc, target, *args):
        meanwhile(target)
        return real(writer, doc, target, *args)

    monkeypatch.setattr(runner, "write_checked", meeting)
    batch = BatchTranslator(glossary, str(model), FAST, mem if memory == "same" else memory)
    return batch.run([source], tmp / "out", update=update)


def _sentence(path: Path, sid: str):
    return next(s for s in read_tei(path).sentences() if s.id == sid)


def test_a_review_save_while_a_run_translates_is_in_the_tei_it_writes(project, monkeypatch):
    """The issue's case: a save answered 200 during `make` is in the TEI `make` writes."""
    tmp, _, memory, _ = project
    out = tmp / "out" / "coast.tei.xml"
    saved = {}

    def save(target):
        folder = Folder(target.parent, memory, "Reviewer")
        version = folder.state(target.name)["version"]
        saved.update(folder.save(target.name, "p2.s1", FIXED, version))

    report = _rerun(project, monkeypatch, save)
    assert saved["saved"] == "p2.s1"
    assert not report.failed and report.files[0].merged == 1
    assert report.files[0].human == 1  # the summary counts the merged file's
    s = _sentence(out, "p2.s1")
    assert s.en == FIXED and s.human and s.translator == "Reviewer"
    assert memory.lookup_human([s.zh])[s.zh].target == FIXED
    # the next run sees nothing to do and keeps it
    again = BatchTranslator(tmp / "terms.tsv", str(project[3]), FAST, memory).run(
        [project[1]], tmp / "out", update=True)
    assert [f.up_to_date for f in again.files] == [True]
    assert _sentence(out, "p2.s1").en == FIXED


def test_a_save_during_a_run_without_a_memory_is_kept_too(project, monkeypatch):
    """The run's own memory is off: the newer file's human sentence still wins."""
    tmp, _, memory, _ = project
    out = tmp / "out" / "coast.tei.xml"

    def save(target):
        folder = Folder(target.parent, None, "Reviewer")
        folder.save(target.name, "p1.s1", FIXED, folder.state(target.name)["version"])

    report = _rerun(project, monkeypatch, save, memory=None)
    assert not report.failed and report.files[0].merged == 1
    assert _sentence(out, "p1.s1").en == FIXED


def test_an_editors_change_during_a_run_is_kept(project, monkeypatch):
    """A program that takes no lock (a text editor) writes the file during the run: the
    run reads it again, and the person's sentence wins over the run's machine output."""
    tmp, _, memory, _ = project
    out = tmp / "out" / "coast.tei.xml"

    def edit(target):
        data = target.read_text(encoding="utf-8")
        old = _sentence(target, "p3.s1").en
        target.write_text(data.replace(f">{old}<", f">{FIXED}<", 1), encoding="utf-8")

    report = _rerun(project, monkeypatch, edit)
    assert not report.failed and report.files[0].merged == 1
    s = _sentence(out, "p3.s1")
    assert s.en == FIXED and s.human
    assert memory.lookup_human([s.zh])[s.zh].target == FIXED


def test_a_file_damaged_during_a_run_is_left_alone(project, monkeypatch):
    tmp, _, _, _ = project
    out = tmp / "out" / "coast.tei.xml"

    def damage(target):
        target.write_bytes(target.read_bytes()[:-200])

    damaged = None

    def keep(target):
        nonlocal damaged
        damage(target)
        damaged = target.read_bytes()

    with pytest.raises(OutputError, match="will not overwrite"):
        _rerun(project, monkeypatch, keep)
    assert out.read_bytes() == damaged


def test_a_review_save_on_a_version_a_run_replaced_is_refused(project, monkeypatch):
    tmp, _, memory, _ = project
    folder = Folder(tmp / "out", memory, "Reviewer")
    version = folder.state("coast.tei.xml")["version"]
    _rerun(project, monkeypatch, lambda target: None)  # the run rewrites the file
    with pytest.raises(Refused) as refused:
        folder.save("coast.tei.xml", "p2.s1", FIXED, version)
    assert refused.value.status == 409
    assert _sentence(tmp / "out" / "coast.tei.xml", "p2.s1").en != FIXED


# -- the lock and the check ----------------------------------------------------------------


HOLD = """
import sys, time
from pathlib import Path
from zhen.filelock import locked
with locked(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def test_the_lock_is_per_file_and_goes_with_a_killed_process(tmp_path):
    a, b = tmp_path / "a.tei.xml", tmp_path / "b.tei.xml"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(a)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with locked(b, timeout=5):  # another file: at once
            pass
        assert time.monotonic() - start < 1
        with pytest.raises(OutputError, match=r"a\.tei\.xml: another process has been "
                                              r"writing it"):
            with locked(a, timeout=0.3):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with locked(a, timeout=5):  # the kernel released it with the process
            write_guarded(a, b"<x/>", None)
    finally:
        holder.kill()
        holder.wait()
    assert a.read_bytes() == b"<x/>"
    assert lock_path(a).name == ".a.tei.xml.lock" and not lock_path(a).exists()


COUNT = """
import sys
from pathlib import Path
from zhen.filelock import locked, version_of, write_guarded
path = Path(sys.argv[1])
for _ in range(40):
    with locked(path):
        read = version_of(path)
        n = int(path.read_text()) if read else 0
        write_guarded(path, str(n + 1).encode(), read)
"""


def test_writers_in_four_processes_take_turns_and_lose_no_update(tmp_path):
    """Read-increment-write in four processes at once: every increment is kept, and no
    lock file is left beside the file."""
    path = tmp_path / "count.tei.xml"
    procs = [subprocess.Popen([sys.executable, "-c", COUNT, str(path)],
                              env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert path.read_text() == "160"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["count.tei.xml"]


def test_a_stale_writer_without_merge_writes_nothing(tmp_path):
    path = tmp_path / "a.tei.xml"
    path.write_bytes(b"one")
    read = version_of(path)
    path.write_bytes(b"two")  # someone else's write
    with pytest.raises(StaleFile):
        write_guarded(path, b"three", read)
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_version_is_checked_again_just_before_the_rename(tmp_path):
    """A change while the data is being written (by a program without the lock) is seen
    at the rename: the merge makes the data again from the newer file."""
    path = tmp_path / "a.tei.xml"
    path.write_bytes(b"one")
    merges = []

    def data(fh):
        if not merges:
            path.write_bytes(b"two")  # lands while this write is in progress
        fh.write(b"mine")

    def merge(current):
        merges.append(current)
        return path.read_bytes() + b"+mine"

    written = write_guarded(path, data, version_of(path), merge)
    assert merges == [hashlib.sha256(b"two").hexdigest()]
    assert path.read_bytes() == b"two+mine" and written == version_of(path)


# -- point 2: up to date with people's work ---------------------------------------------------


def test_update_rebuilds_an_output_that_misses_a_human_translation_in_the_memory(project):
    """An output written by 0.2.0 after the race (the correction only in the memory) is
    stale for `--update` (and so `make`), and the rebuild shows the correction."""
    tmp, source, memory, model = project
    out = tmp / "out" / "coast.tei.xml"
    zh = _sentence(out, "p2.s1").zh
    batch = BatchTranslator(GLOSSARY, str(model), FAST, memory)
    assert [f.up_to_date for f in batch.run([source], tmp / "out", update=True).files] == [True]
    memory.store_human([HumanTranslation(zh, FIXED, "Reviewer", "review coast.tei.xml")])
    report = BatchTranslator(GLOSSARY, str(model), FAST, memory).run(
        [source], tmp / "out", update=True)
    assert [f.up_to_date for f in report.files] == [False]
    assert _sentence(out, "p2.s1").en == FIXED
    again = BatchTranslator(GLOSSARY, str(model), FAST, memory).run(
        [source], tmp / "out", update=True)
    assert [f.up_to_date for f in again.files] == [True]


def test_an_older_human_translation_in_the_memory_does_not_rebuild(project):
    """The file shows a person's translation newer than the memory's: up to date."""
    tmp, source, memory, model = project
    out = tmp / "out" / "coast.tei.xml"
    zh = _sentence(out, "p2.s1").zh
    memory.store_human([HumanTranslation(zh, "An old version.", "A", "x", created=1.0)])
    folder = Folder(tmp / "out", None, "B")  # a review without the memory
    folder.save("coast.tei.xml", "p2.s1", FIXED, folder.state("coast.tei.xml")["version"])
    assert memory.lookup_human([zh])[zh].target == "An old version."
    report = BatchTranslator(GLOSSARY, str(model), FAST, memory).run(
        [source], tmp / "out", update=True)
    assert [f.up_to_date for f in report.files] == [True]

