"""Outputs whose source is gone: a TEI left in output/ after its input left input/.

A zhen TEI names its source file in its header (the file name only), so an output is
*current* when a file of that name is in the sources folder and *stale* when there is none.
`make` reports stale outputs, `make corpus` leaves them out of the corpus, and `zhen prune`
removes them, but only after the people's translations in them are in the translation
memory (if that fails, nothing is removed).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from zhen.errors import InputError, OutputError, TeiError, ZhenError
from zhen.memory.base import Memory
from zhen.readers.text import display_name
from zhen.tei.read import read_tei_header


@dataclass
class Outputs:
    """The .tei.xml files of an output folder, by whether their source is still there."""

    current: list[Path] = field(default_factory=list)
    stale: list[tuple[Path, str]] = field(default_factory=list)  # (output, its source's name)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # (output, why): kept


def sort_outputs(out_dir: Path, sources: Path) -> Outputs:
    """The outputs in `out_dir`, sorted by whether the source file their header names is in
    the folder `sources`.  An output whose header cannot be read is neither (never removed)."""
    out_dir, sources = Path(out_dir), Path(sources)
    if not sources.is_dir():
        raise InputError(f"{sources}: no such folder (the inputs of {out_dir}/)")
    names = {display_name(p.name) for p in sources.iterdir() if p.is_file()}
    result = Outputs()
    for path in sorted(out_dir.glob("*.tei.xml")):
        try:
            source = read_tei_header(path).source.filename
        except TeiError as exc:
            result.unreadable.append((path, str(exc)))
            continue
        if source in names:
            result.current.append(path)
        else:
            result.stale.append((path, source))
    return result


def remove_outputs(paths: list[Path], memory: Memory) -> int:
    """Remove the TEI files `paths` after saving their human translations in `memory`
    (either backend); if saving fails, raise OutputError and remove nothing.  Returns how
    many human translations were saved (added, updated or already there)."""
    from zhen.filelock import locked, version_of
    from zhen.memory.transfer import import_translations

    if not paths:
        return 0
    read = {path: version_of(path) for path in paths}  # before reading: a later save shows
    try:
        report = import_translations(paths, memory)
    except (ZhenError, OSError, sqlite3.Error) as exc:
        raise OutputError(f"{exc}; the human translations could not be saved to the "
                          "translation memory, so nothing was removed") from None
    for path in paths:
        with locked(path):  # a save or run that wrote it since: its sentences saved too
            try:
                if version_of(path) != read[path]:
                    import_translations([path], memory)
                path.unlink(missing_ok=True)
            except (ZhenError, sqlite3.Error) as exc:
                raise OutputError(f"{exc}; the human translations could not be saved to "
                                  f"the translation memory, so {path} was not removed") \
                    from None
            except OSError as exc:
                raise OutputError(f"{path}: cannot remove it ({exc.strerror or exc})") \
                    from None
    c = report.counts
    return c.added + c.updated + c.unchanged + c.older
