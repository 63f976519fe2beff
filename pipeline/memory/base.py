"""The abstract translation memory: the rules every backend shares, and its records.

Two kinds of entry:
- machine translations (`tm`), keyed by everything that determines the output
  (`zhen.memory.keys`).  Each stores the English text, the model's score for it
  (zhen.scores; None in rows written before schema 2) and, per term occurrence in source
  order, where its rendering is and how it got there.
- human translations (`human`), keyed by the normalised source sentence alone: a person's
  translation does not depend on the model.  Each records who, where it came from and the
  glossary it was checked against; a later one replaces an earlier one, and
  `human_history` keeps every version with its time.  Clearing the memory never touches
  them.

`Memory` holds the rules and the SQL common to both backends (`zhen.memory.sqlite`,
`zhen.memory.postgres`); code that receives either is annotated with it.  Both record
their schema version in a `zhen_schema` table: zhen creates the tables, migrates an older
schema and refuses a newer one.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from zhen.digests import normalise_sentence
from zhen.document import Origin, Sentence, TermStatus
from zhen.errors import MemorySchemaError

# The version of the tables that this zhen writes.  A change to them adds a migration
# (MIGRATIONS[n] takes a memory from version n to n + 1, in each backend) and raises this.
SCHEMA_VERSION = 2

T = TypeVar("T")
B = TypeVar("B", bound="Backend")


@dataclass
class MemoryStats:
    path: Path | str  # the file, or the server URL with its password masked
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


@dataclass
class CopyCounts:
    """What `copy_memory` did."""

    machine: int = 0  # machine translations read
    machine_new: int = 0  # … that the destination did not have
    human: StoreCounts = field(default_factory=StoreCounts)  # current human translations
    versions: int = 0  # versions of human translations in the history read
    versions_new: int = 0  # … that the destination did not have


HUMAN_COLUMNS = "source, target, translator, origin, glossary_sha256, created"
TM_COLUMNS = "key, source, target, terms, package, created, score"
CHUNK = 500  # keys per IN (…) list, rows per write when copying


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Backend(abc.ABC):
    """A database that holds zhen's tables: what each backend supplies, and the schema.

    A backend supplies the connection and the few things that differ: `_execute`,
    `_executemany` (returning the rows changed), `_iterate` (rows as a stream), `_write`
    (a unit of work in one write transaction), `_lock_human` (what keeps concurrent
    writers of human translations apart), `_table_exists`, `_size_bytes` and `close`; and
    its schema as MIGRATIONS.  SQL is written with `?` parameters."""

    path: Path | str  # for messages: the file, or the server URL with its password masked
    MIGRATIONS: dict[int, list[str]] = {}
    LOCK_ROWS = ""  # appended to a SELECT of current human translations that will change
    LOCK_MACHINE = ""  # run before deleting every machine translation
    HISTORY_ORDER = "created"

    # -- what a backend supplies ---------------------------------------------------------

    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence = ()): ...

    @abc.abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence]) -> int: ...

    @abc.abstractmethod
    def _iterate(self, sql: str, params: Sequence = ()) -> Iterator[tuple]: ...

    @abc.abstractmethod
    def _write(self, work: Callable[[], T]) -> T:
        """Run `work` in one write transaction and return what it returns.  `work` is a
        whole unit: it reads what it needs inside the transaction, so a backend may run it
        again when the transaction did not commit (a lost connection, say)."""

    def _lock_human(self) -> None:  # noqa: B027 (a hook a backend may leave empty)
        """Inside a write: keep other writers of human translations waiting until it ends
        (SQLite's write transaction does already)."""

    @abc.abstractmethod
    def _table_exists(self, name: str) -> bool: ...

    @abc.abstractmethod
    def _size_bytes(self) -> int: ...

    def _after_clear(self) -> None:  # noqa: B027 (a hook a backend may leave empty)
        """After every machine translation was deleted (give the space back, say)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self: B) -> B:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        """Create the tables, or migrate them from an older version; refuse a newer one."""
        if self._table_exists("zhen_schema") and self._version() == SCHEMA_VERSION:
            return  # the usual case: no write, no lock
        self._write(self._migrate)

    def _migrate(self) -> None:
        self._lock_schema()
        self._execute("CREATE TABLE IF NOT EXISTS zhen_schema (version INTEGER NOT NULL)")
        version = self._version()
        for step in range(version, SCHEMA_VERSION):
            for statement in self.MIGRATIONS[step]:
                self._execute(statement)
        if version != SCHEMA_VERSION:
            self._execute("DELETE FROM zhen_schema")
            self._execute("INSERT INTO zhen_schema (version) VALUES (?)", (SCHEMA_VERSION,))

    def _lock_schema(self) -> None:  # noqa: B027 (a hook a backend may leave empty)
        """Inside a write: keep other processes from creating or migrating the tables."""

    def _version(self) -> int:
        (version,) = self._execute("SELECT MAX(version) FROM zhen_schema").fetchone()
        version = version or 0
        if version > SCHEMA_VERSION:
            raise MemorySchemaError(f"the memory at {self.path} was made by a newer zhen "
                                    f"(schema {version}); upgrade zhen")
        return version


class Memory(Backend):
    """The memory's rules, in SQL that both backends run; code that receives either backend
    is annotated with this."""

    # -- machine translations ------------------------------------------------------------

    def lookup(self, keyed: list[tuple[str, Sentence]]) -> list[tuple[str, Sentence]]:
        """Fill the sentences whose key is in the memory (origin MEMORY); return the others."""
        found: dict[str, tuple[str, str, float | None]] = {}
        for chunk in _chunks([k for k, _ in keyed]):
            rows = self._execute(f"SELECT key, target, terms, score FROM tm "
                                 f"WHERE key IN ({_marks(len(chunk))})", chunk)
            found.update({k: (t, terms, score) for k, t, terms, score in rows})
        missing = []
        for key, s in keyed:
            hit = found.get(key)
            if hit is None or not _apply(s, *hit):
                missing.append((key, s))
        return missing

    def store(self, package_id: str, keyed: list[tuple[str, Sentence]]) -> None:
        """Remember the machine translations of sentences by key (one short transaction;
        a key stored again is replaced)."""
        rows = _tm_rows(package_id, keyed)
        if not rows:
            return
        self._write(lambda: self._executemany(
            f"INSERT INTO tm ({TM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET source = excluded.source, target = excluded.target, "
            "terms = excluded.terms, package = excluded.package, created = excluded.created, "
            "score = excluded.score", rows))

    def stats(self) -> MemoryStats:
        def count(table: str) -> int:
            return self._execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

        return MemoryStats(self.path, count("tm"), self._size_bytes(), count("human"),
                           count("human_history"))

    def clear(self) -> int:
        """Delete every machine translation; return how many there were.  Human
        translations are never deleted here."""
        def work() -> int:
            if self.LOCK_MACHINE:
                self._execute(self.LOCK_MACHINE)
            (count,) = self._execute("SELECT COUNT(*) FROM tm").fetchone()
            self._execute("DELETE FROM tm")
            return count

        count = self._write(work)
        self._after_clear()
        return count

    def is_machine_output(self, source: str, target: str) -> bool:
        """Whether `target` is a machine translation of `source` held in the memory
        (under any model, options or glossary)."""
        rows = self._execute("SELECT target FROM tm WHERE source = ?",
                             (normalise_sentence(source),))
        wanted = normalise_sentence(target)
        return any(normalise_sentence(t) == wanted for (t,) in rows)

    def machine_entries(self) -> Iterator[tuple[str, str, str, float, float | None]]:
        """(source, target, package, created, score) of every machine translation."""
        yield from self._iterate("SELECT source, target, package, created, score FROM tm "
                                 "ORDER BY source, created")

    def machine_rows(self) -> Iterator[tuple]:
        """Every machine translation as stored (key, source, target, terms, package,
        created, score), for copying."""
        yield from self._iterate(f"SELECT {TM_COLUMNS} FROM tm")

    def add_machine_rows(self, rows: Iterable[tuple]) -> int:
        """Store machine translations as `machine_rows` gives them, keeping the entries
        already here; return how many were new."""
        rows = sorted(dict((r[0], tuple(r)) for r in rows).values())
        if not rows:
            return 0
        return self._write(lambda: self._executemany(
            f"INSERT INTO tm ({TM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING", rows))

    # -- human translations --------------------------------------------------------------

    def store_human(self, items: Iterable[HumanTranslation], only_new: bool = False,
                    history: bool = True) -> StoreCounts:
        """Store human translations (one transaction).  A translation replaces the current
        one unless that is newer; every version goes into the history.  With only_new, a
        source that has a human translation already is left alone.  (history=False: the
        versions are in the history already, as when copying a memory.)"""
        items = list(items)
        if not items:
            return StoreCounts()
        now = time.time()
        keys = sorted({item.key for item in items})

        def work() -> StoreCounts:
            self._lock_human()
            current: dict[str, tuple[str, float]] = {}
            for chunk in _chunks(keys):
                rows = self._execute(f"SELECT source, target, created FROM human WHERE source "
                                     f"IN ({_marks(len(chunk))}) ORDER BY source"
                                     f"{self.LOCK_ROWS}", chunk)
                current.update({source: (target, created) for source, target, created in rows})
            counts, versions, new, changed = _plan_human(items, current, only_new, now)
            if history and versions:
                self._executemany(f"INSERT INTO human_history ({HUMAN_COLUMNS}) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", versions)
            if new:
                self._executemany(f"INSERT INTO human ({HUMAN_COLUMNS}) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", new)
            if changed:
                self._executemany("UPDATE human SET target = ?, translator = ?, origin = ?, "
                                  "glossary_sha256 = ?, created = ? WHERE source = ?", changed)
            return counts

        return self._write(work)

    def lookup_human(self, sources: Iterable[str]) -> dict[str, HumanTranslation]:
        """The current human translation of each source that has one, by normalised source."""
        keys = list(dict.fromkeys(normalise_sentence(s) for s in sources))
        found: dict[str, HumanTranslation] = {}
        for chunk in _chunks(keys):
            rows = self._execute(f"SELECT {HUMAN_COLUMNS} FROM human "
                                 f"WHERE source IN ({_marks(len(chunk))})", chunk)
            found.update({row[0]: HumanTranslation(*row) for row in rows})
        return found

    def human_since(self, sources: Iterable[str], since: float = 0.0
                    ) -> dict[str, HumanTranslation]:
        """The current human translations of these sources stored after `since` (seconds
        since the epoch), by normalised source."""
        keys = list(dict.fromkeys(normalise_sentence(s) for s in sources))
        found: dict[str, HumanTranslation] = {}
        for chunk in _chunks(keys):
            rows = self._execute(f"SELECT {HUMAN_COLUMNS} FROM human WHERE created > ? "
                                 f"AND source IN ({_marks(len(chunk))})", [since, *chunk])
            found.update({row[0]: HumanTranslation(*row) for row in rows})
        return found

    def human_entries(self) -> list[HumanTranslation]:
        """Every current human translation, by source."""
        return [HumanTranslation(*row) for row in
                self._iterate(f"SELECT {HUMAN_COLUMNS} FROM human ORDER BY source")]

    def human_history(self, source: str) -> list[HumanTranslation]:
        """Every version stored for `source`, oldest first."""
        rows = self._execute(f"SELECT {HUMAN_COLUMNS} FROM human_history WHERE source = ? "
                             f"ORDER BY {self.HISTORY_ORDER}", (normalise_sentence(source),))
        return [HumanTranslation(*row) for row in rows]

    def history_rows(self) -> Iterator[tuple]:
        """Every version of every human translation (as `human_history` gives them)."""
        yield from self._iterate(f"SELECT {HUMAN_COLUMNS} FROM human_history "
                                 f"ORDER BY source, {self.HISTORY_ORDER}")

    def add_history_rows(self, rows: Iterable[tuple]) -> int:
        """Add versions to the history unless it has them already; return how many were new."""
        rows = list(dict.fromkeys(tuple(r) for r in rows))
        if not rows:
            return 0
        keys = sorted({r[0] for r in rows})

        def work() -> int:
            self._lock_human()
            have = set()
            for chunk in _chunks(keys):
                have.update(tuple(r) for r in self._execute(
                    f"SELECT {HUMAN_COLUMNS} FROM human_history "
                    f"WHERE source IN ({_marks(len(chunk))})", chunk))
            new = [r for r in rows if r not in have]
            if new:
                self._executemany(f"INSERT INTO human_history ({HUMAN_COLUMNS}) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", new)
            return len(new)

        return self._write(work)


def _tm_rows(package_id: str, keyed: list[tuple[str, Sentence]]) -> list[tuple]:
    """The `tm` rows of machine translations by key, in key order (concurrent writers lock
    rows in the same order); a key given twice is stored once, as last given."""
    now = time.time()
    return sorted({
        key: (
            key,
            normalise_sentence(s.zh),
            s.en or "",
            json.dumps([[o.en_start, o.en_end, o.status.value if o.status else None]
                        for o in s.terms]),
            package_id,
            now,
            s.score,
        )
        for key, s in keyed
    }.values())


def _plan_human(items: list[HumanTranslation], current: dict[str, tuple[str, float]],
                only_new: bool, now: float) -> tuple[StoreCounts, list, list, list]:
    """What storing `items` does, given the current (target, created) of their sources:
    the counts, the versions for the history, the rows to insert into `human` and the
    (target, translator, origin, glossary_sha256, created, source) rows to update."""
    counts = StoreCounts()
    existing = set(current)
    versions, put = [], {}
    for item in items:
        key, created = item.key, item.created or now
        row = (key, item.target, item.translator, item.origin, item.glossary_sha256, created)
        found = current.get(key)
        if found is not None and (
            only_new or normalise_sentence(found[0]) == normalise_sentence(item.target)
        ):
            counts.unchanged += 1
            continue
        versions.append(row)
        if found is not None and found[1] > created:
            counts.older += 1
            continue
        current[key], put[key] = (item.target, created), row
        if found is None:
            counts.added += 1
        else:
            counts.updated += 1
    new = [row for key, row in sorted(put.items()) if key not in existing]
    changed = [(*row[1:], key) for key, row in sorted(put.items()) if key in existing]
    return counts, versions, new, changed


def copy_memory(src: Memory, dst: Memory) -> CopyCounts:
    """Copy machine translations, human translations and their history from `src` into
    `dst` (either backend), batch by batch.  Entries `dst` has are kept: a machine
    translation under the same key stays, a human translation follows the usual rule (the
    newer one is current, every version in the history), so copying again changes nothing."""
    counts = CopyCounts()
    for batch in _batches(src.machine_rows()):
        counts.machine += len(batch)
        counts.machine_new += dst.add_machine_rows(batch)
    for batch in _batches(src.history_rows()):
        counts.versions += len(batch)
        counts.versions_new += dst.add_history_rows(batch)
    for batch in _batches(iter(src.human_entries())):
        counts.human += dst.store_human(batch, history=False)
    return counts


def _batches(rows: Iterator, size: int = CHUNK) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _apply(sentence: Sentence, target: str, terms_json: str, score: float | None) -> bool:
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
    sentence.score = score
    return True
