"""The translation memory in PostgreSQL (issue 16, point 3): the same rules as the SQLite
file, shared by concurrent processes, copied both ways, every bad input one line.

A throwaway PostgreSQL server runs for the test session: Debian's `postgresql` binaries
(`initdb` + `pg_ctl` under /usr/lib/postgresql/*/bin) in a temporary folder, on a free
port of 127.0.0.1 with its socket in that folder, password logins over TCP, started
through `runuser -u postgres` when the tests run as root (PostgreSQL refuses to run as
root), stopped at the end.  Each test gets a database of its own.  Where the binaries are
absent the PostgreSQL tests are skipped, saying so; the shared tests still run on SQLite.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from conftest import REPO, run_zhen
from zhen.document import Origin, Sentence, TermMatch, TermStatus
from zhen.errors import MemorySchemaError, MemoryServerError
from zhen.memory import base as memory_base
from zhen.memory import open_memory
from zhen.memory import sqlite as memory_sqlite
from zhen.memory.base import SCHEMA_VERSION, HumanTranslation, copy_memory
from zhen.memory.location import is_server_url, mask_password
from zhen.memory.sqlite import SqliteMemory
from zhen.tei.read import read_tei

# On one xdist worker (make test: --dist loadgroup): one PostgreSQL server for these tests.
pytestmark = pytest.mark.xdist_group("postgres")

# -- the server ------------------------------------------------------------------------------


def find_server_binaries() -> Path | None:
    """The newest folder with PostgreSQL's initdb and pg_ctl (Debian's layout, else PATH)."""
    def version(path: Path) -> tuple:
        return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)

    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; a superuser `postgres` and a role `zhen`,
    both logging in with passwords over TCP."""

    USER = "zhen"

    def __init__(self, bindir: Path):
        self.bindir = bindir
        # In /tmp itself: the socket's path must be short, and as root the folder must be
        # reachable by the postgres user (pytest's tmp_path is private to root).
        self.dir = Path(tempfile.mkdtemp(prefix="zhen-pg-"))
        self.as_root = os.geteuid() == 0
        # Its data in memory where a tmpfs can be mounted (as root): each test's database is
        # a copy of the template (~8 MB, 300 files), which on a busy disk costs seconds.
        self.tmpfs = self.as_root and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2g,mode=0700", "tmpfs", str(self.dir)],
            capture_output=True).returncode == 0
        self.admin_password = secrets.token_hex(12)
        # Characters that a URL must escape: masking has to find the password either way.
        self.password = f"s3cret-{secrets.token_hex(6)}@/:#"
        self.port = 0
        self._options = ""
        self._databases = 0

    def _run(self, *cmd: str | Path) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run([*prefix, *map(str, cmd)], capture_output=True, text=True,
                              timeout=120)

    def start(self) -> None:
        if self.as_root:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.admin_password + "\n")
        if self.as_root:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        done = self._run(self.bindir / "initdb", "-D", self.dir / "data", "-U", "postgres",
                         "--pwfile", pwfile, "--auth-local=trust",
                         "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        if done.returncode:
            pytest.fail(f"initdb failed: {done.stderr.strip()}", pytrace=False)
        for _ in range(5):  # the free port may be taken meanwhile: try another
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                       f"-c unix_socket_directories={self.dir} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            done = self._run(self.bindir / "pg_ctl", "-D", self.dir / "data", "-l",
                             self.dir / "log", "-w", "-t", "60", "-o", options, "start")
            if done.returncode == 0:
                self._options = options
                break
        else:
            log = (self.dir / "log").read_text(errors="replace")[-2000:]
            pytest.fail(f"pg_ctl start failed: {done.stderr.strip()}\n{log}", pytrace=False)
        with self.admin() as db:
            db.execute(f"CREATE ROLE {self.USER} LOGIN PASSWORD '{self.password}'")

    def pg_ctl(self, action: str, *args: str) -> None:
        """Stop, start or restart the running server (same folder, same port)."""
        # The log file again: else the server writes to (and holds open) pg_ctl's stdout.
        args = ("-l", str(self.dir / "log"), *args)
        if action == "start":
            args = ("-o", self._options, *args)
        done = self._run(self.bindir / "pg_ctl", "-D", self.dir / "data", "-w", "-t", "60",
                         *args, action)
        assert done.returncode == 0, done.stderr

    def stop(self) -> None:
        if self.port:
            self._run(self.bindir / "pg_ctl", "-D", self.dir / "data", "-m", "immediate", "-w",
                      "stop")
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str, password: str | None = None, user: str = USER,
            port: int | None = None) -> str:
        secret = self.password if password is None else password
        auth = f"{user}:{quote(secret, safe='')}" if secret else user
        return f"postgresql://{auth}@127.0.0.1:{port or self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database, self.admin_password, "postgres"),
                               autocommit=True)

    def new_database(self) -> str:
        self._databases += 1
        name = f"zhen_test_{self._databases}"
        with self.admin() as db:
            db.execute(f"CREATE DATABASE {name} OWNER {self.USER}")
        return name


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_server_binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl under "
                    "/usr/lib/postgresql/*/bin or on PATH): install Debian's postgresql "
                    "package (`make setup` does, as root) to test the shared memory")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A URL (password included) of an empty database of this test's own."""
    return pg_server.url(pg_server.new_database())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def location(request, tmp_path) -> str | Path:
    """Where a memory is, for the tests both backends must pass."""
    if request.param == "sqlite":
        return tmp_path / "memory.sqlite3"
    return request.getfixturevalue("pg_url")


