"""`zhen import omegat PROJECT -o output`: a translator's OmegaT work back into zhen's TEI.

The project is one `zhen export omegat` wrote.  What the translator did is OmegaT's project
memory, `omegat/project_save.tmx` (OmegaT saves it as they work); where a translated file in
`target/` (no older than that memory) has a sentence the memory does not, that is taken too.  Each segment is found
again as OmegaT finds it: an alternative translation by its file and id (zhen's sentence id)
or its neighbours, else the default translation of its Chinese.  Everything goes through
`apply_edits`, the one path of every human translation: marked human, with the translator
OmegaT recorded (`changeid`), terms re-located, the memory updated, QA run again.

Every file is read and checked before any TEI is written: a project that is none, another
language pair, a project memory that is hostile or broken, a source file whose document is
missing, or a segment whose Chinese is no longer the TEI's: one line naming it, nothing
written.  Importing the same project again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zhen.digests import normalise_sentence
from zhen.errors import InputError
from zhen.formats import omegat
from zhen.formats.xliff import XliffUnit, read_xliff
from zhen.memory.base import Memory
from zhen.tei.edits import EditResult, apply_edits, exported_document

XLIFF_SUFFIXES = (".xlf", ".xliff")


@dataclass
class OmegatImport:
    """What an import did: one EditResult per TEI file, and the project memory's entries
    that no segment of the project has (OmegaT keeps such "orphans" too)."""

    results: list[EditResult] = field(default_factory=list)
    orphaned: int = 0
    from_target: int = 0  # sentences taken from target/ files (not in the project memory)


@dataclass
class _Plan:
    tei: Path
    edits: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    translators: dict[str, str] = field(default_factory=dict)


class _Memory:
    """The project memory, indexed as OmegaT looks translations up."""

    def __init__(self, entries: Sequence[omegat.SavedTranslation]) -> None:
        self.defaults: dict[str, omegat.SavedTranslation] = {}
        self.by_id: dict[tuple[str, str], omegat.SavedTranslation] = {}
        self.by_context: dict[tuple[str, str, str, str], omegat.SavedTranslation] = {}
        self.used: set[int] = set()
        self.entries = entries
        for e in entries:  # a later entry wins, as when OmegaT reads the file
            key = normalise_sentence(e.source)
            if not e.alternative:
                self.defaults[key] = e
            elif e.id:
                self.by_id[(e.file, e.id)] = e
            else:
                self.by_context[(e.file, key, normalise_sentence(e.prev),
                                 normalise_sentence(e.next))] = e

    def find(self, file: str, unit: XliffUnit, prev: str, next_: str
             ) -> omegat.SavedTranslation | None:
        key = normalise_sentence(unit.source)
        found = self.by_id.get((file, unit.id))
        if found is not None and normalise_sentence(found.source) != key:
            found = None
        found = (found or self.by_context.get((file, key, normalise_sentence(prev),
                                                normalise_sentence(next_)))
                 or self.defaults.get(key))
        if found is not None:
            self.used.add(id(found))
        return found

    def orphaned(self) -> int:
        return sum(1 for e in self.entries if id(e) not in self.used)


def _source_files(project: omegat.ProjectInfo) -> list[Path]:
    if not project.source_dir.is_dir():
        raise InputError(f"{project.source_dir}: the project has no source folder; give the "
                         "folder `zhen export omegat` wrote")
    files = sorted(p for p in project.source_dir.rglob("*")
                   if p.suffix.lower() in XLIFF_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{project.source_dir}: no XLIFF files; zhen imports the projects "
                         "`zhen export omegat` wrote")
    return files


def _translated_targets(path: Path, project_save: Path) -> dict[str, str]:
    """The units of a translated file in target/ whose target is no copy of the source; none
    when the file is older than the project memory (made before the translator's last
    changes, it may hold a translation they since took back)."""
    if not path.is_file():
        return {}
    if project_save.is_file() and path.stat().st_mtime < project_save.stat().st_mtime:
        return {}
    found = {}
    for part in read_xliff(path):
        for unit in part.units:
            text = (unit.target or "").strip()
            if text and normalise_sentence(text) != normalise_sentence(unit.source):
                found[unit.id] = text
    return found


def plan_import(project_dir: Path, tei_dir: Path, translator: str = ""
                ) -> tuple[list[_Plan], _Memory, int]:
    """Read and check everything; the edits to make per TEI file."""
    project = omegat.read_project(project_dir)
    sources = _source_files(project)
    saved = (omegat.read_project_save(project.project_save)
             if project.project_save.is_file() else [])
    memory = _Memory(saved)
    plans: list[_Plan] = []
    from_target = 0
    for xlf in sources:
        relative = xlf.relative_to(project.source_dir).as_posix()
        targets = _translated_targets(project.target_dir / relative, project.project_save)
        for part in read_xliff(xlf):
            units = [u for u in part.units if u.source.strip()]
            tei_path, _ = exported_document(xlf, part.original, units, tei_dir, "segment",
                                            "the project", "the project")
            plan = _Plan(tei_path)
            for i, unit in enumerate(units):
                prev = units[i - 1].source if i else ""
                next_ = units[i + 1].source if i + 1 < len(units) else ""
                entry = memory.find(relative, unit, prev, next_)
                if entry is not None:
                    english, who = entry.target.strip(), entry.translator or translator
                elif unit.id in targets:
                    english, who = targets[unit.id], translator
                    from_target += 1
                else:
                    continue
                plan.edits[unit.id] = english
                plan.sources[unit.id] = unit.source
                plan.translators[unit.id] = who
            plans.append(plan)
    return plans, memory, from_target


def import_omegat(project_dir: str | Path, tei_dir: str | Path,
                  memory: Memory | None, translator: str = "") -> OmegatImport:
    """Apply the translator's work in the OmegaT project `project_dir` to the TEI files in
    `tei_dir` it was exported from; `translator` names whoever OmegaT did not record."""
    project_dir = Path(project_dir)
    plans, saved, from_target = plan_import(project_dir, Path(tei_dir), translator)
    done = OmegatImport(orphaned=saved.orphaned(), from_target=from_target)
    origin = f"omegat {project_dir.resolve().name}"
    for plan in plans:
        done.results.append(apply_edits(plan.tei, plan.edits, memory, translator, origin,
                                        plan.sources, translators=plan.translators))
    return done
