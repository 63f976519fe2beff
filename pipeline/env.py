"""zhen's environment variables: the one place that reads them.

`VARIABLES` is the table the README's "Environment" section shows (a test keeps the two
the same); `value(NAME)` reads one.  The conventions of other tools that zhen honours
(`XDG_DATA_HOME`, `JAVA_HOME`, `PGCONNECT_TIMEOUT`) and the variable zhen sets in the
workers it starts are read here too, and are not zhen settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str  # for people: the README's table
    setting: bool = True  # False: another tool's convention, or zhen's own internal one


VARIABLES: tuple[Variable, ...] = (
    Variable("ZHEN_MODEL", "default `--model`"),
    Variable("ZHEN_GLOSSARY", "default `--glossary` (else `glossary/terms.tsv` here or in a "
             "folder above)"),
    Variable("ZHEN_CACHE_DIR", "zhen's cache (unpacked packages, schema, memory, OpenCC's "
             "conversions of the glossary's forms); default `~/.cache/zhen`"),
    Variable("ZHEN_MEMORY", "translation memory: a SQLite file, or a shared PostgreSQL "
             "database `postgresql://USER@HOST/DATABASE` (password from `PGPASSFILE`/"
             "`~/.pgpass` or `PGPASSWORD`)"),
    Variable("ZHEN_CLUSTER", "default `--cluster`: a Dask scheduler `tcp://HOST:PORT`, or "
             "`local:N`"),
    Variable("ZHEN_TRANSLATOR", "who edits (recorded with human translations and in the "
             "TEI's `respStmt`)"),
    Variable("ZHEN_LOW_SCORE", "the score below which the QA check `low-score` flags a "
             "machine translation (`zhen qa --low-score` for one check)"),
    Variable("ZHEN_SCHEMA_DIR", "where `tei_all.rng` is cached"),
    Variable("ARGOS_PACKAGES_DIR", "where `zhen model install` puts Argos packages "
             "(argostranslate's own setting)"),
    Variable("ZHEN_MODELS_DIR", "where `zhen model install` puts models of the other kinds "
             "(default: zhen's user data folder)"),
    Variable("ZHEN_LLM_MODELS", "the file of model servers registered with `zhen model add` "
             "(default: `models.json` in zhen's user config folder)"),
    Variable("XDG_DATA_HOME", "the user data folder (Argos packages' default home)", False),
    Variable("JAVA_HOME", "the Java that runs jing, where `java` is not on the PATH", False),
    Variable("PGCONNECT_TIMEOUT", "libpq's connection timeout (zhen's default: 10 s)", False),
    Variable("ZHEN_LOCAL_WORKER", "set by zhen in the workers of `--cluster local:N`", False),
)
_NAMES = frozenset(v.name for v in VARIABLES)


def value(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    if name not in _NAMES:
        raise KeyError(f"{name} is not in zhen.env.VARIABLES")
    return os.environ.get(name) or None


def api_key(name: str) -> str | None:
    """The API key of a model server, from the variable the user named for it
    (`zhen model add --api-key-env NAME`); None when it is unset or empty.  The key is
    sent to that server and never written anywhere."""
    return os.environ.get(name) or None


def translator() -> str:
    """Who edits, as named to zhen: $ZHEN_TRANSLATOR ("" when unset)."""
    return (value("ZHEN_TRANSLATOR") or "").strip()
