"""XLIFF 1.2 files for CAT tools, one per TEI document, with fuzzy human matches.

`zhen import xliff` (edits.import_xliff) brings the translator's targets back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from zhen.errors import OutputError
from zhen.exports.common import load_documents
from zhen.formats.xliff import render_xliff
from zhen.memory.base import Memory
from zhen.memory.fuzzy import suggest_translations
from zhen.qa.run import by_sentence, check_documents
from zhen.writer import write_atomic


def xliff_name(tei_name: str) -> str:
    """report.tei.xml → report.xlf"""
    return tei_name.removesuffix(".xml").removesuffix(".tei") + ".xlf"


def export_xliff(tei_paths: Iterable[str | Path], out_dir: str | Path,
                 memory: Memory | None = None, rainbow: bool = False) -> list[Path]:
    """Write OUT_DIR/<document>.xlf for each TEI file, QA findings as notes; with a memory,
    sentences without a human translation get the closest human ones (≥ 75%) as alt-trans
    proposals; `rainbow`: targets are copies of the source, the English alt-trans (for
    OmegaT's XLIFF filter, see formats.xliff.render_xliff)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; XLIFF export writes one .xlf per document "
                          "into a folder: give a folder with -o")
    docs = load_documents(tei_paths)
    findings = by_sentence(check_documents([item.doc for item in docs]))
    human = memory.human_entries() if memory is not None else []
    written = []
    for item in docs:
        suggestions = suggest_translations(item.doc.sentences(), human)
        path = out / xliff_name(item.name)
        mine = {sid: found for (doc_id, sid), found in findings.items()
                if doc_id == item.doc.id}
        write_atomic(path, render_xliff(item.doc, item.name, suggestions, mine, rainbow))
        written.append(path)
    return written