class Raw:
    """Direct SQL on a memory (behind zhen's back), `?` parameters for both backends."""

    def __init__(self, location):
        self.server = is_server_url(location)
        self.db = (psycopg.connect(location, autocommit=True) if self.server
                   else sqlite3.connect(location, isolation_level=None))

    def __call__(self, sql: str, *params):
        return self.db.execute(sql.replace("?", "%s") if self.server else sql, params)

    def close(self) -> None:
        self.db.close()


def raw(location) -> Raw:
    return Raw(location)


# -- the same rules on both backends ------------------------------------------------------


def sentence(zh: str, en: str | None = None, terms: int = 0) -> Sentence:
    s = Sentence("p1.s1", zh, en)
    s.terms = [TermMatch(f"t{i}", i, i + 1) for i in range(terms)]
    if en is not None:
        for i, occ in enumerate(s.terms):
            occ.en_start, occ.en_end, occ.status = i, i + 1, TermStatus.ENFORCED
    return s


def test_machine_translations_are_stored_looked_up_and_replaced(location):
    with open_memory(location) as mem:
        mem.store("pkg 1", [("k1", sentence("你好。", "Hello.", terms=2)),
                            ("k2", sentence("再见。", "Bye."))])
        a, b, c = sentence("你好。", terms=2), sentence("再见。", terms=1), sentence("谢谢。")
        missing = mem.lookup([("k1", a), ("k2", b), ("k3", c)])
        # k2's entry has no term where the sentence has one: it does not fit
        assert [k for k, _ in missing] == ["k2", "k3"]
        assert (a.en, a.origin) == ("Hello.", Origin.MEMORY)
        assert [(o.en_start, o.en_end, o.status) for o in a.terms] == \
            [(0, 1, TermStatus.ENFORCED), (1, 2, TermStatus.ENFORCED)]
        mem.store("pkg 1", [("k1", sentence("你好。", "Hi.", terms=2))])
        again = sentence("你好。", terms=2)
        assert mem.lookup([("k1", again)]) == [] and again.en == "Hi."
        assert mem.is_machine_output(" 你好。 ", "Hi.") and not mem.is_machine_output("你好。", "x")
        assert [row[:3] for row in mem.machine_entries()] == \
            [("你好。", "Hi.", "pkg 1"), ("再见。", "Bye.", "pkg 1")]
        stats = mem.stats()
        assert (stats.entries, stats.human, stats.human_versions) == (2, 0, 0)
        assert stats.size_bytes > 0


def test_scores_are_kept_and_rows_of_a_schema_1_memory_read_none(location, tmp_path):
    """A machine translation keeps the model's score (schema 2, zhen.scores); a memory of
    schema 1 is migrated, its rows read back without a score; copies carry the scores."""
    if is_server_url(location):
        from zhen.memory.postgres import MIGRATIONS
    else:
        MIGRATIONS = memory_sqlite.MIGRATIONS
    db = raw(location)
    for statement in MIGRATIONS[0]:  # the tables as schema 1 had them, with one old row
        db(statement)
    db("CREATE TABLE zhen_schema (version INTEGER NOT NULL)")
    db("INSERT INTO zhen_schema (version) VALUES (?)", 1)
    db("INSERT INTO tm (key, source, target, terms, package, created) VALUES (?, ?, ?, ?, ?, ?)",
       "old", "旧句。", "Old.", "[]", "pkg", 1.0)
    db.close()
    with open_memory(location) as mem:
        old = sentence("旧句。")
        assert mem.lookup([("old", old)]) == [] and old.en == "Old." and old.score is None
        new = sentence("新句。", "New.")
        new.score = 0.8125
        mem.store("pkg", [("new", new)])
        found = sentence("新句。")
        assert mem.lookup([("new", found)]) == [] and found.score == 0.8125
        assert [row[4] for row in mem.machine_entries()] == [0.8125, None]  # by source
        with SqliteMemory(tmp_path / "copy.sqlite3") as dst:
            assert copy_memory(mem, dst).machine_new == 2
            again, before = sentence("新句。"), sentence("旧句。")
            assert dst.lookup([("new", again), ("old", before)]) == []
            assert (again.score, before.score) == (0.8125, None)
    db = raw(location)
    assert db("SELECT version FROM zhen_schema").fetchall() == [(SCHEMA_VERSION,)]
    db.close()


