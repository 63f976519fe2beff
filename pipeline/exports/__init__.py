"""Exports built from TEI files read back (so a translator's edits flow into them).

`FORMATS` maps each `zhen export` format to its description and its writer: a new format
is one module here and one entry in FORMATS.  Every writer takes the TEI paths, the output
location and the ExportOptions, and returns the paths written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from zhen.exports.corpus import build_corpus
from zhen.exports.omegat import export_omegat
from zhen.exports.parallel import export_cesalign, export_moses, export_tmx
from zhen.exports.vrt import export_vrt
from zhen.exports.xliff import export_xliff


@dataclass(frozen=True)
class ExportOptions:
    corpus_name: str = "zhen"  # vrt
    memory: object | None = None  # a TranslationMemory: fuzzy matches (xliff), pre-filling (omegat)
    rainbow: bool = False  # xliff: target = copy of the source, the English as alt-trans


@dataclass(frozen=True)
class ExportFormat:
    help: str
    output: str  # what -o names
    write: Callable[[Sequence[Path], str | Path, ExportOptions], list[Path]]  # str: "dir/"


FORMATS: dict[str, ExportFormat] = {
    "tmx": ExportFormat("TMX 1.4b file for CAT tools and Sketch Engine", "file",
                        lambda tei, out, o: export_tmx(tei, out)),
    "vrt": ExportFormat("<name>.zh.vrt, <name>.en.vrt and cwb-align-encode files for "
                        "CWB/NoSketch", "folder",
                        lambda tei, out, o: export_vrt(tei, out, o.corpus_name)),
    "moses": ExportFormat("PREFIX.zh and PREFIX.en, line-aligned plain text (in a folder: "
                          "<name>.zh, <name>.en)", "prefix",
                          lambda tei, out, o: export_moses(tei, out, o.corpus_name)),
    "cesalign": ExportFormat("XCES cesAlign file (plus zh/ and en/ sentence files) as OPUS "
                             "reads", "file", lambda tei, out, o: export_cesalign(tei, out)),
    "xliff": ExportFormat("one XLIFF 1.2 file per document for CAT tools (OmegaT, Trados, "
                          "memoQ); `zhen import xliff` brings the edits back", "folder",
                          lambda tei, out, o: export_xliff(tei, out, o.memory, o.rainbow)),
    "omegat": ExportFormat("a ready OmegaT project (a new folder); `zhen import omegat` "
                           "brings the translator's work back", "folder",
                           lambda tei, out, o: export_omegat(tei, out, o.memory)),
}

__all__ = ["FORMATS", "ExportFormat", "ExportOptions", "build_corpus", "export_cesalign",
           "export_moses", "export_omegat", "export_tmx", "export_vrt", "export_xliff"]
