"""A SQLite translation memory: nothing is translated twice.

An entry is keyed by everything that determines the output: the model package id and
version, the decoding options, the glossary's content hash and the normalised source
sentence.  It stores the English text and, per term occurrence in source order, where
its rendering is and how it got there.  WAL mode and short transactions make it safe
for several processes at once (two makes, or zhen runs on overlapping inputs).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError
from .model import Sentence, TermStatus
from .paths import cache_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS tm (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    terms TEXT NOT NULL,
    package TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_memory_path() -> Path:
    """ZHEN_MEMORY, else `memory.sqlite3` in zhen's cache folder."""
    import os

    env = os.environ.get("ZHEN_MEMORY")
    return Path(env) if env else cache_dir() / "memory.sqlite3"


def normalise_source(text: str) -> str:
    """The form of a source sentence the memory is keyed on (NFC, outer space stripped)."""
    return unicodedata.normalize("NFC", text).strip()


def memory_key(context: str, zh: str) -> str:
    """Key of one sentence under a context (model, options and glossary)."""
    return hashlib.sha256(f"{context}\x1f{normalise_source(zh)}".encode()).hexdigest()


def memory_context(package_id: str, options_key: str, glossary_sha256: str) -> str:
    return json.dumps([package_id, options_key, glossary_sha256])


@dataclass
class MemoryStats:
    path: Path
    entries: int
    size_bytes: int


class TranslationMemory:
    """Look up and store sentence translations; one connection per process."""

    def __init__(self, path: Path, timeout: float = 60):
        self.path = Path(path)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = self._connect(timeout)
                break
            except sqlite3.OperationalError as exc:
                # Two processes switching a new file to WAL at once can deadlock on its
                # locks; SQLite then fails one of them at once instead of waiting: retry.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise self._cannot_open(exc) from None
                time.sleep(0.05)
            except (OSError, sqlite3.Error) as exc:
                raise self._cannot_open(exc) from None

    def _connect(self, timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _cannot_open(self, exc: Exception) -> OutputError:
        return OutputError(
            f"{self.path}: cannot open the translation memory ({exc}); "
            "set ZHEN_MEMORY to a writable file or pass --no-memory"
        )

    def close(self) -> None:
        self._db.close()

    def lookup(self, context: str, sentences: list[Sentence]) -> list[Sentence]:
        """Fill sentences found in the memory (from_memory=True); return the others."""
        missing = []
        keys = [memory_key(context, s.zh) for s in sentences]
        found: dict[str, tuple[str, str]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, target, terms FROM tm WHERE key IN ({marks})", chunk
            )
            found.update({k: (t, terms) for k, t, terms in rows})
        for s, key in zip(sentences, keys):
            hit = found.get(key)
            if hit is None or not _apply(s, *hit):
                missing.append(s)
        return missing

    def store(self, context: str, package_id: str, sentences: list[Sentence]) -> None:
        """Remember the translations of `sentences` (one short transaction)."""
        rows = [
            (
                memory_key(context, s.zh),
                normalise_source(s.zh),
                s.en or "",
                json.dumps([[o.en_start, o.en_end, o.status.value if o.status else None]
                            for o in s.terms]),
                package_id,
                time.time(),
            )
            for s in sentences
        ]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO tm VALUES (?, ?, ?, ?, ?, ?)", rows)

    def stats(self) -> MemoryStats:
        (count,) = self._db.execute("SELECT COUNT(*) FROM tm").fetchone()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return MemoryStats(self.path, count, size)

    def clear(self) -> int:
        """Delete every entry; return how many there were."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (count,) = self._db.execute("SELECT COUNT(*) FROM tm").fetchone()
            self._db.execute("DELETE FROM tm")
        self._db.execute("VACUUM")
        return count


def _apply(sentence: Sentence, target: str, terms_json: str) -> bool:
    """Fill a sentence from a memory entry; False if the entry does not fit its terms."""
    try:
        stored = json.loads(terms_json)
    except ValueError:
        return False
    if len(stored) != len(sentence.terms):
        return False
    sentence.en = target
    for occ, (start, end, status) in zip(sentence.terms, stored):
        occ.en_start, occ.en_end = start, end
        occ.status = TermStatus(status) if status else None
    sentence.from_memory = True
    return True