def test_human_translations_follow_the_rules(location):
    h = HumanTranslation
    with open_memory(location) as mem:
        counts = mem.store_human([h("你好。", "Hi.", "Wang", "edit a", "g1", 100.0),
                                  h("再见。", "Bye.", "", "tmx b", "", 100.0)])
        assert (counts.added, counts.updated) == (2, 0)
        # the same translation (after normalisation) again: unchanged, no new version
        counts = mem.store_human([h("你好。", " Hi. ", "Li", "edit c", "g2", 300.0)])
        assert counts.unchanged == 1
        # an older one: kept in the history only
        counts = mem.store_human([h("你好。", "Hello there.", "Li", "tmx d", "", 50.0)])
        assert counts.older == 1
        assert mem.lookup_human(["你好。"])["你好。"].target == "Hi."
        # a later one replaces the current
        counts = mem.store_human([h("你好。", "Hello!", "Zhao", "xliff e", "g3", 200.0)])
        assert counts.updated == 1
        # only_new leaves an existing one alone, adds a new one
        counts = mem.store_human([h("你好。", "Yo.", created=400.0), h("谢谢。", "Thanks.")],
                                 only_new=True)
        assert (counts.unchanged, counts.added) == (1, 1)
        found = mem.lookup_human(["  你好。", "再见。", "没有。"])
        assert set(found) == {"你好。", "再见。"}
        assert found["你好。"] == h("你好。", "Hello!", "Zhao", "xliff e", "g3", 200.0)
        assert [v.target for v in mem.human_history("你好。")] == ["Hello there.", "Hi.",
                                                                  "Hello!"]
        assert [e.source for e in mem.human_entries()] == sorted(["你好。", "再见。", "谢谢。"])
        assert mem.stats().human_versions == 5


def test_human_translations_newer_than_a_time(location):
    """What `--update` asks (issue 22): the human translations of these sources stored
    after T, in both backends."""
    h = HumanTranslation
    with open_memory(location) as mem:
        mem.store_human([h("甲。", "A.", created=100.0), h("乙。", "B.", created=200.0)])
        assert set(mem.human_since([" 甲。", "乙。", "丙。"], 150.0)) == {"乙。"}
        assert mem.human_since(["乙。"], 150.0)["乙。"].target == "B."
        assert set(mem.human_since(["甲。", "乙。"])) == {"甲。", "乙。"}
        assert mem.human_since(["甲。", "乙。"], 200.0) == {}


def test_clearing_deletes_machine_translations_only(location):
    with open_memory(location) as mem:
        mem.store("pkg", [("k1", sentence("你好。", "Hello."))])
        mem.store_human([HumanTranslation("你好。", "Hi.")])
        assert mem.clear() == 1
        assert mem.stats().entries == 0
        assert mem.lookup_human(["你好。"])["你好。"].target == "Hi."
        # a machine translation stored afterwards for the same sentence leaves it alone
        mem.store("pkg", [("k1", sentence("你好。", "Hello."))])
        assert mem.lookup_human(["你好。"])["你好。"].target == "Hi."
        assert mem.stats().human == 1


def test_a_very_long_sentence_fits(location):
    """Longer than a PostgreSQL btree entry may be (~2.7 kB): sources are hash-indexed."""
    zh = "这是一个非常长的句子，" * 400 + "。"
    assert len(zh.encode()) > 10_000
    with open_memory(location) as mem:
        mem.store("pkg", [("long", sentence(zh, "Long."))])
        mem.store_human([HumanTranslation(zh, "A long one.")])
        assert mem.is_machine_output(zh, "Long.")
        assert mem.lookup_human([zh])[zh].target == "A long one."
        assert len(mem.human_history(zh)) == 1


def test_a_large_import_is_one_transaction(location):
    """Far more sentences than PostgreSQL's lock table has room for locks (64 a connection)."""
    items = [HumanTranslation(f"第{i}句。", f"Sentence {i}.", created=1.0) for i in range(10_000)]
    with open_memory(location) as mem:
        assert mem.store_human(items).added == 10_000
        assert mem.store_human(items).unchanged == 10_000
        assert mem.lookup_human(["第9999句。"])["第9999句。"].target == "Sentence 9999."


