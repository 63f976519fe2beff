"""Running the checks over documents, and grouping what they find."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from zhen.document import Document
from zhen.qa.checks import CHECKS, CORPUS, DOCUMENT, INFO, SENTENCE, SEVERITIES, Finding, finding

# -- running the checks ----------------------------------------------------------------------


def check_document_only(doc: Document, disabled: Iterable[str] = ()) -> list[Finding]:
    """The sentence and document checks of one document (no corpus check)."""
    off = known_checks(disabled)
    on = [c for c in CHECKS.values() if c.id not in off]
    found = []
    for s in doc.sentences():
        for check in on:
            if check.scope != SENTENCE or (check.id != "empty" and not (s.en or "").strip()):
                continue
            detail = check.run(s, doc)
            if detail:
                found.append(finding(doc, s, check.id, detail))
    for check in on:
        if check.scope == DOCUMENT:
            found += [finding(doc, s, check.id, detail) for s, detail in check.run(doc)]
    return found


def check_documents(docs: Sequence[Document], disabled: Iterable[str] = ()) -> list[Finding]:
    """Every check over `docs`; the corpus check compares all of them.  Findings come in
    document order, then sentence order, then check order."""
    off = known_checks(disabled)
    found = [f for doc in docs for f in check_document_only(doc, off)]
    for check in CHECKS.values():
        if check.scope == CORPUS and check.id not in off:
            found += check.run(docs)
    return sort_findings(found, docs)


def check_document(doc: Document, disabled: Iterable[str] = ()) -> list[Finding]:
    """Every check over one document (the corpus check within it)."""
    return check_documents([doc], disabled)


def sort_findings(findings: Iterable[Finding], docs: Sequence[Document]) -> list[Finding]:
    doc_order = {d.id: i for i, d in enumerate(docs)}
    sentence_order = {(d.id, s.id): i for d in docs for i, s in enumerate(d.sentences())}
    check_order = {c: i for i, c in enumerate(CHECKS)}
    return sorted(findings, key=lambda f: (doc_order.get(f.doc_id, len(doc_order)),
                                           sentence_order.get((f.doc_id, f.sentence_id), 0),
                                           check_order[f.check]))


def known_checks(disabled: Iterable[str]) -> frozenset[str]:
    """The ids in `disabled`, each checked to be a check's (ZhenError if not)."""
    off = frozenset(disabled)
    unknown = off - CHECKS.keys()
    if unknown:
        from zhen.errors import ZhenError

        raise ZhenError(f"no QA check {sorted(unknown)[0]!r}; the checks are: "
                        + ", ".join(CHECKS))
    return off


def by_sentence(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """Findings grouped by (document id, sentence id)."""
    out: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        out[(f.doc_id, f.sentence_id)].append(f)
    return dict(out)


def of_document(findings: Iterable[Finding], doc: Document) -> dict[str, list[Finding]]:
    """The findings of `doc` by sentence id."""
    return {sid: found for (did, sid), found in by_sentence(findings).items() if did == doc.id}


def flag_sentences(doc: Document, findings: Iterable[Finding]) -> bool:
    """Set each sentence's `qa` (the ids of the checks that flag it, in CHECKS order) from
    the findings for `doc`; True if any changed."""
    flagged: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        if f.doc_id == doc.id:
            flagged[f.sentence_id].add(f.check)
    changed = False
    for s in doc.sentences():
        checks = tuple(c for c in CHECKS if c in flagged.get(s.id, ()))
        if checks != s.qa:
            s.qa = checks
            changed = True
    return changed


@dataclass
class Counts:
    by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Counts:
        counts = cls()
        for f in findings:
            counts.by_severity[f.severity] += 1
        return counts

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    def __str__(self) -> str:
        return ", ".join(f"{n} {sev}{'s' if n != 1 and sev != INFO else ''}"
                         for sev, n in self.by_severity.items())


