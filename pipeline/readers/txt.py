"""Plain text (.txt): one paragraph per non-blank line, read as a stream (`TextStream`:
encodings, byte-order marks, CRLF, characters XML forbids), in bounded memory.

A first line that reads as a title (short, no final punctuation) is the document's title
and its first heading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zhen.document import DocumentInfo
from zhen.readers.base import Block, Opened, Reader, looks_like_title
from zhen.readers.text import TextStream


def open_txt(path: Path) -> Opened:
    stream = TextStream(path)
    opened = Opened((), DocumentInfo())

    def blocks() -> Iterator[Block]:
        for number, line in enumerate(stream.paragraphs(), start=1):
            if number == 1 and looks_like_title(line):
                opened.info = DocumentInfo(title=line)
                yield Block("head", line, 1)
            else:
                yield Block("p", line)
        opened.source = stream.info()

    opened.blocks = blocks()
    return opened


READER = Reader("txt", (".txt",), open_txt, "plain text, one paragraph per line")