def test_the_schema_version_is_recorded_and_a_newer_one_refused(location):
    open_memory(location).close()
    db = raw(location)
    assert db("SELECT version FROM zhen_schema").fetchall() == [(SCHEMA_VERSION,)]
    db("UPDATE zhen_schema SET version = ?", SCHEMA_VERSION + 1)
    db.close()
    with pytest.raises(MemorySchemaError) as exc:
        open_memory(location)
    assert str(exc.value) == (f"the memory at {mask_password(location)} was made by a newer "
                              f"zhen (schema {SCHEMA_VERSION + 1}); upgrade zhen")


def test_an_older_schema_is_migrated(location, monkeypatch):
    with open_memory(location) as mem:
        mem.store("pkg", [("k1", sentence("你好。", "Hello."))])
    backend = type(open_memory(location))
    monkeypatch.setattr(memory_base, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(backend, "MIGRATIONS", {
        **backend.MIGRATIONS, SCHEMA_VERSION: ["ALTER TABLE tm ADD COLUMN note TEXT"]})
    with open_memory(location) as mem:
        found = sentence("你好。")
        assert mem.lookup([("k1", found)]) == [] and found.en == "Hello."
    db = raw(location)
    assert db("SELECT version FROM zhen_schema").fetchall() == [(SCHEMA_VERSION + 1,)]
    assert db("SELECT note FROM tm").fetchall() == [(None,)]
    db.close()


def test_a_memory_made_before_schema_versions_is_adopted(tmp_path):
    """A SQLite memory of an older zhen (the same tables, no zhen_schema) is kept as it is."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for statement in memory_sqlite.MIGRATIONS[0]:
        db.execute(statement)
    db.execute("INSERT INTO human VALUES ('你好。', 'Hi.', '', '', '', 1.0)")
    db.commit()
    db.close()
    with SqliteMemory(path) as mem:
        assert mem.lookup_human(["你好。"])["你好。"].target == "Hi."
    assert sqlite3.connect(path).execute("SELECT version FROM zhen_schema").fetchall() == \
        [(SCHEMA_VERSION,)]


WRITER = textwrap.dedent("""\
    import sys
    from zhen.memory import open_memory
    from zhen.memory.base import HumanTranslation
    from zhen.document import Sentence
    location, who, reverse = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    sources = [f"第{i}句。" for i in range(60)]
    if reverse:
        sources.reverse()
    offset = 1 if reverse else 0
    with open_memory(location) as mem:
        for r in range(8):
            mem.store_human([HumanTranslation(s, f"{who} {r}", who, "test", "",
                                              1000.0 + 2 * r + offset) for s in sources])
            mem.store("pkg", [(f"{who}{r}{s}", Sentence("p1.s1", s, f"{who} machine {r}"))
                              for s in sources])
""")


def test_two_processes_store_at_once_and_lose_nothing(location, tmp_path):
    """Two writers of the same sentences in opposite orders: no error (no deadlock), every
    version in the history, the newest one current, both runs' machine translations there."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(location), who, reverse],
                              cwd=REPO, stderr=subprocess.PIPE, text=True)
             for who, reverse in (("A", "0"), ("B", "1"))]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    with open_memory(location) as mem:
        stats = mem.stats()
        assert (stats.entries, stats.human, stats.human_versions) == (2 * 8 * 60, 60, 2 * 8 * 60)
        current = mem.lookup_human([f"第{i}句。" for i in range(60)])
        assert {h.target for h in current.values()} == {"B 7"}
        assert [h.target for h in mem.human_history("第0句。")][-2:] == ["A 7", "B 7"]


# -- PostgreSQL only -----------------------------------------------------------------------


def test_copy_between_backends_both_ways_changes_nothing_twice(pg_url, tmp_path):
    first = tmp_path / "first.sqlite3"
    with open_memory(first) as mem:
        mem.store("pkg", [(f"k{i}", sentence(f"第{i}句。", f"Sentence {i}.", terms=i % 2))
                          for i in range(1200)])
        mem.store_human([HumanTranslation("你好。", "Hi.", created=1.0)])
        mem.store_human([HumanTranslation("你好。", "Hello.", created=2.0),
                         HumanTranslation("再见。", "Bye.", created=3.0)])
    with open_memory(first) as src, open_memory(pg_url) as dst:
        counts = copy_memory(src, dst)
        assert (counts.machine, counts.machine_new, counts.versions, counts.versions_new) == \
            (1200, 1200, 3, 3)
        assert counts.human.added == 2
        again = copy_memory(src, dst)
        assert (again.machine_new, again.versions_new, again.human.unchanged) == (0, 0, 2)
    back = tmp_path / "back.sqlite3"
    with open_memory(pg_url) as src, open_memory(back) as dst:
        copy_memory(src, dst)
    with open_memory(first) as a, open_memory(back) as b:
        assert sorted(a.machine_rows()) == sorted(b.machine_rows())
        assert a.human_entries() == b.human_entries()
        assert a.human_history("你好。") == b.human_history("你好。")
        probe = sentence("第1句。", terms=1)
        assert b.lookup([("k1", probe)]) == [] and probe.en == "Sentence 1."


