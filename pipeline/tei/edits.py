"""People's translations in zhen's TEI: found, kept in the memory, carried into rewrites.

zhen records in every English `s` a digest of the English it wrote (tei.DIGEST_PREFIX), so
an edit made in the file since then shows on reading it back (tei.is_edited), and a
sentence a person translated carries @resp.  Before zhen overwrites an output it calls
`inspect_output`: a file that no longer satisfies zhen's invariants, or whose Chinese side
was changed by hand, is refused (it may hold work zhen cannot place); otherwise its human
sentences are returned, to go into the memory and into the new file.  `apply_edits` is the
one path by which a translator's corrections from outside (XLIFF, the review workbench)
reach a TEI: the English is replaced, marked human, its renderings re-located, the memory
updated, the file rewritten atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zhen import env
from zhen.digests import chinese_digest, normalise_sentence
from zhen.document import Document, Origin, Sentence, TermStatus
from zhen.errors import OutputError, StaleFile, TeiError
from zhen.memory.base import HumanTranslation, Memory, StoreCounts
from zhen.tei.body import tei_bytes
from zhen.tei.read import is_edited, parse_tei
from zhen.terminology.renderings import locate_renderings
from zhen.xmlsafe import tei_parser


def translator_name() -> str:
    """Who edits, as named to zhen: $ZHEN_TRANSLATOR ("" when unset)."""
    return env.translator()


@dataclass
class ExistingOutput:
    """A TEI zhen is about to overwrite, read back, with the people's sentences in it."""

    path: Path
    doc: Document
    human: list[Sentence] = field(default_factory=list)  # every human sentence in it
    edited: list[Sentence] = field(default_factory=list)  # of those, edited since zhen wrote

    def keys(self) -> set[str]:
        return {normalise_sentence(s.zh) for s in self.human}

    def translations(self, glossary_sha256: str = "") -> tuple[list[HumanTranslation], ...]:
        """(edited, carried): HumanTranslations of the sentences edited in the file and of
        those a person had translated before (already marked human)."""
        edited_ids = {id(s) for s in self.edited}
        made = ([], [])
        for s in self.human:
            fresh = id(s) in edited_ids
            made[0 if fresh else 1].append(HumanTranslation(
                source=s.zh, target=s.en or "",
                translator=translator_name() if fresh else s.translator,
                origin=f"edit {self.path.name}", glossary_sha256=glossary_sha256,
            ))
        return made


def inspect_output(path: Path, memory: Memory | None) -> ExistingOutput | None:
    """Read an output zhen is about to overwrite; None if there is none.

    Raises OutputError, leaving the file alone, when it cannot be read back safely: not
    well-formed, not zhen's, zhen's invariants broken (ids duplicated or missing, pointers
    dangling), or a Chinese side that differs from the one zhen wrote.  A file from a zhen
    that recorded no digests counts a sentence as edited where the memory does not hold its
    English as a machine translation; without a memory such a file is refused.
    """
    from zhen.tei.validate import check_invariants, parse_tei_file

    path = Path(path)
    if not path.exists():
        return None
    tree, problem = parse_tei_file(path)
    if problem is None:
        problems = check_invariants(path, tree)
        problem = problems[0] if problems else None
    if problem is not None:
        raise _refuse(path, f"line {problem.line}: {problem.message}")
    try:
        doc = parse_tei(tree.getroot(), path.name)
    except (KeyError, ValueError, AttributeError) as exc:
        raise _refuse(path, f"not a zhen TEI file ({exc})") from None
    recorded = doc.source.text_sha256
    if recorded and recorded != chinese_digest([p.zh for p in doc.paragraphs]):
        raise _refuse(path, "its Chinese side was changed by hand (it no longer matches the "
                      "digest in the header); change the input file instead")
    sentences = doc.sentences()
    found = ExistingOutput(path, doc)
    legacy = not any(s.written_digest for s in sentences)
    if legacy and memory is None:
        raise _refuse(path, "written by an older zhen that recorded no digests, so edits "
                      "in it cannot be told without the translation memory; run without "
                      "--no-memory")
    for s in sentences:
        if legacy and (s.en or "").strip() and not memory.is_machine_output(s.zh, s.en):
            mark_human(s, doc, s.en, translator_name())
        if s.human:
            found.human.append(s)
            if legacy or is_edited(s):
                found.edited.append(s)
    return found


