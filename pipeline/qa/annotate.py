"""The I/O edge of QA: findings recorded in TEI files (`@ana`) and reported.

`annotate_tei` reads a TEI file back, runs the checks and records the findings as `@ana`
on the English `s` (pointing to the header's `zhen.qa` categories), rewriting the file
atomically only if they changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zhen.document import Document
from zhen.qa.checks import CHECKS, Finding, severity_rank
from zhen.qa.run import Counts, check_documents, flag_sentences, known_checks
from zhen.xmlsafe import tei_parser

# -- the TEI edge ----------------------------------------------------------------------------


@dataclass
class Annotation:
    """What annotate_tei did to one file."""

    path: Path
    findings: list[Finding]
    changed: bool  # the file was rewritten


def annotate_tei(path: str | Path, corpus: Sequence[Document] = (),
                 disabled: Iterable[str] = ()) -> Annotation:
    """Run the checks on the zhen TEI at `path` and record the findings as `@ana` on its
    English `s` (and the `zhen.qa` taxonomy in its header); the file is rewritten
    atomically, and only when that changes it.  `corpus`: other documents for the corpus
    check (the same Chinese sentence translated differently elsewhere).

    Only the QA attributes and the taxonomy change: the rest of the file stays as it was.
    Raises TeiError for a file that is not zhen's TEI.
    """
    import hashlib

    from lxml import etree
    from zhen.errors import TeiError
    from zhen.filelock import locked, write_guarded

    path = Path(path)
    found: dict = {}

    def annotated(_version=None) -> bytes | None:
        """The file as read now, with its findings (None: they are recorded already)."""
        try:
            data = path.read_bytes()
            tree = etree.ElementTree(etree.fromstring(data, tei_parser()))
        except (OSError, etree.XMLSyntaxError) as exc:
            raise TeiError(f"{path}: not well-formed XML ({exc})") from None
        found["read"] = hashlib.sha256(data).hexdigest()
        found["findings"], found["changed"] = annotate_tree(tree, path.name, corpus, disabled)
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8") \
            if found["changed"] else None

    with locked(path):  # read, check, write: one writer of this file at a time
        data = annotated()
        if data is not None:  # a version written meanwhile without the lock (an editor's)
            write_guarded(path, data, found["read"], merge=annotated)  # is annotated again
    findings, changed = found["findings"], found["changed"]
    return Annotation(path, findings, changed)


def annotate_tree(tree, name: str, corpus: Sequence[Document] = (),
                  disabled: Iterable[str] = ()) -> tuple[list[Finding], bool]:
    """`annotate_tei` on a parsed TEI tree, changed in place: (findings, whether the tree
    changed).  Raises TeiError for a tree that is not zhen's TEI."""
    from zhen.errors import TeiError
    from zhen.tei.header import mark_qa
    from zhen.tei.read import parse_tei

    try:
        doc = parse_tei(tree.getroot(), name)
    except (KeyError, ValueError, AttributeError) as exc:
        raise TeiError(f"{name}: not a zhen TEI file ({exc})") from None
    others = [d for d in corpus if d.id != doc.id]
    findings = [f for f in check_documents([doc, *others], disabled) if f.doc_id == doc.id]
    changed = flag_sentences(doc, findings)
    changed |= mark_qa(tree.getroot(), doc)
    return findings, changed


@dataclass
class Report:
    """The findings over some TEI files."""

    paths: dict[str, Path]  # document id → its file
    findings: list[Finding]
    annotated: list[Path] = field(default_factory=list)  # files rewritten with new @ana


def qa_files(paths: Sequence[str | Path], disabled: Iterable[str] = (),
             annotate: bool = False) -> Report:
    """Check TEI files (the corpus check across all of them); with `annotate`, record the
    findings in each file (annotate_tei)."""
    from zhen.exports.common import load_documents

    disabled = known_checks(disabled)
    items = load_documents(paths)
    by_id = {item.doc.id: Path(p) for item, p in zip(items, paths)}
    docs = [item.doc for item in items]
    report = Report(by_id, check_documents(docs, disabled))
    if annotate:
        for doc in docs:
            done = annotate_tei(by_id[doc.id], docs, disabled)
            if done.changed:
                report.annotated.append(done.path)
    return report


def sort_by_severity(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, document order kept within a severity (a stable sort)."""
    return sorted(findings, key=lambda f: severity_rank(f.severity))


def text_lines(report: Report, findings: Sequence[Finding]) -> list[str]:
    """One line per finding: FILE:SENTENCE: SEVERITY: CHECK: DETAIL."""
    return [f"{report.paths[f.doc_id]}:{f.sentence_id}: {f.severity}: {f.check}: {f.detail}"
            for f in findings]


def json_report(report: Report, findings: Sequence[Finding]) -> dict:
    """The report for tools: files, findings (with their file) and counts by severity."""
    return {
        "files": [str(p) for p in report.paths.values()],
        "checks": {c.id: {"severity": c.severity, "description": c.description}
                   for c in CHECKS.values()},
        "findings": [{"file": str(report.paths[f.doc_id]), "document": f.doc_id,
                      "sentence": f.sentence_id, "check": f.check, "severity": f.severity,
                      "detail": f.detail} for f in findings],
        "counts": Counts.of(findings).by_severity,
    }