def test_a_restarted_server_is_reconnected_and_the_memory_goes_on(pg_server, pg_url):
    """One open memory lives through a server restart (and a dropped connection) between
    two operations: each kind of operation reconnects once and does its work."""
    mem = open_memory(pg_url)
    mem.store("pkg", [("k1", sentence("你好。", "Hello."))])
    pg_server.pg_ctl("restart", "-m", "fast")
    mem.store("pkg", [("k2", sentence("再见。", "Bye."))])  # a write transaction
    pg_server.pg_ctl("restart", "-m", "fast")
    found = sentence("你好。")
    assert mem.lookup([("k1", found)]) == [] and found.en == "Hello."  # a read
    # No goodbye to the clients (a crash: the throwaway server's commits are asynchronous,
    # so this comes after a clean restart has kept the writes above).
    pg_server.pg_ctl("restart", "-m", "immediate")
    assert mem.store_human([HumanTranslation("你好。", "Hi.", "ann")]).added == 1
    pg_server.pg_ctl("restart", "-m", "fast")
    assert sorted(row[0] for row in mem.machine_rows()) == ["k1", "k2"]  # a stream
    with pg_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (mem._conn.info.backend_pid,))
    stats = mem.stats()
    assert (stats.entries, stats.human, stats.human_versions) == (2, 1, 1)
    mem.close()


def test_an_open_review_saves_across_a_server_restart(pg_server, pg_url, tmp_path):
    """`zhen review` keeps its memory open: a save after the server restarted is stored."""
    from starlette.testclient import TestClient
    from test_review import DOC, FAULTS, FIXED, save, version_of
    from zhen.tei.body import tei_bytes
    from zhen.ui.review.app import create_app

    folder = tmp_path / "review"
    folder.mkdir()
    (folder / DOC).write_bytes(tei_bytes(read_tei(FAULTS)))
    app = create_app(folder, pg_url, "Reviewer", hosts=("testserver",))
    with TestClient(app) as client:
        assert save(client, "p3.s1", FIXED, version_of(client)).status_code == 200
        pg_server.pg_ctl("restart", "-m", "fast")
        r = save(client, "p2.s3", "Exports rose by 12 percent.", version_of(client))
        assert r.status_code == 200, r.text
        client.get("/api/documents")  # the worker thread has stored it by now
    saved = {s.en for s in read_tei(folder / DOC).sentences() if s.human}
    with open_memory(pg_url) as mem:
        stored = {(h.target, h.translator) for h in mem.human_entries()}
    assert saved == {FIXED, "Exports rose by 12 percent."}
    assert stored == {(FIXED, "Reviewer"), ("Exports rose by 12 percent.", "Reviewer")}


def test_a_server_that_goes_away_is_one_line(pg_server, pg_url):
    mem = open_memory(pg_url)
    mem.store("pkg", [("k1", sentence("你好。", "Hello."))])
    pg_server.pg_ctl("stop", "-m", "fast")
    try:
        for operation in (lambda: mem.store("pkg", [("k2", sentence("再见。", "Bye."))]),
                          lambda: mem.lookup([("k1", sentence("你好。"))]),
                          lambda: list(mem.human_entries())):
            with pytest.raises(MemoryServerError) as exc:
                operation()
            message = str(exc.value)
            assert "\n" not in message and pg_server.password not in message
            assert message.startswith(f"{mask_password(pg_url)}: lost the connection to the "
                                      "PostgreSQL server (")
            assert message.endswith("what was stored before is kept: run again once the "
                                    "server is back")
    finally:
        pg_server.pg_ctl("start")
    mem.close()
    with open_memory(pg_url) as again:
        assert again.stats().entries == 1


def test_masking_hides_every_form_of_the_password():
    assert mask_password("postgresql://u:p%40ss@h:5432/db?password=x&sslmode=require") == \
        "postgresql://u:***@h:5432/db?password=***&sslmode=require"
    assert mask_password("postgres://u@h/db") == "postgres://u@h/db"
    assert mask_password(Path("/tmp/m.sqlite3")) == "/tmp/m.sqlite3"
    from zhen.memory.location import scrub_password

    assert scrub_password("bad p@ss or p%40ss", "postgresql://u:p%40ss@h/db") == "bad *** or ***"


# -- through the command line ---------------------------------------------------------------

ARTICLE = (REPO / "tests" / "data" / "coast-article.txt").read_text(encoding="utf-8")
SECOND = """\
港口城市的新计划
港口管理部门宣布扩建集装箱码头。
专家指出，印太地区的气候风险正在上升，城市规划必须把韧性放在首位。
新码头预计在三年内完工，可增加百分之二十的吞吐量。
"""
SUMMARY = re.compile(r"(?P<sentences>\d+) sentences, (?P<human>\d+) from human translations, "
                     r"(?P<memory>\d+) from memory, (?P<decoded>\d+) decoded, "
                     r"decoder calls: (?P<calls>\d+)")


