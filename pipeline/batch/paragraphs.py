"""Read → segment → match terms: the paragraphs of an input, ready to translate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zhen.document import DocumentInfo, Paragraph, Sentence
from zhen.readers.text import display_name
from zhen.segment import segment_sentences
from zhen.terminology.matcher import TermMatcher, match_terms


def make_paragraph(number: int, text: str, matcher: TermMatcher, kind: str = "p",
                   level: int = 0) -> Paragraph:
    """Paragraph "p<number>" (heading "h<number>" for kind "head", "title" for the title):
    its sentences segmented and their glossary terms matched."""
    pid = {"p": f"p{number}", "head": f"h{number}"}.get(kind, kind)
    return Paragraph(
        id=pid,
        sentences=[
            Sentence(id=f"{pid}.s{n}", zh=zh, terms=match_terms(matcher, zh))
            for n, zh in enumerate(segment_sentences(text), start=1)
        ],
        kind=kind,
        level=level,
    )


def read_paragraphs(blocks, matcher: TermMatcher) -> Iterator[Paragraph]:
    """Paragraphs and headings of a reader's blocks, numbered apart (p1, p2, h1, …)."""
    counts = {"p": 0, "head": 0}
    for block in blocks:
        counts[block.kind] += 1
        yield make_paragraph(counts[block.kind], block.text, matcher, block.kind, block.level)


def document_title(info: DocumentInfo, path: Path) -> str:
    """The document's title: its metadata's, else the file's stem."""
    return info.title or display_name(Path(path).stem)