def _refuse(path: Path, reason: str) -> OutputError:
    return OutputError(f"{path}: {reason}; zhen will not overwrite a TEI that may hold human "
                       "edits: fix it (zhen validate), or move it away to retranslate")


def mark_human(sentence: Sentence, doc: Document, english: str, translator: str) -> None:
    """Make `english` a person's translation of `sentence`; renderings re-located (EDITED
    where present, else MISSED: never rewritten)."""
    sentence.en = english
    sentence.origin = Origin.HUMAN
    sentence.translator = translator
    sentence.qa = ()  # the checks ran on the old English; they run again on the new one
    sentence.score = None  # the model's score was of the old English
    locate_renderings(sentence, doc.terms, TermStatus.EDITED)


@dataclass
class EditResult:
    path: Path
    changed: int = 0  # sentences whose English was replaced
    unchanged: int = 0  # given, but the same as the file's English
    memory: StoreCounts = field(default_factory=StoreCounts)


def apply_edits(
    path: Path,
    edits: Mapping[str, str],
    memory: Memory | None,
    translator: str = "",
    origin: str = "",
    sources: Mapping[str, str] | None = None,
    corpus: Sequence[Document] = (),
    translators: Mapping[str, str] | None = None,
    if_match: str | None = None,
) -> EditResult:
    """Replace the English of sentences (by sentence id, e.g. "p1.s2") in the TEI at
    `path` with a person's translation, store them in the memory and rewrite the file
    atomically.  `sources` gives the Chinese each edit was made for: every one must still
    be the file's.  Raises TeiError, writing nothing, for an id the file does not have or
    a Chinese sentence that differs.  The QA checks run again on the file written
    (`corpus`: the other documents, for the cross-document check).  `translators` names
    the person of each sentence id where they differ (`translator` for the others).

    The read, the checks and the write hold the file's lock (zhen.filelock), so no run,
    save or import writes it meanwhile.  `if_match`: the version (filelock.version_of) the
    edits were made on, as the review's If-Match: StaleFile, writing nothing, when the file
    is another.  Without it, edits that meet a file changed by a program that takes no
    lock (an editor) are made again on the new file."""
    from zhen.filelock import locked, version_of

    path = Path(path)
    with locked(path):
        for attempt in range(3):
            read = version_of(path)
            if if_match is not None and read != if_match:
                raise StaleFile(f"{path} changed on disk since the version edited; nothing "
                                "was written")
            try:
                return _apply_edits(path, edits, memory, translator, origin, sources,
                                    corpus, translators, read)
            except StaleFile:
                if if_match is not None or attempt == 2:
                    raise
    raise AssertionError("unreachable")


def _apply_edits(path: Path, edits, memory, translator, origin, sources, corpus,
                 translators, read: str | None) -> EditResult:
    """apply_edits on the file of version `read`, under its lock."""
    from zhen.filelock import write_guarded

    existing = inspect_output(path, memory)
    if existing is None:
        raise TeiError(f"{path}: no such TEI file")
    doc = existing.doc
    by_id = {s.id: s for s in doc.sentences()}
    unknown = [sid for sid in edits if sid not in by_id]
    if unknown:
        raise TeiError(f"{path}: has no sentence {unknown[0]!r}; was it exported from "
                       "another version of this file?")
    for sid, zh in (sources or {}).items():
        if sid in by_id and normalise_sentence(zh) != normalise_sentence(by_id[sid].zh):
            raise TeiError(f"{path}: sentence {sid} is no longer {zh!r} but "
                           f"{by_id[sid].zh!r}; export the XLIFF again and redo its edits")
    result = EditResult(Path(path))
    stored = []
    glossary = doc.provenance.glossary_sha256
    for sid, english in edits.items():
        s = by_id[sid]
        if normalise_sentence(english) == normalise_sentence(s.en or "") and s.human:
            result.unchanged += 1
            continue
        if not english.strip():
            raise TeiError(f"{path}: the translation given for {sid} is empty; "
                           "leave a sentence out instead of emptying it")
        who = (translators or {}).get(sid, translator)
        mark_human(s, doc, english, who)
        result.changed += 1
        stored.append(HumanTranslation(s.zh, english, who, origin, glossary))
    edited, _ = existing.translations(glossary)
    if result.changed or existing.edited:
        from lxml import etree
        from zhen.qa.annotate import annotate_tree

        # the QA findings of the new English, recorded before the one write
        tree = etree.ElementTree(etree.fromstring(tei_bytes(doc), tei_parser()))
        annotate_tree(tree, Path(path).name, corpus)
        write_guarded(path, etree.tostring(tree, xml_declaration=True, encoding="UTF-8"),
                      read)
    if memory is not None:  # after the write: an edit refused there is in neither
        result.memory = memory.store_human([*edited, *stored])
    return result



