"""A run stopped by SIGKILL, SIGINT (Ctrl-C) or SIGTERM leaves complete outputs or none, and
a rerun finishes the batch, taking from the translation memory every sentence it holds.

zhen translates in windows of about 500 sentences; each decoded window goes to the memory in
one transaction and each file is written (temporary name, fsync, rename) as soon as its last
paragraph is translated.  The runs below are stopped once the first outputs exist, i.e. while
a later window is being decoded.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from zhen.readers.text import read_text_file
from zhen.tei.read import read_tei

from reliability.conftest import Zhen, comparable, summary, temp_files, wait_for, write_corpus

CLEANED_UP = "finished outputs are complete, nothing partial was left"


def memory_rows(zhen: Zhen) -> int:
    """Sentences the translation memory holds (each stands for one corpus sentence)."""
    if not zhen.memory.exists():
        return 0
    with sqlite3.connect(zhen.memory) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM tm").fetchone()[0]
        except sqlite3.OperationalError:  # zhen is still creating the file's tables
            return 0


def stop_after_first_output(zhen: Zhen, inputs, out, sig: signal.Signals):
    """Start `zhen translate`, send `sig` once the first TEI file exists.

    Returns (exit status, stderr)."""
    proc = zhen.start(*zhen.translate_args(*inputs, out=out))
    try:
        wait_for(lambda: any(out.glob("*.tei.xml")) or proc.poll() is not None,
                 what="the first output")
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr


def assert_complete(outputs, inputs_dir):
    """Each output holds every paragraph of its input on the Chinese side, each sentence
    with an English partner: written completely, not cut off."""
    for path in outputs:
        doc = read_tei(path)
        source = inputs_dir / path.name.replace(".tei.xml", ".txt")
        assert [p.zh for p in doc.paragraphs] == read_text_file(source)[0], path
        assert all(s.en for s in doc.sentences()), path


def test_sigkill_then_rerun_reuses_the_memory_and_equals_an_uninterrupted_run(
    zhen, tmp_path, tei_validator
):
    """130 short documents (two windows): killed mid-batch, then rerun; every file ends up identical to
    an uninterrupted run's (but for the count of sentences taken from the memory)."""
    inputs = write_corpus(tmp_path / "in", 130)
    reference = Zhen(tmp_path / "reference-state", zhen.model)
    res = reference.translate(*inputs, out=tmp_path / "reference")
    assert res.returncode == 0, res.stderr
    expected = {p.name: comparable(p.read_bytes())
                for p in (tmp_path / "reference").glob("*.tei.xml")}
    assert len(expected) == 130

    out = tmp_path / "out"
    status, _ = stop_after_first_output(zhen, inputs, out, signal.SIGKILL)
    assert status == -signal.SIGKILL, "the run ended before it could be killed"
    survivors = sorted(out.glob("*.tei.xml"))
    assert 0 < len(survivors) < 130
    for path in survivors:  # complete files only: each equals the uninterrupted run's
        assert comparable(path.read_bytes()) == expected[path.name], path
    held = memory_rows(zhen)
    assert held > 0

    rerun = zhen.translate(*inputs, out=out)
    assert rerun.returncode == 0, rerun.stderr
    numbers = summary(rerun.stderr)
    assert numbers["from_memory"] == held  # every sentence the memory held was reused …
    assert numbers["decoded"] == numbers["sentences"] - held  # … and only the rest decoded
    outputs = sorted(out.glob("*.tei.xml"))
    assert {p.name: comparable(p.read_bytes()) for p in outputs} == expected
    assert temp_files(out) == []
    tei_validator(*outputs)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_sigint_and_sigterm_stop_cleanly_and_a_rerun_finishes(zhen, tmp_path, tei_validator,
                                                              sig, status):
    inputs = write_corpus(tmp_path / "in", 130, seed=int(sig))
    out = tmp_path / "out"
    returncode, stderr = stop_after_first_output(zhen, inputs, out, sig)
    assert returncode == status, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("zhen: interrupted; ") and last.endswith(CLEANED_UP), stderr
    assert re.search(r"\d+ decoded sentence\(s\) saved in the memory", last), last
    assert "Traceback" not in stderr
    assert temp_files(out) == []  # removed on the way out, not left for the next run
    survivors = sorted(out.glob("*.tei.xml"))
    assert 0 < len(survivors) < len(inputs)
    assert_complete(survivors, tmp_path / "in")
    tei_validator(*survivors)

    held = memory_rows(zhen)
    rerun = zhen.translate(*inputs, out=out)
    assert rerun.returncode == 0, rerun.stderr
    assert summary(rerun.stderr)["from_memory"] == held > 0
    assert len(list(out.glob("*.tei.xml"))) == len(inputs)


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from zhen.writer import atomic_output

    with atomic_output(Path(sys.argv[1])) as fh:
        fh.write(b"<TEI>partial")
        fh.flush()
        print("ready", flush=True)
        sys.stdin.readline()  # until told to finish, or killed
        fh.write(b"</TEI>")
