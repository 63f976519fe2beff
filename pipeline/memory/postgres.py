"""The translation memory in a PostgreSQL database, shared by every machine that runs zhen.

The rules and most of the SQL are `zhen.memory.base.Memory`'s, the same as for the SQLite file;
this supplies the connection (psycopg 3, autocommit: each write is one explicit
transaction), the schema with PostgreSQL's types, and what keeps concurrent writers
apart.  Machine translations are upserts (INSERT … ON CONFLICT) in key order, so
concurrent runs neither wait long nor deadlock.  Writers of human translations take one
transaction-level advisory lock, so they queue as SQLite's writers do (row locks alone
cannot hold back a sentence that another writer is adding at that moment; one lock per
sentence would exhaust the server's lock table on a large import), and read the current
rows with SELECT … FOR UPDATE; machine and human translations stay in separate tables, so
a machine translation never replaces a person's.

The password comes from the URL, PGPASSFILE or PGPASSWORD (libpq's rules); every message
names the memory by its URL with the password masked.  A database error becomes one
line (MemoryServerError): a malformed URL, a server that cannot be reached, a refused
login, a missing database, a server that goes away mid-run.

A connection lost to a server that restarts costs nothing: the operation that finds it
lost reconnects once and runs again, as long as nothing of it can have been committed (a
read, or a write transaction that had not reached its COMMIT), so a run or an open
`zhen review` goes on.  A server gone for good is the one line above.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Callable, Iterator, Sequence

import psycopg
from psycopg.conninfo import conninfo_to_dict
from zhen.env import value
from zhen.errors import MemoryServerError
from zhen.memory.base import Memory, T
from zhen.memory.location import mask_password, scrub_password

MIGRATIONS: dict[int, list[str]] = {
    0: [
        # Sources are indexed by hash (equality only): a btree entry is limited to about
        # 2.7 kB, which a long Chinese sentence can exceed.  md5(source) keeps one current
        # human translation per source.
        """CREATE TABLE IF NOT EXISTS tm (
            key TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            terms TEXT NOT NULL,
            package TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS tm_source ON tm USING hash (source)",
        """CREATE TABLE IF NOT EXISTS human (
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            translator TEXT NOT NULL,
            origin TEXT NOT NULL,
            glossary_sha256 TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS human_source_md5 ON human (md5(source))",
        "CREATE INDEX IF NOT EXISTS human_source ON human USING hash (source)",
        """CREATE TABLE IF NOT EXISTS human_history (
            id BIGSERIAL PRIMARY KEY,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            translator TEXT NOT NULL,
            origin TEXT NOT NULL,
            glossary_sha256 TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS human_history_source ON human_history USING hash (source)",
    ],
    # 1 → 2: the model's score of each machine translation (zhen.scores); NULL in older rows
    1: ["ALTER TABLE tm ADD COLUMN IF NOT EXISTS score DOUBLE PRECISION"],
}

# zhen's advisory locks: ('zhen', 0) while creating or migrating the tables, ('zhen', 1)
# while writing human translations.
LOCK_SPACE = 0x7A68656E
SCHEMA_LOCK, HUMAN_LOCK = 0, 1
CONNECT_TIMEOUT = 10  # seconds, unless the URL or PGCONNECT_TIMEOUT says otherwise

URL_FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"

# psycopg warns when it cannot close a pipeline on a lost connection, besides raising the
# error that _error turns into the one line: that warning would be a second line.
logging.getLogger("psycopg").setLevel(logging.ERROR)


