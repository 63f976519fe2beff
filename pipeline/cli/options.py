"""Options shared by several commands, and the exception for "some files failed"."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from zhen import env


def glossary_option(f, find: bool = True):
    """--glossary, found as `glossary.find_glossary` says (with `find` False: left None
    when not given, for a command that may name the glossary otherwise)."""
    return click.option(
        "--glossary",
        "glossary_path",
        type=click.Path(path_type=Path),
        default=None,
        callback=_find_glossary if find else None,
        show_default="$ZHEN_GLOSSARY, else glossary/terms.tsv here or in a folder above",
        help="Glossary TSV file.",
    )(f)


def _find_glossary(ctx, param, value):
    from zhen.terminology.glossary import find_glossary

    return find_glossary(value)


class _MemoryLocation(click.ParamType):
    """A translation memory: a SQLite file (a Path), or a postgresql:// URL (kept a string:
    a Path would fold its //)."""

    name = "FILE|URL"

    def convert(self, value, param, ctx):
        if isinstance(value, Path) or str(value).startswith(("postgresql://", "postgres://")):
            return value
        return Path(value)


MEMORY = _MemoryLocation()
MEMORY_HELP = ("Translation memory: a SQLite file or a postgresql://USER@HOST/DATABASE URL "
               "[default: $ZHEN_MEMORY or the user cache].")


def memory_options(f):
    f = click.option("--no-memory", is_flag=True, help="Without the translation memory.")(f)
    return click.option("--memory", "memory_path", type=MEMORY, default=None,
                        help=MEMORY_HELP)(f)


def translator_option(f):
    return click.option("--translator", default=env.translator,
                        show_default="$ZHEN_TRANSLATOR",
                        help="Who made these translations (recorded with them).")(f)


@contextlib.contextmanager
def opened_memory(path: Path | None, off: bool):
    """The translation memory at `path` (default: $ZHEN_MEMORY or the cache), or None."""
    if off:
        yield None
        return
    from zhen.memory import default_memory_path, open_memory

    mem = open_memory(path or default_memory_path())
    try:
        yield mem
    finally:
        mem.close()


def model_option(f):
    return click.option(
        "--model", default=None,  # None: engines.resolve_model reads $ZHEN_MODEL
        help="Model: installed name, model folder (Argos package, OPUS-MT or NLLB-200/"
             "M2M-100 conversion), .argosmodel file, a model server's URL "
             "(http://HOST:PORT/v1) or name (zhen model add) [default: $ZHEN_MODEL, else the "
             "installed zh→en model].")(f)


def decoding_options(f):
    """The decoding settings as options, with the defaults and help of settings.py."""
    from zhen.settings import cli_fields

    types = {"int": (click.IntRange, int), "float": (click.FloatRange, float)}
    for field in reversed(cli_fields()):
        meta = field.metadata
        if "flag" in meta:  # a boolean that defaults to on: --no-… turns it off
            f = click.option(meta["flag"], field.name, flag_value=not field.default,
                             default=field.default, help=meta["flag_help"])(f)
            continue
        if "choices" in meta:
            kind = click.Choice(meta["choices"])
        else:
            make, _ = types[field.type]
            kind = make(meta.get("min"), meta.get("max"))
        f = click.option("--" + field.name.replace("_", "-"), field.name, type=kind,
                         default=field.default, show_default=True, help=meta["help"])(f)
    return f




class Failed(Exception):
    """Some files failed; each was already reported."""