""")


def test_temp_file_of_a_killed_writer_is_removed_by_the_next_run_and_a_live_one_kept(
    zhen, tmp_path
):
    """A process killed while writing leaves `.NAME.XXXXXXXX.tmp`, never NAME itself; the
    next `zhen translate` into that folder removes it, but not the temporary file of a
    write still in progress (its writer holds a lock on it)."""
    out = tmp_path / "out"
    out.mkdir()
    writers = {}
    for name in ("killed.tei.xml", "live.tei.xml"):
        writers[name] = subprocess.Popen([sys.executable, "-c", WRITER, str(out / name)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True)
        assert writers[name].stdout.readline() == "ready\n"
    writers["killed.tei.xml"].kill()
    writers["killed.tei.xml"].wait()
    (stale,) = out.glob(".killed.tei.xml.*.tmp")
    assert stale.read_bytes() == b"<TEI>partial"
    assert not (out / "killed.tei.xml").exists()

    source = tmp_path / "a.txt"
    source.write_text("日本政府近日通过新版国家安全战略。\n", encoding="utf-8")
    res = zhen.translate(source, out=out)
    assert res.returncode == 0, res.stderr
    assert not stale.exists()
    (live_tmp,) = temp_files(out)
    assert live_tmp.name.startswith(".live.tei.xml.")

    live = writers["live.tei.xml"]
    live.communicate("go\n", timeout=30)
    assert live.returncode == 0
    assert (out / "live.tei.xml").read_bytes() == b"<TEI>partial</TEI>"
    assert temp_files(out) == []


def test_a_second_ctrl_c_during_the_clean_up_prints_no_traceback(zhen, tmp_path):
    inputs = write_corpus(tmp_path / "in", 130, seed=3)
    out = tmp_path / "out"
    proc = zhen.start(*zhen.translate_args(*inputs, out=out))
    try:
        wait_for(lambda: any(out.glob("*.tei.xml")) or proc.poll() is not None,
                 what="the first output")
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].endswith(CLEANED_UP)
    assert temp_files(out) == []


def test_decoded_work_is_saved_chunk_by_chunk(zhen, tmp_path):
    """Interrupted in the middle of one long file (no output written yet), the memory
    already holds what was decoded, and the message says how much."""
    one = tmp_path / "in" / "long.txt"
    one.parent.mkdir()
    one.write_text("".join(p.read_text(encoding="utf-8") for p in
                           write_corpus(tmp_path / "parts", 120, seed=11)), encoding="utf-8")
    out = tmp_path / "out"
    proc = zhen.start(*zhen.translate_args(one, out=out))
    try:
        wait_for(lambda: memory_rows(zhen) > 0 or proc.poll() is not None,
                 what="the first stored chunk")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    saved = int(re.search(r"(\d+) decoded sentence\(s\) saved", stderr)[1])
    assert saved == memory_rows(zhen) > 0
    assert not list(out.glob("*.tei.xml"))
    rerun = zhen.translate(one, out=out)
    assert rerun.returncode == 0, rerun.stderr
    assert summary(rerun.stderr)["from_memory"] >= saved
