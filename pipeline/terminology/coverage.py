"""Glossary coverage: how often each term occurs, and how often the English honours it.

Over plain Chinese text files it counts occurrences and documents; over TEI files that
zhen wrote (read back, so human edits count) it also counts, per term, occurrences whose
English partner sentence contains the approved rendering (case and articles ignored).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from zhen.document import Document, TermStatus
from zhen.terminology.glossary import Glossary
from zhen.terminology.matcher import TermMatcher, match_terms
from zhen.terminology.renderings import allocate_renderings


@dataclass
class TermCoverage:
    term_id: str
    zh: str
    rendering: str
    occurrences: int = 0
    documents: int = 0
    translated: int = 0  # occurrences in TEI files (with an English side)
    compliant: int = 0  # … whose English has the approved rendering
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def compliance(self) -> float | None:
        return self.compliant / self.translated if self.translated else None


@dataclass
class CoverageReport:
    terms: list[TermCoverage]
    documents: int

    @property
    def translated(self) -> int:
        return sum(t.translated for t in self.terms)

    @property
    def compliant(self) -> int:
        return sum(t.compliant for t in self.terms)

    @property
    def compliance(self) -> float | None:
        return self.compliant / self.translated if self.translated else None

    @property
    def unseen(self) -> list[TermCoverage]:
        return [t for t in self.terms if t.occurrences == 0]


def coverage(
    glossary: Glossary,
    texts: Iterable[tuple[str, list[str]]] = (),
    documents: Iterable[Document] = (),
) -> CoverageReport:
    """Coverage of `glossary` over plain texts ((name, paragraphs)) and translated Documents.

    TEI documents are matched again with the current glossary; an occurrence counts as
    compliant when the partner English sentence holds the rendering (one per occurrence).
    A text whose paragraphs are those of one of the documents (an input given with its own
    TEI) is counted once, through the document.
    """
    documents = list(documents)
    translated = {tuple(p.zh for p in doc.paragraphs) for doc in documents}
    matcher = TermMatcher.from_glossary(glossary)
    terms = {t.id: t for t in glossary.terms}
    table = {t.id: TermCoverage(t.id, t.zh, t.rendering) for t in glossary.terms}
    n_docs = 0
    for _name, paragraphs in texts:
        if tuple(paragraphs) in translated:
            continue
        n_docs += 1
        seen = set()
        for para in paragraphs:
            for occ in match_terms(matcher, para):
                table[occ.term_id].occurrences += 1
                seen.add(occ.term_id)
        for tid in seen:
            table[tid].documents += 1
    for doc in documents:
        n_docs += 1
        seen = set()
        for s in doc.sentences():
            occs = match_terms(matcher, s.zh)
            spans = allocate_renderings(s.en or "", occs, terms) if s.en is not None else []
            recorded = {(o.start, o.end): o.status for o in s.terms}
            for i, occ in enumerate(occs):
                row = table[occ.term_id]
                row.occurrences += 1
                seen.add(occ.term_id)
                if s.en is None:
                    continue
                row.translated += 1
                if spans[i] is not None:
                    row.compliant += 1
                status = recorded.get((occ.start, occ.end)) or TermStatus.MISSED
                key = status.value if spans[i] is not None else TermStatus.MISSED.value
                row.by_status[key] = row.by_status.get(key, 0) + 1
        for tid in seen:
            table[tid].documents += 1
    rows = sorted(table.values(), key=lambda r: (-r.occurrences, r.term_id))
    return CoverageReport(rows, n_docs)


def is_tei(path: Path) -> bool:
    """A `.xml` file (TEI written by zhen) rather than a plain text input."""
    return Path(path).suffix.lower() == ".xml"
