"""The translation memory in a SQLite file, the default.

WAL mode and short transactions make it safe for several processes of one machine: two
makes, zhen runs on overlapping inputs, an import during a run.  The rules and the SQL are
`zhen.memory.base.Memory`'s; this supplies the connection and the schema.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from zhen.errors import OutputError
from zhen.memory.base import Memory, T

MIGRATIONS: dict[int, list[str]] = {
    # 0: an empty file, or one made before the schema had a version (the same tables).
    0: [
        """CREATE TABLE IF NOT EXISTS tm (
            key TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            terms TEXT NOT NULL,
            package TEXT NOT NULL,
            created REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS tm_source ON tm (source)",
        """CREATE TABLE IF NOT EXISTS human (
            source TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            translator TEXT NOT NULL,
            origin TEXT NOT NULL,
            glossary_sha256 TEXT NOT NULL,
            created REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS human_history (
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            translator TEXT NOT NULL,
            origin TEXT NOT NULL,
            glossary_sha256 TEXT NOT NULL,
            created REAL NOT NULL
        )""",
    ],
    # 1 → 2: the model's score of each machine translation (zhen.scores); NULL in older rows
    1: ["ALTER TABLE tm ADD COLUMN score REAL"],
}


class SqliteMemory(Memory):
    """The memory in a SQLite file; one connection per process."""

    MIGRATIONS = MIGRATIONS
    HISTORY_ORDER = "created, rowid"

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
            self._db = db
            self._ensure_schema()
        except BaseException:
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

    def _execute(self, sql: str, params: Sequence = ()):
        return self._db.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence]) -> int:
        return self._db.executemany(sql, rows).rowcount

    def _iterate(self, sql: str, params: Sequence = ()) -> Iterator[tuple]:
        yield from self._db.execute(sql, params)

    def _write(self, work: Callable[[], T]) -> T:
        """One transaction that takes the write lock at once (writers queue, none fails)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            return work()

    def _table_exists(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (name,)).fetchone() is not None

    def _size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def _after_clear(self) -> None:
        self._db.execute("VACUUM")