APPROVED_STATES = frozenset({"translated", "final", "signed-off"})


def xliff_edits(units, tei: Document) -> dict[str, str]:
    """The targets of XLIFF units that are a person's work: changed from the TEI's English,
    or confirmed (state translated, final or signed-off) where the TEI has a machine one;
    a target that is still a copy of the source (Rainbow convention) is none."""
    english = {s.id: s for s in tei.sentences()}
    edits = {}
    for unit in units:
        s = english.get(unit.id)
        if unit.target is None or not unit.target.strip():
            continue
        if normalise_sentence(unit.target) == normalise_sentence(unit.source):
            continue  # a copy of the source (the Rainbow convention): not translated yet
        changed = s is None or normalise_sentence(unit.target) != normalise_sentence(s.en or "")
        confirmed = unit.state in APPROVED_STATES and s is not None and not s.human
        if changed or confirmed:
            edits[unit.id] = unit.target
    return edits


def exported_document(xlf: Path, original: str, units, tei_dir: Path, unit: str = "unit",
                      exported: str = "it", again: str = "the XLIFF"):
    """(the path, the Document) of the TEI in `tei_dir` that `xlf`'s part (file/@original)
    was exported from, each of its `units` checked to be a sentence of it with the same
    Chinese; one TeiError line otherwise (`unit`, `exported`, `again`: the words for a
    unit, what was exported and what to export again)."""
    from zhen.tei.read import read_tei

    tei_path = Path(tei_dir) / Path(original).name
    if not tei_path.is_file():
        raise TeiError(f"{xlf}: its document {original} is not in {tei_dir}; "
                       f"give the folder {exported} was exported from with -o")
    doc = read_tei(tei_path)
    by_id = {s.id: s for s in doc.sentences()}
    for u in units:
        s = by_id.get(u.id)
        if s is None or normalise_sentence(u.source) != normalise_sentence(s.zh):
            found = "is not in it" if s is None else "has another Chinese sentence"
            raise TeiError(f"{xlf}: {unit} {u.id} {found} in {tei_path}; the TEI "
                           f"changed since the export: export {again} again")
    return tei_path, doc


def import_xliff(
    xliff_paths, tei_dir: Path, memory: Memory | None, translator: str = ""
) -> list[EditResult]:
    """Apply the translators' targets of XLIFF files to the TEI files in `tei_dir` they were
    exported from (file/@original), through `apply_edits`.  Every XLIFF is read and checked
    before any TEI is written: a missing TEI, an unknown unit or a changed source sentence
    refuses the whole import with one line."""
    from zhen.formats.xliff import read_xliff

    plans = []
    for xlf in map(Path, xliff_paths):
        for part in read_xliff(xlf):
            tei_path, doc = exported_document(xlf, part.original, part.units, tei_dir)
            edits = xliff_edits(part.units, doc)
            sources = {u.id: u.source for u in part.units if u.id in edits}
            plans.append((tei_path, edits, sources, f"xliff {xlf.name}"))
    return [apply_edits(tei_path, edits, memory, translator, origin, sources)
            for tei_path, edits, sources, origin in plans]
