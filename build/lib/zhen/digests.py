"""One home for the hashes and text normal forms zhen compares things by.

- `file_sha256`: a file's bytes (inputs, packages, schemas).
- `normalise_sentence`: the form of a Chinese sentence that the translation memory keys on
  (Unicode NFC, white space collapsed and stripped; nothing else: traditional and simplified,
  full and half width stay different sentences).
- `english_digest`: what zhen wrote as a sentence's English, recorded in the TEI so that a
  person's edit can be told from zhen's own output; white space and XML serialisation do
  not count as edits.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

_SPACE = re.compile(r"\s+")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks (raises OSError)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def normalise_sentence(text: str) -> str:
    """NFC, runs of white space as one space, outer space stripped."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def english_digest(text: str) -> str:
    """16 hex digits of sha256 over the normalised English text."""
    return hashlib.sha256(normalise_sentence(text).encode()).hexdigest()[:16]


def short_digest(text: str) -> str:
    """8 hex digits of sha256: a stable name for a string (e.g. a translator's xml:id)."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class ChineseDigest:
    """sha256 of a document's Chinese side, paragraph by paragraph as it is written, so that
    a Chinese side changed by hand can be told from the one zhen wrote."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def add(self, paragraph: str) -> None:
        self._sha.update(paragraph.encode("utf-8") + b"\n")

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def chinese_digest(paragraphs: list[str]) -> str:
    """The ChineseDigest of whole paragraphs' texts."""
    digest = ChineseDigest()
    for text in paragraphs:
        digest.add(text)
    return digest.hexdigest()
