"""The translation memory: nothing is translated twice, no human translation is lost.

Where each part lives:
- `zhen.memory.base`: the abstract `Memory` (the rules and the SQL both backends share),
  its records (`HumanTranslation`, `StoreCounts`, `MemoryStats`) and `copy_memory`;
- `zhen.memory.sqlite`: `SqliteMemory`, a SQLite file (the default);
- `zhen.memory.postgres`: `PostgresMemory`, a PostgreSQL database that several machines
  share (for a `postgresql://` URL; psycopg is imported only then);
- `zhen.memory.keys`: the keys of machine translations;
- `zhen.memory.location`: file or server URL, and how messages name it (password masked);
- `zhen.memory.transfer`: human translations in and out (TMX, XLIFF, TEI);
- `zhen.memory.fuzzy`: fuzzy matches for translators.

This face picks the backend from the location (`open_memory`), so callers need no branch.
"""

from __future__ import annotations

from pathlib import Path

from zhen.env import value
from zhen.memory.base import Memory
from zhen.memory.location import is_server_url, mask_password
from zhen.paths import cache_dir


def default_memory_path() -> Path | str:
    """ZHEN_MEMORY (a file, or a postgresql:// URL kept as a string), else
    `memory.sqlite3` in zhen's cache folder."""
    env = value("ZHEN_MEMORY")
    if env and is_server_url(env):
        return env
    return Path(env) if env else cache_dir() / "memory.sqlite3"


def open_memory(location: str | Path, timeout: float = 60) -> Memory:
    """The translation memory at `location`: a `postgresql://` (or `postgres://`) URL
    opens a PostgreSQL database (psycopg is imported only then), anything else a SQLite
    file."""
    if is_server_url(location):
        try:
            from zhen.memory.postgres import PostgresMemory
        except ImportError as exc:  # installed without its dependencies, say
            from zhen.errors import MemoryServerError

            raise MemoryServerError(
                f"{mask_password(location)}: a PostgreSQL memory needs psycopg 3 ({exc}); "
                "pip install 'psycopg[binary]'") from None
        return PostgresMemory(str(location))
    from zhen.memory.sqlite import SqliteMemory

    return SqliteMemory(Path(location), timeout)