@pytest.fixture
def work(tmp_path, tiny_model, zhen_env, pg_url):
    """in/ with two articles, a glossary, and an environment whose memory is PostgreSQL."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "coast.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "in" / "port.txt").write_text(SECOND, encoding="utf-8")
    glossary = tmp_path / "terms.tsv"
    glossary.write_bytes((REPO / "glossary" / "terms.tsv").read_bytes())
    env = dict(zhen_env, ZHEN_MEMORY=pg_url)
    return tmp_path, tiny_model, env, glossary


def translate(work, *inputs, out="out", env=None, extra=(), process=False):
    tmp, model, default_env, glossary = work
    return run_zhen(["translate", *inputs, "-o", tmp / out, "--model", model, "--glossary",
                     glossary, "--beam-size", "1", "--num-hypotheses", "1", *extra],
                    env or default_env, cwd=tmp, process=process)


def numbers(res) -> dict[str, int]:
    assert res.returncode == 0, res.stderr
    match = SUMMARY.search(res.stderr)
    assert match, res.stderr
    return {k: int(v) for k, v in match.groupdict().items()}


def assert_no_password(server: PostgresServer, *texts: str, folder: Path | None = None):
    secrets_ = {server.password, quote(server.password, safe="")}
    for text in texts:
        assert not any(s in text for s in secrets_), text
    for path in folder.rglob("*") if folder else ():
        if path.is_file():
            data = path.read_text(encoding="utf-8", errors="replace")
            assert not any(s in data for s in secrets_), path


def one_line_error(res, *parts: str) -> str:
    assert res.returncode == 1, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zhen: error: "), res.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def test_a_second_run_from_another_process_decodes_nothing(work, pg_server):
    tmp, _model, env, _g = work
    first = numbers(translate(work, "in/coast.txt", "in/port.txt"))
    assert first["decoded"] > 0 and first["calls"] > 0
    # another process, another output folder (as another machine would): all from memory
    res = translate(work, "in/coast.txt", "in/port.txt", out="again", process=True)
    second = numbers(res)
    assert (second["calls"], second["decoded"]) == (0, 0)
    assert second["memory"] == first["sentences"]
    for name in ("coast.tei.xml", "port.tei.xml"):
        a = (tmp / "out" / name).read_text(encoding="utf-8")
        b = (tmp / "again" / name).read_text(encoding="utf-8")
        body = re.compile(r"<text.*</text>", re.S)
        assert body.search(a)[0] == body.search(b)[0]
    stats = run_zhen(["memory", "stats"], env)
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.startswith(mask_password(env["ZHEN_MEMORY"]) + ": ")
    assert f"{first['decoded']} machine translations" in stats.stdout
    assert_no_password(pg_server, res.stdout, res.stderr, stats.stdout, folder=tmp)


def test_two_runs_at_once_share_the_memory(work):
    tmp, *_ = work
    runs = [subprocess.Popen(
        [sys.executable, "-m", "zhen", "translate", f"in/{name}.txt", "-o", out,
         "--model", str(work[1]), "--glossary", str(work[3]), "--beam-size", "1",
         "--num-hypotheses", "1"], env=work[2], cwd=tmp, stderr=subprocess.PIPE, text=True)
        for name, out in (("coast", "a"), ("port", "b"))]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()
    # both runs' sentences are in the memory: a third run decodes nothing
    res = numbers(translate(work, "in/coast.txt", "in/port.txt", out="c"))
    assert (res["calls"], res["decoded"]) == (0, 0)


def edit_english(path: Path, edits: dict[str, str]) -> None:
    data = path.read_text(encoding="utf-8")
    for sid, text in edits.items():
        data, n = re.subn(rf'(<s xml:id="{re.escape(sid)}"[^>]*>).*?(</s>)',
                          lambda m, t=text: m.group(1) + t + m.group(2), data, count=1)
        assert n == 1, sid
    path.write_text(data, encoding="utf-8")


def test_human_translations_survive_and_win(work):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    edits = {"en.p1.s1": "Before the typhoon season, coastal cities checked their dykes.",
             "en.p2.s1": "Experts note that climate risk in the Indo-Pacific is rising."}
    edit_english(tmp / "out" / "coast.tei.xml", edits)
    # a rewrite (another setting) keeps them, through the PostgreSQL memory
    res = translate(work, "in/coast.txt", extra=["--max-length-ratio", "1.2"])
    assert numbers(res)["human"] == 2
    cleared = run_zhen(["memory", "clear"], env)
    assert "kept 2 human translations" in cleared.stdout, cleared.stderr
    # another document with the same sentence, in another folder: the person's wins
    res = translate(work, "in/port.txt", out="other")
    assert numbers(res)["human"] == 1
    doc = read_tei(tmp / "other" / "port.tei.xml")
    assert [s.en for s in doc.sentences() if s.human] == [edits["en.p2.s1"]]
    exported = run_zhen(["memory", "export", tmp / "human.tmx", "--human-only"], env)
    assert "wrote 2 translation units" in exported.stdout, exported.stderr
    # the reading view and the XLIFF export take their fuzzy matches from it too
    viewed = run_zhen(["view", tmp / "other" / "port.tei.xml", "-o", tmp / "port.html"], env)
    assert viewed.returncode == 0, viewed.stderr
    xliff = run_zhen(["export", "xliff", tmp / "other" / "port.tei.xml", "-o", tmp / "xlf"], env)
    assert xliff.returncode == 0, xliff.stderr


def test_memory_copy_both_ways_on_the_command_line(work, pg_server):
    tmp, _model, env, _g = work
    local = dict(env, ZHEN_MEMORY=str(tmp / "local.sqlite3"))
    translate(work, "in/coast.txt", env=local)
    edit_english(tmp / "out" / "coast.tei.xml", {"en.p1.s1": "A person's sentence."})
    imported = run_zhen(["memory", "import", tmp / "out" / "coast.tei.xml"], local)
    assert "1 added" in imported.stderr, imported.stderr
    url = env["ZHEN_MEMORY"]

    res = run_zhen(["memory", "copy", tmp / "local.sqlite3", url], env)
    assert res.returncode == 0, res.stderr
    masked = mask_password(url)
    assert res.stdout.strip() == (
        f"copied {tmp / 'local.sqlite3'} into {masked}: 6 machine translations (6 new), 1 "
        "human translations (1 added, 0 updated, 0 unchanged or older), 1 versions in their "
        "history (1 new)")
    res = run_zhen(["memory", "copy", tmp / "local.sqlite3", url], env)
    assert "(0 new), 1 human translations (0 added, 0 updated, 1 unchanged or older)" \
        in res.stdout and res.stdout.endswith("(0 new)\n"), res.stdout
    # the shared memory serves a run, with the person's sentence
    shared = numbers(translate(work, "in/coast.txt", out="shared"))
    assert (shared["calls"], shared["human"]) == (0, 1)

    res = run_zhen(["memory", "copy", url, tmp / "back.sqlite3"], env)
    assert res.returncode == 0 and "6 machine translations (6 new)" in res.stdout, res.stderr
    stats = [run_zhen(["memory", "stats", "--memory", m], env).stdout.split(": ", 1)[1]
             for m in (tmp / "local.sqlite3", tmp / "back.sqlite3", url)]
    assert len({s.rsplit(",", 1)[0] for s in stats}) == 1, stats  # the same counts
    same = run_zhen(["memory", "copy", url, url], env)
    one_line_error(same, "the source and the destination are the same memory")
    missing = run_zhen(["memory", "copy", tmp / "nothing.sqlite3", url], env)
    one_line_error(missing, "nothing.sqlite3: no translation memory there")
    assert not (tmp / "nothing.sqlite3").exists()
    assert_no_password(pg_server, res.stdout, res.stderr, same.stderr, *stats)


def test_the_password_can_come_from_pgpassfile_or_the_environment(pg_server, pg_url,
                                                                   tmp_path, zhen_env):
    database = pg_url.rsplit("/", 1)[1]
    bare = pg_server.url(database, password="")
    passfile = tmp_path / "pgpass"
    escaped = pg_server.password.replace("\\", "\\\\").replace(":", "\\:")
    passfile.write_text(f"127.0.0.1:{pg_server.port}:{database}:zhen:{escaped}\n")
    passfile.chmod(0o600)
    env = dict(zhen_env, ZHEN_MEMORY=bare, PGPASSFILE=str(passfile))
    res = run_zhen(["memory", "stats"], env)
    assert res.returncode == 0 and res.stdout.startswith(bare + ": "), res.stderr
    env = dict(zhen_env, ZHEN_MEMORY=bare, PGPASSWORD=pg_server.password,
               PGPASSFILE=str(tmp_path / "none"))
    assert run_zhen(["memory", "stats"], env).returncode == 0
    env = dict(zhen_env, ZHEN_MEMORY=bare, PGPASSFILE=str(tmp_path / "none"))
    env.pop("PGPASSWORD", None)
    one_line_error(run_zhen(["memory", "stats"], env), "the PostgreSQL server refused the login",
                   "check the user and the password")


def test_bad_inputs_are_one_line_each(pg_server, pg_url, zhen_env, tmp_path):
    database = pg_url.rsplit("/", 1)[1]

    def stats(url: str):
        res = run_zhen(["memory", "stats", "--memory", url], zhen_env, timeout=60)
        assert_no_password(pg_server, res.stdout, res.stderr)
        return res

    secret = quote(pg_server.password, safe="")
    for url, part in [
        (f"postgresql://zhen:{secret}@127.0.0.1:port/{database}", "port 'port' is not a number"),
        (f"postgresql://zhen:{secret}@[::1/{database}", "matching \"]\""),
        (f"postgresql://zhen:{secret}@127.0.0.1/{database}?colour=blue",
         'invalid URI query parameter: "colour"'),
    ]:
        line = one_line_error(stats(url), mask_password(url) + ": not a valid PostgreSQL URL",
                              part, "write it as postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        assert "zhen:***@" in line
    line = one_line_error(stats(pg_server.url(database, port=free_port())),
                          "cannot reach the PostgreSQL server (Connection refused)",
                          "check that it runs and the host and port in the URL")
    one_line_error(stats(pg_server.url(database, password="wrong")),
                   "the PostgreSQL server refused the login (password authentication failed "
                   'for user "zhen")', "PGPASSFILE or PGPASSWORD")
    one_line_error(stats(pg_server.url("no_such_db")),
                   'the PostgreSQL server has no database "no_such_db"; create it '
                   "(createdb no_such_db)")
    with pg_server.admin() as db:  # a database whose tables zhen's user may not create
        db.execute("CREATE DATABASE not_zhens")
    with pg_server.admin("not_zhens") as db:  # as PostgreSQL 15 has it by default
        db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    one_line_error(stats(pg_server.url("not_zhens")),
                   "the PostgreSQL server refused zhen's request (permission denied for schema "
                   "public); zhen needs a database of its own, that its user may write")
    open_memory(pg_url).close()
    with pg_server.admin(database) as db:
        db.execute("UPDATE zhen_schema SET version = 99")
    line = one_line_error(stats(pg_url))
    assert line == (f"zhen: error: the memory at {mask_password(pg_url)} was made by a newer "
                    "zhen (schema 99); upgrade zhen")
    # `zhen translate` says the same before it reads anything
    res = run_zhen(["translate", "x.txt", "-o", tmp_path / "out", "--memory", pg_url],
                   zhen_env)
    one_line_error(res, "was made by a newer zhen (schema 99)")


def many_sentences(n: int, start: int = 0) -> str:
    """n distinct sentences, ten a line."""
    lines = []
    for i in range(start, start + n, 10):
        lines.append("".join(f"第{j}号报告指出城市规划必须重视韧性。" for j in range(i, i + 10)))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("keep_going", [[], ["--keep-going"]], ids=["", "keep-going"])
def test_a_server_lost_mid_run_fails_the_run_in_one_line(work, pg_server, tei_validator,
                                                         keep_going):
    """The server drops zhen's connection once the memory holds 700 entries (the second
    window of 500 sentences): the run stops with one line (with --keep-going too: no file
    is to blame); the first output is complete and valid, the others not written, no
    temporary file left; what was stored is kept, and a rerun continues from there."""
    tmp, _model, env, _g = work
    for k in range(3):
        (tmp / "in" / f"long{k}.txt").write_text(many_sentences(400, 400 * k), encoding="utf-8")
    url = env["ZHEN_MEMORY"]
    open_memory(url).close()  # the tables, for the trigger
    with pg_server.admin(url.rsplit("/", 1)[1]) as db:
        db.execute("""CREATE FUNCTION go_away() RETURNS trigger AS $$
            BEGIN
                IF (SELECT count(*) FROM tm) >= 700 THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        db.execute("CREATE TRIGGER go_away BEFORE INSERT ON tm FOR EACH ROW "
                   "EXECUTE FUNCTION go_away()")
    inputs = [f"in/long{k}.txt" for k in range(3)]
    started = time.monotonic()
    res = translate(work, *inputs, extra=keep_going)
    line = one_line_error(res, f"{mask_password(url)}: lost the connection to the PostgreSQL "
                               "server", "what was stored before is kept")
    assert_no_password(pg_server, line)
    assert time.monotonic() - started < 120
    out = tmp / "out"
    assert sorted(p.name for p in out.iterdir()) == ["long0.tei.xml"]
    tei_validator(out / "long0.tei.xml")
    with pg_server.admin(url.rsplit("/", 1)[1]) as db:
        (kept,) = db.execute("SELECT count(*) FROM tm").fetchone()
        assert 500 <= kept <= 700
        db.execute("DROP TRIGGER go_away ON tm")
    if keep_going:
        return  # the rerun is the same with or without --keep-going: checked once
    rerun = numbers(translate(work, *inputs))
    assert rerun["memory"] == kept and rerun["decoded"] == 1200 - kept
