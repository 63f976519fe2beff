"""The documents of a review folder: listing, state for the page, saving a sentence.

Only regular files named `*.tei.xml` directly in the folder are served, and only when they
resolve inside it (a link pointing out of the folder is refused).  A file is reviewable
when zhen would overwrite it (edits.inspect_output: well-formed, zhen's invariants hold,
its Chinese side unchanged); otherwise it is listed with the reason and never written.
A document's version is the sha256 of its bytes (zhen.filelock.version_of): a save names
the version it was made on (as HTTP's If-Match does) and is refused when the file has
changed since; the check and the write hold the file's lock, which every writer of a TEI
takes, so a run cannot write the file between them.  Saving goes
through edits.apply_edits (the English marked human, terms re-located, the memory
updated, the file rewritten atomically, its QA findings recorded again).

Not thread-safe: the app runs every call on one worker thread, so saves never overlap.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from zhen.document import Document, Sentence
from zhen.errors import StaleFile, ZhenError
from zhen.filelock import locked
from zhen.memory.base import Memory
from zhen.qa.checks import CHECKS, Finding
from zhen.qa.run import Counts, check_documents, of_document
from zhen.scores import low_score_threshold

SUFFIX = ".tei.xml"
MAX_ENGLISH = 20_000  # characters of one sentence's English


class Refused(Exception):
    """A request the workbench turns down: HTTP status, a short code, a message for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Entry:
    """One file of the folder as the workbench sees it."""

    name: str
    reviewable: bool
    reason: str = ""  # why not reviewable
    doc: Document | None = None
    version: str = ""  # sha256 of the bytes the document was read from


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


