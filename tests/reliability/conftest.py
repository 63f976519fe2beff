"""Shared fixtures of the reliability suite: the real `zhen` CLI in subprocesses (cache,
memory and packages inside tmp), a generated corpus, tmpfs mounts, and an in-process
BatchTranslator for the property tests.

The model is the session's tiny synthetic package (random weights, from tests/conftest.py):
its English is noise, which is all these tests need.  Decoding options are the cheapest
(beam 1, one hypothesis, one thread) so that the suite stays fast on two shared cores.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GLOSSARY = REPO / "glossary" / "terms.tsv"
FAST = ("--beam-size", "1", "--num-hypotheses", "1", "--threads", "1")
_SUMMARY = re.compile(
    r"zhen: (?P<files>\d+) file\(s\) written to .*, (?P<sentences>\d+) sentences, "
    r"(?P<human>\d+) from human translations, "
    r"(?P<from_memory>\d+) from memory, (?P<decoded>\d+) decoded, "
    r"decoder calls: (?P<decoder_calls>\d+)"
)
# how many sentences came from the memory: in a note for people and in the header's record
_MEMORY_NOTE = re.compile(rb'(<note type="translation-memory">)\d+( of \d+ sentences)'
                          rb'|("from_memory": )\d+()')
_DATE = re.compile(rb'(<change when=")\d{4}-\d\d-\d\d(")')


class Zhen:
    """The installed `zhen` command, run in subprocesses with its state inside `root`."""

    def __init__(self, root: Path, model: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.model = model
        self.memory = root / "cache" / "memory.sqlite3"
        self.env = dict(os.environ)
        self.env.update(
            ZHEN_CACHE_DIR=str(root / "cache"),
            ZHEN_MEMORY=str(self.memory),
            ZHEN_GLOSSARY=str(GLOSSARY),
            ARGOS_PACKAGES_DIR=str(root / "argos-packages"),
            XDG_DATA_HOME=str(root / "xdg-data"),
            XDG_CACHE_HOME=str(root / "xdg-cache"),
        )
        self.env.pop("ZHEN_MODEL", None)
        script = Path(sys.executable).with_name("zhen")
        self.base = [str(script)] if script.is_file() else [sys.executable, "-m", "zhen"]

    def command(self, *args) -> list[str]:
        return [*self.base, *map(str, args)]

    def translate_args(self, *inputs, out: Path, extra=()) -> list[str]:
        return ["translate", *inputs, "-o", out, "--model", self.model, *FAST, *extra]

    def run(self, *args, cwd: Path | None = None, timeout: float = 300):
        return subprocess.run(self.command(*args), env=self.env, cwd=cwd or self.root,
                              capture_output=True, text=True, timeout=timeout)

    def translate(self, *inputs, out: Path, extra=(), **kw):
        return self.run(*self.translate_args(*inputs, out=out, extra=extra), **kw)

    def start(self, *args, cwd: Path | None = None, **kw) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=self.env, cwd=cwd or self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def zhen(tmp_path, tiny_model) -> Zhen:
    """`zhen` with a fresh cache and translation memory under tmp_path/state."""
    return Zhen(tmp_path / "state", tiny_model)


@pytest.fixture(scope="session")
def batch(package_dir):
    """One in-process BatchTranslator (tiny model, cheapest decoding, no memory)."""
    from zhen.batch.runner import BatchTranslator
    from zhen.settings import DecodingOptions

    options = DecodingOptions(beam_size=1, num_hypotheses=1, threads=1)
    return BatchTranslator(GLOSSARY, str(package_dir), options)


def summary(stderr: str) -> dict[str, int]:
    """The numbers of zhen's summary line (files, sentences, from_memory, decoded, …)."""
    match = _SUMMARY.search(stderr)
    assert match, f"no summary line in:\n{stderr}"
    return {k: int(v) for k, v in match.groupdict().items()}


def comparable(tei: bytes) -> bytes:
    """A TEI file's bytes with the two header fields that depend on the run, not the input,
    masked: how many sentences came from the translation memory (a resumed run takes more
    from it), and the date (a run may cross midnight).  Everything else, the whole English
    text included, must be identical."""
    return _DATE.sub(rb"\1DATE\2", _MEMORY_NOTE.sub(rb"\1\3N\2\4", tei))


def source_sentences() -> list[str]:
    """The sentences of the sample articles in input/, in order."""
    from zhen.readers.text import read_text_file
    from zhen.segment import segment_sentences

    out = []
    for path in sorted((REPO / "input").glob("*.txt")):
        for paragraph in read_text_file(path)[0]:
            out += [s.strip() for s in segment_sentences(paragraph) if s.strip()]
    return out


def write_corpus(folder: Path, docs: int, seed: int = 0) -> list[Path]:
    """`docs` short documents built deterministically from the sample articles.

    Each sentence joins the first clause of one source sentence to the last clause of
    another, so the corpus is realistic Chinese in which no sentence repeats (every
    sentence the memory holds stands for exactly one sentence of the corpus).  Each
    document has a heading line and one to three paragraphs of one to three sentences.
    """
    rng = random.Random(seed)
    source = source_sentences()
    firsts = [re.split("[，；：]", s)[0] for s in source]
    lasts = [re.split("[，；：]", s)[-1].rstrip("。！？”") for s in source]
    pairs = [(i, j) for i in range(len(source)) for j in range(len(source)) if i != j]
    rng.shuffle(pairs)
    fresh = iter(dict.fromkeys(f"{firsts[i]}，{lasts[j]}。" for i, j in pairs))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(docs):
        lines = [f"第{n + 1}号简报"]
        for _ in range(rng.randint(1, 3)):
            lines.append("".join(next(fresh) for _ in range(rng.randint(1, 3))))
        path = folder / f"doc{n:03d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def wait_for(predicate: Callable[[], bool], timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


def temp_files(folder: Path) -> list[Path]:
    """zhen's temporary files (`.NAME.XXXXXXXX.tmp`) in a folder."""
    return sorted(folder.glob(".*.tmp"))


@pytest.fixture
def mount_tmpfs(tmp_path):
    """mount_tmpfs(size) → a fresh tmpfs of that size (e.g. "256k"); unmounted afterwards.

    Needs root (or CAP_SYS_ADMIN); skips with the reason if mounting is not allowed.
    """
    mounted: list[Path] = []

    def mount(size: str, name: str = "mnt") -> Path:
        point = tmp_path / name
        point.mkdir()
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                              str(point)], capture_output=True, text=True)
        if res.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip() or res.returncode}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def read_only_bind(tmp_path):
    """read_only_bind(folder) → a read-only bind mount of folder; unmounted afterwards."""
    mounted: list[Path] = []

    def bind(folder: Path) -> Path:
        point = tmp_path / f"ro-{folder.name}"
        point.mkdir()
        res = subprocess.run(["mount", "--bind", str(folder), str(point)],
                             capture_output=True, text=True)
        if res.returncode:
            pytest.skip(f"cannot bind-mount here: {res.stderr.strip() or res.returncode}")
        mounted.append(point)
        res = subprocess.run(["mount", "-o", "remount,bind,ro", str(point)],
                             capture_output=True, text=True)
        if res.returncode:
            pytest.skip(f"cannot remount read-only: {res.stderr.strip()}")
        return point

    yield bind
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
