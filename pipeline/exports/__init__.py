"""Exports built from TEI files read back (so a translator's edits flow into them).

`FORMATS` maps each `zhen export` format to its description and its writer: a new format
is one module here and one entry in FORMATS.  Every writer takes the TEI paths, the output
location and the ExportOptions, and returns the paths written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from zhen.memory.base import Memory


@dataclass(frozen=True)
class ExportOptions:
    corpus_name: str = "zhen"  # vrt
    memory: Memory | None = None  # fuzzy matches (xliff, omegat), pre-filling (omegat)
    rainbow: bool = False  # xliff: target = copy of the source, the English as alt-trans


@dataclass(frozen=True)
class ExportFormat:
    help: str
    output: str  # what -o names
    write: Callable[[Sequence[Path], str | Path, ExportOptions], list[Path]]  # str: "dir/"


def _module(name: str):
    """An export module, imported when its format is used (`zhen --help` imports none)."""
    return import_module(f"zhen.exports.{name}")


FORMATS: dict[str, ExportFormat] = {
    "tmx": ExportFormat("TMX 1.4b file for CAT tools and Sketch Engine", "file",
                        lambda tei, out, o: _module("parallel").export_tmx(tei, out)),
    "vrt": ExportFormat("<name>.zh.vrt, <name>.en.vrt and cwb-align-encode files for "
                        "CWB/NoSketch", "folder",
                        lambda tei, out, o: _module("vrt").export_vrt(tei, out, o.corpus_name)),
    "moses": ExportFormat("PREFIX.zh and PREFIX.en, line-aligned plain text (in a folder: "
                          "<name>.zh, <name>.en)", "prefix",
                          lambda tei, out, o: _module("parallel").export_moses(
                              tei, out, o.corpus_name)),
    "cesalign": ExportFormat("XCES cesAlign file (plus zh/ and en/ sentence files) as OPUS "
                             "reads", "file",
                             lambda tei, out, o: _module("parallel").export_cesalign(tei, out)),
    "xliff": ExportFormat("one XLIFF 1.2 file per document for CAT tools (OmegaT, Trados, "
                          "memoQ); `zhen import xliff` brings the edits back", "folder",
                          lambda tei, out, o: _module("xliff").export_xliff(
                              tei, out, o.memory, o.rainbow)),
    "omegat": ExportFormat("a ready OmegaT project (a new folder); `zhen import omegat` "
                           "brings the translator's work back", "folder",
                           lambda tei, out, o: _module("omegat").export_omegat(
                               tei, out, o.memory)),
}