class Folder:
    """The review folder: its entries (cached while a file's stat is unchanged)."""

    def __init__(self, root: str | Path, memory: Memory | None = None,
                 translator: str = ""):
        self.root = Path(root).resolve()
        self.memory = memory
        self.translator = translator
        self._cache: dict[str, tuple[tuple[int, int, int], Entry]] = {}

    # -- files ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir()
                          if p.name.endswith(SUFFIX) and not p.name.startswith("."))
        except OSError as exc:
            raise Refused(500, "folder", f"{self.root}: cannot list ({exc.strerror})") from None

    def resolve(self, name: str) -> Path:
        """The path of a document by its file name; Refused for anything but a `*.tei.xml`
        file directly in the folder (no separators, no '..', no link out of it)."""
        if (not name or "/" in name or "\\" in name or "\0" in name or name.startswith(".")
                or not name.endswith(SUFFIX)):
            raise Refused(404, "not-found", f"{name!r}: not a document of this folder")
        path = self.root / name
        real = Path(os.path.realpath(path))
        if real.parent != self.root:
            raise Refused(403, "outside", f"{name}: links to a file outside the review "
                                          "folder; it is not served")
        if not real.is_file():
            raise Refused(404, "not-found", f"{name}: no such document in the folder")
        return path

    def entry(self, name: str) -> Entry:
        """The entry of one file, read again if it changed on disk."""
        try:
            path = self.resolve(name)
        except Refused as exc:
            if exc.code == "outside":
                return Entry(name, False, "a link to a file outside the review folder")
            raise
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._cache.get(name)
        if cached and cached[0] == key:
            return cached[1]
        entry = self._read(name, path)
        self._cache[name] = (key, entry)
        return entry

    def _read(self, name: str, path: Path) -> Entry:
        from zhen.tei.edits import inspect_output

        version = sha256_file(path)
        try:
            found = inspect_output(path, self.memory)
        except ZhenError as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            reason = reason.split("; zhen will not overwrite")[0]
            return Entry(name, False, reason, version=version)
        return Entry(name, True, doc=found.doc, version=version)

    def entries(self) -> list[Entry]:
        return [self.entry(n) for n in self.names()]

    # -- what the page shows -------------------------------------------------------------

    def findings(self, entry: Entry) -> list[Finding]:
        """QA findings of a reviewable document, the corpus check across the folder."""
        others = [e.doc for e in self.entries() if e.reviewable and e.name != entry.name]
        return [f for f in check_documents([entry.doc, *others]) if f.doc_id == entry.doc.id]

    def listing(self) -> dict:
        entries = self.entries()
        docs = [e.doc for e in entries if e.reviewable]
        findings = check_documents(docs) if docs else []
        items = []
        for e in entries:
            item = {"name": e.name, "reviewable": e.reviewable, "reason": e.reason}
            if e.reviewable:
                mine = [f for f in findings if f.doc_id == e.doc.id]
                sentences = e.doc.sentences()
                item.update(title=e.doc.title, sentences=len(sentences),
                            human=sum(s.human for s in sentences),
                            flagged=len({f.sentence_id for f in mine}),
                            counts=Counts.of(mine).by_severity)
            items.append(item)
        return {"folder": str(self.root), "documents": items}

    def state(self, name: str) -> dict:
        """Everything the page needs to show and edit one document."""
        self.resolve(name)
        entry = self.entry(name)
        if not entry.reviewable:
            raise Refused(409, "not-reviewable", f"{name}: not reviewable: {entry.reason}")
        doc = entry.doc
        findings = self.findings(entry)
        by_sid = of_document(findings, doc)
        prov = doc.provenance
        return {
            "name": name,
            "version": entry.version,
            "title": doc.title,
            "synthetic": prov.package_synthetic,
            "model": f"{prov.package_name} {prov.package_version}".strip(),
            "terms": {t.id: {"zh": t.zh, "rendering": t.rendering, "note": t.note}
                      for t in doc.terms.values()},
            "checks": {c.id: {"severity": c.severity, "description": c.description}
                       for c in CHECKS.values()},
            "counts": Counts.of(findings).by_severity,
            "low_score": low_score_threshold(),  # the page's filter starts at QA's threshold
            "paragraphs": [{"id": p.id, "sentences": [_sentence(s, by_sid.get(s.id, ()))
                                                      for s in p.sentences]}
                           for p in doc.paragraphs],
        }

    # -- saving --------------------------------------------------------------------------

    def save(self, name: str, sentence_id: str, english: str, if_match: str) -> dict:
        """Replace one sentence's English as a person's translation, if the file is still
        the version `if_match`; QA runs again.  Returns the new state, with "saved"."""
        from zhen.tei.edits import apply_edits

        path = self.resolve(name)
        english = english.strip()
        if not english:
            raise Refused(422, "empty", "an empty translation is not saved: write the "
                                        "English, or press Escape to leave it as it was")
        if len(english) > MAX_ENGLISH:
            raise Refused(413, "too-large", f"a sentence of more than {MAX_ENGLISH} "
                                            "characters is not saved")
        stale = Refused(409, "stale", f"{name} changed on disk since you opened it (another "
                                      "reviewer's save or a make run): your edit was not "
                                      "saved. Copy it, reload the document and redo it.")
        if sha256_file(path) != if_match:
            raise stale
        self._check(name, sentence_id)
        with locked(path):  # no run, import or save writes it between the check and the save
            if sha256_file(path) != if_match:
                raise stale
            self._check(name, sentence_id)
            try:
                others = [e.doc for e in self.entries() if e.reviewable and e.name != name]
                apply_edits(path, {sentence_id: english}, self.memory, self.translator,
                            origin=f"review {name}", corpus=others, if_match=if_match)
            except StaleFile:
                raise stale from None
            except ZhenError as exc:
                raise Refused(422, "refused", str(exc)) from None
        state = self.state(name)
        state["saved"] = sentence_id
        return state

    def _check(self, name: str, sentence_id: str) -> None:
        """Refused unless the document is reviewable and has the sentence."""
        entry = self.entry(name)
        if not entry.reviewable:
            raise Refused(409, "not-reviewable", f"{name}: not reviewable: {entry.reason}")
        if sentence_id not in {s.id for s in entry.doc.sentences()}:
            raise Refused(404, "no-sentence", f"{name} has no sentence {sentence_id!r}")


def _sentence(s: Sentence, findings) -> dict:
    return {
        "id": s.id,
        "zh": s.zh,
        "en": s.en,
        "origin": s.origin.value,
        "translator": s.translator,
        "score": None if s.human else s.score,  # the model's (zhen.scores); None: none
        "terms": [{"term": o.term_id, "status": o.status.value if o.status else "none",
                   "start": o.start, "end": o.end, "en_start": o.en_start, "en_end": o.en_end}
                  for o in s.terms],
        "findings": [{"check": f.check, "severity": f.severity, "detail": f.detail}
                     for f in findings],
    }