class PostgresMemory(Memory):
    """The memory in a PostgreSQL database; one connection per process."""

    MIGRATIONS = MIGRATIONS
    LOCK_ROWS = " FOR UPDATE"
    LOCK_MACHINE = "LOCK TABLE tm IN EXCLUSIVE MODE"  # writers wait while it is cleared
    HISTORY_ORDER = "created, id"

    def __init__(self, url: str):
        self.url = url
        self.path = mask_password(url)
        self._conn: psycopg.Connection | None = None
        self._cursors = itertools.count()
        self._sql: dict[str, str] = {}
        self._in_unit = self._committing = False
        settings = self._check_url()
        self._settings = {"fallback_application_name": "zhen"}
        if "connect_timeout" not in settings and not value("PGCONNECT_TIMEOUT"):
            self._settings["connect_timeout"] = str(CONNECT_TIMEOUT)
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            raise self._cannot_connect(exc) from None
        try:
            self._ensure_schema()
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, **self._settings)

    def _check_url(self) -> dict[str, str]:
        try:
            settings = conninfo_to_dict(self.url)
        except psycopg.Error as exc:
            raise self._malformed(_reason(exc, self.url)) from None
        for port in (settings.get("port") or "").split(","):
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                raise self._malformed(f"port {port!r} is not a number from 1 to 65535")
        return settings

    def _malformed(self, reason: str) -> MemoryServerError:
        return MemoryServerError(f"{self.path}: not a valid PostgreSQL URL ({reason}); write "
                                 f"it as {URL_FORM}")

    def _cannot_connect(self, exc: psycopg.Error) -> MemoryServerError:
        reason = _reason(exc, self.url)
        low = reason.lower()
        if "password" in low or "authentication" in low or "pg_hba.conf" in low or \
                re.search(r'role ".*" does not exist', reason):
            return MemoryServerError(
                f"{self.path}: the PostgreSQL server refused the login ({reason}); check the "
                "user and the password (in the URL, PGPASSFILE or PGPASSWORD)")
        missing = re.search(r'database "(.*)" does not exist', reason)
        if missing:
            return MemoryServerError(
                f"{self.path}: the PostgreSQL server has no database \"{missing[1]}\"; create "
                f"it (createdb {missing[1]}) or name an existing one")
        return MemoryServerError(
            f"{self.path}: cannot reach the PostgreSQL server ({reason}); check that it runs "
            "and the host and port in the URL, or set ZHEN_MEMORY to a SQLite file")

    # -- errors and reconnecting ---------------------------------------------------------

    def _lost(self, exc: psycopg.Error) -> bool:
        """Whether `exc` says that the connection was lost (rather than a refused request)."""
        state = exc.sqlstate or ""
        return self._conn is None or self._conn.closed or self._conn.broken or \
            state.startswith(("08", "57P0")) or \
            isinstance(exc, psycopg.OperationalError) and not state

    def _error(self, exc: psycopg.Error) -> MemoryServerError:
        """A database error as one line; a lost connection says that nothing stored is lost."""
        reason = _reason(exc, self.url)
        if self._lost(exc):
            return MemoryServerError(
                f"{self.path}: lost the connection to the PostgreSQL server ({reason}); "
                "what was stored before is kept: run again once the server is back")
        return MemoryServerError(f"{self.path}: the PostgreSQL server refused zhen's "
                                 f"request ({reason}); zhen needs a database of its own, "
                                 "that its user may write")

    def _reconnect(self) -> bool:
        """A new connection in place of a lost one; False if the server cannot be reached."""
        self.close()
        try:
            self._conn = self._connect()
        except psycopg.Error:
            return False
        return True

    def _unit(self, work: Callable[[], T]) -> T:
        """Run `work`, a whole unit (one statement outside a transaction, or one transaction
        that `_write` opens), with database errors as one line.  If the connection was lost
        and nothing of the unit can have been committed (a server restart, say), reconnect
        and run it once more.  Inside a unit, errors go to the unit."""
        if self._in_unit:
            return work()
        self._in_unit = True
        try:
            try:
                return work()
            except psycopg.Error as exc:
                if self._committing or not self._lost(exc) or not self._reconnect():
                    raise self._error(exc) from None
            self._committing = False
            try:
                return work()
            except psycopg.Error as exc:
                raise self._error(exc) from None
        finally:
            self._in_unit = self._committing = False

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()

    # -- what Memory needs ---------------------------------------------------------------

    def _query(self, sql: str) -> str:
        """The shared SQL with psycopg's placeholders (it has no other ? or %)."""
        query = self._sql.get(sql)
        if query is None:
            query = self._sql[sql] = sql.replace("?", "%s")
        return query

    def _execute(self, sql: str, params: Sequence = ()):
        return self._unit(lambda: self._conn.execute(self._query(sql), params))

    def _executemany(self, sql: str, rows: Sequence[Sequence]) -> int:
        def work() -> int:
            with self._conn.cursor() as cur:
                cur.executemany(self._query(sql), rows)
                return cur.rowcount

        return self._unit(work)

    def _iterate(self, sql: str, params: Sequence = ()) -> Iterator[tuple]:
        """Rows through a server-side cursor: a large memory is never held whole.  A
        connection lost before the first row is reconnected once; after it, rows given
        cannot be taken back: one line."""
        given = False
        for attempt in range(2):
            try:
                with self._conn.transaction(), \
                        self._conn.cursor(name=f"zhen_{next(self._cursors)}") as cur:
                    cur.itersize = 2000
                    cur.execute(self._query(sql), params)
                    for row in cur:
                        given = True
                        yield row
                return
            except psycopg.Error as exc:
                if attempt or given or not self._lost(exc) or not self._reconnect():
                    raise self._error(exc) from None

    def _write(self, work: Callable[[], T]) -> T:
        def transaction() -> T:
            with self._conn.transaction():
                result = work()
                self._committing = True  # a connection lost from here on may have committed
            return result

        return self._unit(transaction)

    def _lock_schema(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_SPACE, SCHEMA_LOCK))

    def _lock_human(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_SPACE, HUMAN_LOCK))

    def _table_exists(self, name: str) -> bool:
        return self._execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0]

    def _size_bytes(self) -> int:
        (size,) = self._execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(to_regclass(t))), 0) FROM "
            "unnest(ARRAY['tm', 'human', 'human_history', 'zhen_schema']) AS t").fetchone()
        return int(size)


def _reason(exc: BaseException, url: str) -> str:
    """A driver's message on one line, without libpq's preamble and never the password."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r"^(connection (failed|is bad): )+", "", text)
    text = re.sub(r'^connection to server (at "[^"]*"(, port \d+)?|on socket "[^"]*") failed: ',
                  "", text)
    text = re.sub(r"^(FATAL|ERROR):\s+", "", text)
    return scrub_password(" ".join(text.split()), url)
