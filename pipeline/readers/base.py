"""What every reader shares: the block it yields, the opened input, the reader record, and
the pure helpers that turn a format's headings into nested sections.

A reader turns one input file into a stream of `Block`s (paragraphs and headings, in
reading order) plus what it found about the document (`DocumentInfo`) and the file
(`SourceInfo`).  Readers never translate, segment or write; `zhen.readers.open_input`
adds the metadata given from outside the file and the heading structure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zhen.document import DocumentInfo, SourceInfo
from zhen.errors import InputError
from zhen.readers.text import strip_xml_forbidden

_LAYOUT_SPACE = re.compile(r"[ \t\n\r\f\v]+")


@dataclass(frozen=True)
class Block:
    """One paragraph (kind "p") or heading (kind "head") of a document.

    `level` is a heading's rank as the format gives it (h2 → 2, Word's Heading 1 → 1, the
    document title 0 or 1): only the order of the ranks matters (`nest_headings`)."""

    kind: str
    text: str
    level: int = 0


class Opened:
    """An input being read: `blocks` in reading order, and `info` (the document) and
    `source` (the file) — complete once the blocks are exhausted, since a streaming
    reader learns some of it (a title, the file's sha256) only as it reads."""

    def __init__(self, blocks: Iterable[Block], info: DocumentInfo,
                 source: SourceInfo | None = None):
        self.blocks: Iterator[Block] = iter(blocks)
        self.info = info
        self.source = source


@dataclass(frozen=True)
class Reader:
    """One input format: its name (for --format), the file suffixes it takes (lower case,
    with the dot) and `open`, which raises InputError, naming the file, for what it cannot
    read."""

    name: str
    suffixes: tuple[str, ...]
    open: Callable[[Path], Opened]
    description: str = ""


# -- text of blocks ---------------------------------------------------------------------


class Collector:
    """The blocks of a file read whole, with the characters XML 1.0 forbids counted."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.dropped = 0

    def add(self, kind: str, text: str, level: int = 0) -> None:
        """Add a paragraph or heading whose text may hold line breaks (<br>, Word's soft
        breaks): a paragraph gives one block per line, a heading one block.  Runs of ASCII
        white space (layout in HTML and Markdown) become one space and the ends are
        stripped; other white space inside (U+3000, no-break space) is text and stays."""
        lines = [text] if kind == "head" else text.splitlines()
        for line in lines:
            clean, dropped = strip_xml_forbidden(line)
            self.dropped += dropped
            clean = _LAYOUT_SPACE.sub(" ", clean).strip()
            if clean:
                self.blocks.append(Block(kind, clean, level))


# -- headings ----------------------------------------------------------------------------

_CN_NUMBER = "一二三四五六七八九十百零〇"
# Numbered headings of Chinese documents: 一、 (rank 2), （一） (rank 3), 第一章 (2), 第一节 (3).
_NUMBERED = (
    (re.compile(f"^第[{_CN_NUMBER}0-9]+[章篇编部]"), 2),
    (re.compile(f"^第[{_CN_NUMBER}0-9]+[节]"), 3),
    (re.compile(f"^[{_CN_NUMBER}]+、"), 2),
    (re.compile(f"^[（(][{_CN_NUMBER}]+[）)]"), 3),
)
_SENTENCE_MARK = re.compile(r"[。！？!?；;]")
_OPEN_END = re.compile(r"[，,：:、…—]$")
MAX_HEADING_CHARS = 40
MAX_TITLE_CHARS = 80
_TITLE_END = re.compile(r"[。！？；.!?;…：:，,]$")


def reads_as_heading(text: str) -> bool:
    """Short, no sentence inside it, not ending open (a colon, a comma)."""
    return (0 < len(text) <= MAX_HEADING_CHARS and not _SENTENCE_MARK.search(text)
            and not _OPEN_END.search(text))


def heading_rank(text: str) -> int | None:
    """The rank of a paragraph that reads as a numbered Chinese heading (一、背景, （二）措施,
    第三章 …) and as a heading (`reads_as_heading`); else None."""
    if not reads_as_heading(text):
        return None
    return next((rank for pattern, rank in _NUMBERED if pattern.match(text)), None)


def looks_like_title(text: str) -> bool:
    """A first line that reads as a title: short, without final punctuation."""
    return bool(text) and len(text) <= MAX_TITLE_CHARS and not _TITLE_END.search(text)


def numbered_headings(blocks: Iterable[Block]) -> Iterator[Block]:
    """Paragraphs that read as numbered headings (`heading_rank`) become headings."""
    for block in blocks:
        rank = heading_rank(block.text) if block.kind == "p" else None
        yield Block("head", block.text, rank) if rank is not None else block


def nest_headings(blocks: Iterable[Block]) -> Iterator[Block]:
    """Headings with their section depth as level (1 = outermost), from the ranks the
    format gave: a heading closes the open sections of its rank or below, then opens one."""
    open_ranks: list[int] = []
    for block in blocks:
        if block.kind != "head":
            yield block
            continue
        while open_ranks and open_ranks[-1] >= block.level:
            open_ranks.pop()
        open_ranks.append(block.level)
        yield Block("head", block.text, len(open_ranks))


# -- limits ------------------------------------------------------------------------------


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """A whole file's bytes, refused (InputError) above `limit` bytes: formats read whole
    stay within bounded memory."""
    from zhen.readers.text import _read_error

    name = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise _read_error(exc, name) from None
    if len(data) > limit:
        raise InputError(f"{name}: too large for a {what} ({len(data) - 1:,}+ bytes, at most "
                         f"{limit:,}); split it, or save its text as .txt (read as a stream)")
    return data
