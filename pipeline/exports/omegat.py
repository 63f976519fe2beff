"""An OmegaT project of TEI documents, ready for a translator to open as it is.

`zhen export omegat output/*.tei.xml -o proj` writes (zhen.formats.omegat has the formats
and what OmegaT does with each folder):

    proj/omegat.project            zh-CN → en, a Chinese tokenizer, sentence segmentation off
    proj/omegat/filters.xml        the XLIFF filter with zhen's sentence ids as segment ids
    proj/omegat/project_save.tmx   people's translations (the TEI's, then the memory's) pre-filled
    proj/source/NAME.xlf           one XLIFF per document, the Rainbow convention (target = copy
                                   of the Chinese), glossary terms and QA findings as notes
    proj/tm/mt/zhen-machine.tmx    zhen's machine English: offered as matches, never inserted
    proj/tm/zhen-human.tmx         people's translations of similar sentences (fuzzy matches)
    proj/glossary/zhen-glossary.txt  the glossary entries of the documents, tab-separated
    proj/target/, tm/auto/, dictionary/  empty, as OmegaT makes them

`zhen import omegat proj -o output` (zhen.tei.omegat) brings the translator's work back.
The project is built in a temporary folder beside DIR and renamed, so it appears whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from zhen.digests import normalise_sentence
from zhen.errors import OutputError
from zhen.exports.common import TeiDoc, load_documents
from zhen.exports.parallel import add_tu, tmx_bytes, tmx_skeleton, tuid
from zhen.exports.xliff import xliff_name
from zhen.formats import omegat
from zhen.formats.xliff import render_xliff
from zhen.memory.base import HumanTranslation, Memory
from zhen.memory.fuzzy import suggest_translations
from zhen.qa.run import by_sentence, check_documents

MACHINE_TMX = "tm/mt/zhen-machine.tmx"
HUMAN_TMX = "tm/zhen-human.tmx"
GLOSSARY_TXT = "glossary/zhen-glossary.txt"


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; `zhen export omegat` writes a project folder: "
                          "give a new folder with -o")
    if out.is_dir() and any(out.iterdir()):
        raise OutputError(f"{out}: exists and is not empty (a project there may hold a "
                          "translator's work: `zhen import omegat` it first); give a new folder")


def _prefilled(docs: list[TeiDoc], memory: Memory | None
               ) -> tuple[list[omegat.SavedTranslation], set[int]]:
    """The project memory's entries: each sentence's human translation (the TEI's, else the
    memory's), a default translation for the first of each Chinese sentence, an alternative
    one (by file and sentence id) where the same Chinese has another translation elsewhere.
    Also the id()s of the sentences so pre-filled."""
    sentences = [(item, s) for item in docs for s in item.doc.sentences()]
    remembered: dict[str, HumanTranslation] = {}
    if memory is not None:
        remembered = memory.lookup_human([s.zh for _, s in sentences])
    entries: list[omegat.SavedTranslation] = []
    defaults: dict[str, str] = {}  # normalised Chinese → its default English
    filled: set[int] = set()
    for item, s in sentences:
        key = normalise_sentence(s.zh)
        if s.human and (s.en or "").strip():
            english, who, when = s.en, s.translator, omegat.tmx_date()
        elif key in remembered:
            found = remembered[key]
            english, who = found.target, found.translator
            when = omegat.tmx_date(found.created or None)
        else:
            continue
        filled.add(id(s))
        text = s.zh_text
        if key not in defaults:
            defaults[key] = english
            entries.append(omegat.SavedTranslation(text, english, who, who, when))
        elif normalise_sentence(defaults[key]) != normalise_sentence(english):
            entries.append(omegat.SavedTranslation(
                text, english, who, who, when, file=xliff_name(item.name), id=s.id))
    return entries, filled


def _machine_tmx(docs: list[TeiDoc], skip: set[int]) -> bytes:
    """zhen's English of every sentence not pre-filled, as a TMX for tm/mt/."""
    root, body = tmx_skeleton("zhen machine translation")
    for item in docs:
        for s in item.doc.sentences():
            if id(s) in skip or not (s.en or "").strip() or not s.zh_text:
                continue
            add_tu(body, s.zh_text, s.en.strip(), [("x-source", item.name),
                                                   ("x-origin", s.origin.value)],
                   tuid=tuid(item.doc.id, s.id))
    return tmx_bytes(root)


def _human_tmx(docs: list[TeiDoc], memory: Memory | None) -> bytes | None:
    """People's translations of sentences similar to the documents' (≥ 75 %), for OmegaT's
    fuzzy matches; None without a memory or without any."""
    if memory is None:
        return None
    human = memory.human_entries()
    root, body = tmx_skeleton("zhen human translations")
    seen: set[tuple[str, str]] = set()
    for item in docs:
        for matches in suggest_translations(item.doc.sentences(), human).values():
            for m in matches:
                if (m.source, m.target) not in seen:
                    seen.add((m.source, m.target))
                    add_tu(body, m.source.strip(), m.target.strip(),
                           [("x-origin", "human")])
    return tmx_bytes(root) if seen else None


def _glossary_rows(docs: Iterable[TeiDoc]) -> list[tuple[str, str, str]]:
    """One row per Chinese form of every glossary entry the documents use."""
    rows, seen = [], set()
    for item in docs:
        for term in item.doc.terms.values():
            note = f"zhen {term.id}" + (f": {term.note}" if term.note else "")
            for form in (term.zh, *term.variants):
                if form and (form, term.rendering) not in seen:
                    seen.add((form, term.rendering))
                    rows.append((form, term.rendering, note))
    return sorted(rows)


def _write(root: Path, relative: str, data: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def export_omegat(tei_paths: Iterable[str | Path], out_dir: str | Path,
                  memory: Memory | None = None) -> list[Path]:
    """Write the OmegaT project of the TEI files into the new folder `out_dir`; returns the
    files written.  Refuses (OutputError) a folder that exists and is not empty."""
    out = Path(out_dir)
    _check_target(out)
    docs = load_documents(tei_paths)
    findings = by_sentence(check_documents([item.doc for item in docs]))
    entries, filled = _prefilled(docs, memory)
    files: dict[str, bytes] = {
        omegat.PROJECT_FILE: omegat.render_project_file(),
        omegat.FILTERS_FILE: omegat.render_filters(),
        MACHINE_TMX: _machine_tmx(docs, filled),
        GLOSSARY_TXT: omegat.render_glossary(_glossary_rows(docs)),
    }
    if entries:
        files[omegat.PROJECT_SAVE] = omegat.render_project_save(entries)
    if (human := _human_tmx(docs, memory)) is not None:
        files[HUMAN_TMX] = human
    for item in docs:
        mine = {sid: found for (doc_id, sid), found in findings.items()
                if doc_id == item.doc.id}
        files[f"{omegat.SOURCE_DIR}/{xliff_name(item.name)}"] = render_xliff(
            item.doc, item.name, None, mine, rainbow=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for folder in omegat.FOLDERS:
            (work / folder).mkdir(parents=True, exist_ok=True)
        for relative, data in files.items():
            _write(work, relative, data)
        work.chmod(0o755)  # mkdtemp made it private
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.rename(work, out)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise OutputError(f"{out}: cannot write the project ({exc.strerror or exc})") from None
    return [out / relative for relative in sorted(files)]

