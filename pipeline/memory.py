"""A SQLite translation memory: nothing is translated twice, no human translation is lost.

Two kinds of entry:
- machine translations (`tm`), keyed by everything that determines the output: the model
  package id and version, the decoding options, the normalised source sentence and the
  glossary entries that match in it (not the whole glossary: an entry added, edited or
  removed invalidates only the sentences where it matches, or where its matching changes
  another match).  Each stores the English text and, per term occurrence in
  source order, where its rendering is and how it got there.
- human translations (`human`), keyed by the normalised source sentence alone: a person's
  translation does not depend on the model.  Each records who, where it came from and the
  glossary it was checked against; a later one replaces an earlier one, and
  `human_history` keeps every version with its time.  Clearing the memory never touches
  them.

WAL mode and short transactions make it safe for several processes at once (two makes,
zhen runs on overlapping inputs, an import during a run).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .digests import normalise_sentence
from .errors import OutputError
from .model import Origin, Sentence, Term, TermStatus
from .paths import cache_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS tm (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    terms TEXT NOT NULL,
    package TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tm_source ON tm (source);
CREATE TABLE IF NOT EXISTS human (
    source TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    translator TEXT NOT NULL,
    origin TEXT NOT NULL,
    glossary_sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS human_history (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    translator TEXT NOT NULL,
    origin TEXT NOT NULL,
    glossary_sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def default_memory_path() -> Path:
    """ZHEN_MEMORY, else `memory.sqlite3` in zhen's cache folder."""
    import os

    env = os.environ.get("ZHEN_MEMORY")
    return Path(env) if env else cache_dir() / "memory.sqlite3"


def memory_context(package_id: str, options_key: str) -> str:
    """What every key of one run shares: the model and the decoding options."""
    return json.dumps([package_id, options_key])


def sentence_key(context: str, sentence: Sentence, terms: Mapping[str, Term]) -> str:
    """Key of one sentence's machine translation: the context, the normalised source and
    the content of the glossary entries matched in it (forms, rendering, kind)."""
    entries = sorted({(t.zh, t.variants, t.rendering, t.kind.value)
                      for t in (terms[o.term_id] for o in sentence.terms)})
    text = json.dumps([context, normalise_sentence(sentence.zh), entries], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class MemoryStats:
    path: Path
    entries: int  # machine translations
    size_bytes: int
    human: int = 0  # human translations (current versions)
    human_versions: int = 0  # every version kept in the history


@dataclass(frozen=True)
class HumanTranslation:
    """A person's translation of one Chinese sentence."""

    source: str
    target: str
    translator: str = ""  # who, as named to zhen ("" when not known)
    origin: str = ""  # where zhen got it: "edit FILE", "xliff FILE", "tmx FILE", …
    glossary_sha256: str = ""  # the glossary it was checked against
    created: float = 0.0  # seconds since the epoch; 0: now

    @property
    def key(self) -> str:
        return normalise_sentence(self.source)


@dataclass
class StoreCounts:
    """What storing human translations did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0  # the memory already had this translation
    older: int = 0  # the memory has a newer one: kept in the history only

    def __iadd__(self, other: StoreCounts) -> StoreCounts:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.older += other.older
        return self


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
            db.executescript(SCHEMA)
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

    def lookup(self, keyed: list[tuple[str, Sentence]]) -> list[tuple[str, Sentence]]:
        """Fill the sentences whose key is in the memory (origin MEMORY); return the others."""
        missing = []
        keys = [k for k, _ in keyed]
        found: dict[str, tuple[str, str]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, target, terms FROM tm WHERE key IN ({marks})", chunk
            )
            found.update({k: (t, terms) for k, t, terms in rows})
        for key, s in keyed:
            hit = found.get(key)
            if hit is None or not _apply(s, *hit):
                missing.append((key, s))
        return missing

    def store(self, package_id: str, keyed: list[tuple[str, Sentence]]) -> None:
        """Remember the machine translations of sentences by key (one short transaction)."""
        rows = [
            (
                key,
                normalise_sentence(s.zh),
                s.en or "",
                json.dumps([[o.en_start, o.en_end, o.status.value if o.status else None]
                            for o in s.terms]),
                package_id,
                time.time(),
            )
            for key, s in keyed
        ]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO tm VALUES (?, ?, ?, ?, ?, ?)", rows)

    def stats(self) -> MemoryStats:
        def count(table: str) -> int:
            return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return MemoryStats(self.path, count("tm"), size, count("human"), count("human_history"))

    def clear(self) -> int:
        """Delete every machine translation; return how many there were.  Human
        translations are never deleted here."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (count,) = self._db.execute("SELECT COUNT(*) FROM tm").fetchone()
            self._db.execute("DELETE FROM tm")
        self._db.execute("VACUUM")
        return count

    # -- machine translations seen from outside a context -------------------------------

    def is_machine_output(self, source: str, target: str) -> bool:
        """Whether `target` is a machine translation of `source` held in the memory
        (under any model, options or glossary)."""
        rows = self._db.execute("SELECT target FROM tm WHERE source = ?",
                                (normalise_sentence(source),))
        wanted = normalise_sentence(target)
        return any(normalise_sentence(t) == wanted for (t,) in rows)

    def machine_entries(self) -> Iterator[tuple[str, str, str, float]]:
        """(source, target, package, created) of every machine translation."""
        yield from self._db.execute("SELECT source, target, package, created FROM tm "
                                    "ORDER BY source, created")

    # -- human translations --------------------------------------------------------------

    def store_human(self, items: Iterable[HumanTranslation], only_new: bool = False) -> StoreCounts:
        """Store human translations (one transaction).  A translation replaces the current
        one unless that is newer; every version goes into the history.  With only_new, a
        source that has a human translation already is left alone."""
        counts = StoreCounts()
        now = time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for item in items:
                key, created = item.key, item.created or now
                row = (key, item.target, item.translator, item.origin, item.glossary_sha256,
                       created)
                current = self._db.execute(
                    "SELECT target, created FROM human WHERE source = ?", (key,)).fetchone()
                if current is not None and (
                    only_new or normalise_sentence(current[0]) == normalise_sentence(item.target)
                ):
                    counts.unchanged += 1
                    continue
                self._db.execute("INSERT INTO human_history VALUES (?, ?, ?, ?, ?, ?)", row)
                if current is not None and current[1] > created:
                    counts.older += 1
                    continue
                self._db.execute("INSERT OR REPLACE INTO human VALUES (?, ?, ?, ?, ?, ?)", row)
                if current is None:
                    counts.added += 1
                else:
                    counts.updated += 1
        return counts

    def lookup_human(self, sources: Iterable[str]) -> dict[str, HumanTranslation]:
        """The current human translation of each source that has one, by normalised source."""
        keys = list(dict.fromkeys(normalise_sentence(s) for s in sources))
        found: dict[str, HumanTranslation] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT * FROM human WHERE source IN ({marks})", chunk):
                found[row[0]] = HumanTranslation(*row)
        return found

    def human_entries(self) -> list[HumanTranslation]:
        """Every current human translation, by source."""
        return [HumanTranslation(*row)
                for row in self._db.execute("SELECT * FROM human ORDER BY source")]

    def human_history(self, source: str) -> list[HumanTranslation]:
        """Every version stored for `source`, oldest first."""
        rows = self._db.execute("SELECT * FROM human_history WHERE source = ? ORDER BY created",
                                (normalise_sentence(source),))
        return [HumanTranslation(*row) for row in rows]


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
    sentence.origin = Origin.MEMORY
    return True
