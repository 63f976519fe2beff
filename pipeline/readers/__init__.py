"""Input formats behind one seam: a reader per format, chosen by file suffix or by name.

A format is one module of this package that defines ``READER`` (a `base.Reader`), and its
name in `FORMAT_NAMES`.  `open_input` is what the pipeline calls: the reader's
blocks with numbered headings recognised and sections nested, its document info with the
metadata given from outside the file on top (`metadata`), and the file's SourceInfo.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from zhen import bounds
from zhen.document import DocumentInfo, SourceInfo
from zhen.errors import InputError
from zhen.readers.base import Block, Opened, Reader, nest_headings, numbered_headings
from zhen.readers.metadata import apply_fields, check_manifests, external_fields, metadata_digest

__all__ = ["FORMAT_NAMES", "Block", "Opened", "Reader", "check_manifests", "formats", "open_input",
           "read_document", "read_texts", "reader_for", "suffixes", "metadata_fingerprint"]


FORMAT_NAMES = ("docx", "html", "md", "txt")  # the reader modules, imported when used


@functools.cache
def formats() -> dict[str, Reader]:
    """Every reader, by name, sorted."""
    found = {}
    for name in FORMAT_NAMES:
        reader = importlib.import_module(f"{__name__}.{name}").READER
        found[reader.name] = reader
    return dict(sorted(found.items()))


def suffixes() -> list[str]:
    """Every file suffix a reader takes, e.g. [".docx", ".htm", ".html", ".md", ".txt"]."""
    return sorted(s for reader in formats().values() for s in reader.suffixes)


def reader_for(path: Path, fmt: str | None = None) -> Reader:
    """The reader named `fmt`, else the one for the file's suffix (InputError if none)."""
    readers = formats()
    if Path(path).is_dir():
        raise InputError(f"{path}: is a folder with no input file in it; give "
                         f"{', '.join(suffixes())} files, or a folder that has some")
    if fmt:
        if fmt not in readers:
            raise InputError(f"{path}: no input format {fmt!r}; use one of "
                             f"{', '.join(readers)}")
        return readers[fmt]
    suffix = Path(path).suffix.lower()
    for reader in readers.values():
        if suffix in reader.suffixes:
            return reader
    what = ("a metadata file (read beside its inputs), not an input"
            if Path(path).name.endswith((".meta.json", "metadata.csv", "metadata.tsv"))
            else f"not a format zhen reads ({suffix or 'no suffix'})")
    raise InputError(f"{path}: {what}; give {', '.join(suffixes())} files, or name the "
                     "format with --format")


def metadata_fingerprint(path: Path, fmt: str | None = None) -> str:
    """The digest of what besides its bytes decides how `path` reads (metadata given
    outside it, the format asked for); InputError if that metadata cannot be used."""
    return metadata_digest(external_fields(Path(path)), fmt)


def open_input(path: Path, fmt: str | None = None) -> Opened:
    """Open one input: InputError (one line, naming the file) if it cannot be read.

    The blocks are the reader's, with numbered Chinese headings (一、…) made headings and
    every heading's level its section depth.  `info` (complete once the blocks are read)
    has the metadata of the manifest and sidecar over the reader's, and as title the first
    heading when neither gave one; `source` records the digest of that outside metadata."""
    path = Path(path)
    reader = reader_for(path, fmt)
    fields = external_fields(path)  # before reading: a bad manifest row stops it early
    with bounds.time_bound(bounds.READ_SECONDS, str(path)):  # whole-file readers read here
        opened = reader.open(path)
    result = Opened((), opened.info)

    def blocks() -> Iterator[Block]:
        first = None
        for block in nest_headings(numbered_headings(opened.blocks)):
            first = first or block
            yield block
        info = apply_fields(replace(opened.info, format=reader.name), fields)
        if not info.title and first is not None and first.kind == "head":
            info = replace(info, title=first.text)
        result.info = info
        result.source = replace(opened.source or SourceInfo("", "", ""),
                                meta_sha256=metadata_digest(fields, fmt))

    result.blocks = blocks()
    return result


def read_document(path: Path, fmt: str | None = None
                  ) -> tuple[list[Block], DocumentInfo, SourceInfo]:
    """A whole input at once: its blocks, document info and source (see open_input)."""
    opened = open_input(path, fmt)
    blocks = list(opened.blocks)
    assert opened.source is not None
    return blocks, opened.info, opened.source


def read_texts(path: Path, fmt: str | None = None) -> list[str]:
    """The texts of an input's paragraphs and headings, in order."""
    return [block.text for block in read_document(path, fmt)[0]]
