"""OpenCC conversions of glossary forms, remembered on disk.

Loading OpenCC's dictionaries for the four configurations zhen uses takes about 0.1 s, and
every zhen process that loads a glossary needed them: to lint it (t2s) and to derive the
other-script forms of its terms (s2t, s2tw, s2hk).  Inside `remembered()` (loading a
glossary, compiling its matcher) each conversion is looked up in a JSON file in the cache
folder, one per OpenCC version, and OpenCC is loaded only for a form not seen before; what
was new is written back at the end of the block.  Elsewhere (`zhen glossary suggest` over a
corpus) conversions are made as before and not kept.  The file is only a cache: unreadable,
damaged or unwritable, it is ignored.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MAX_ENTRIES = 200_000  # a glossary of ~40,000 terms; more is not kept
MAX_BYTES = 32 * 1024 * 1024


class _Memo:
    """The conversions known to this process, and whether any is not on disk yet."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.known: dict[str, dict[str, str]] | None = None  # config → text → result
        self.added = 0
        self.depth = 0  # remembered() blocks open (in any thread)
        self.lock = threading.Lock()  # for the fields above; `known` is read without it


_MEMO = _Memo()


@functools.cache
def _converter(config: str) -> Any:
    import opencc  # lazy: loading the dictionaries costs time

    return opencc.OpenCC(config)


def convert(config: str, text: str) -> str:
    """Run one OpenCC configuration ('s2t', 't2s', ...) over `text`; data ships in the wheel."""
    if _MEMO.depth == 0:
        return _converter(config).convert(text)
    found = _MEMO.known.get(config, {}).get(text)
    if found is None:
        found = _converter(config).convert(text)
        with _MEMO.lock:
            if sum(map(len, _MEMO.known.values())) < MAX_ENTRIES:
                _MEMO.known.setdefault(config, {})[text] = found
                _MEMO.added += 1
    return found


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, conversions come from (and new ones go to) the on-disk memo."""
    with _MEMO.lock:
        if _MEMO.depth == 0:
            path = _memo_path()
            if _MEMO.known is None or path != _MEMO.path:  # first use, or another cache
                _MEMO.path, _MEMO.known = path, _load(path)
        _MEMO.depth += 1
    try:
        yield
    finally:
        with _MEMO.lock:
            _MEMO.depth -= 1
            if _MEMO.depth == 0 and _MEMO.added:
                _save(_MEMO.path, _MEMO.known)
                _MEMO.added = 0


@functools.cache
def _opencc_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("OpenCC")
    except PackageNotFoundError:
        return None


def _memo_path() -> Path | None:
    from zhen.paths import cache_dir

    found = _opencc_version()
    return cache_dir() / f"opencc-{found}.json" if found else None


def _load(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    valid = isinstance(data, dict) and all(
        isinstance(table, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in table.items())
        for table in data.values())
    return data if valid else {}


def _save(path: Path | None, known: dict[str, dict[str, str]]) -> None:
    if path is None:
        return
    from zhen.writer import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(known, ensure_ascii=False).encode("utf-8"))
    except OSError:
        pass  # a read-only or full cache folder: the next process converts again
