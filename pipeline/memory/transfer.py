"""Human translations in and out of the memory: TMX from any CAT tool, XLIFF, zhen's TEI.

`import_translations` loads approved translations (a TMX unit that zhen's own export marks
as machine output, an XLIFF target not yet translated, a TEI sentence not written by a
person: skipped); `export_translations` writes the memory as TMX 1.4b.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from zhen.document import Origin
from zhen.errors import InputError
from zhen.memory.base import HumanTranslation, Memory, StoreCounts
from zhen.tei.edits import APPROVED_STATES

MACHINE_ORIGINS = {Origin.MACHINE.value, Origin.MEMORY.value}


@dataclass
class ImportReport:
    counts: StoreCounts = field(default_factory=StoreCounts)
    skipped: int = 0  # units that are not an approved human translation of zh → en


def _tmx_time(stamp: str | None) -> float:
    """Seconds since the epoch of a TMX date (YYYYMMDDThhmmssZ); 0 if absent or malformed."""
    try:
        when = _dt.datetime.strptime(stamp or "", "%Y%m%dT%H%M%SZ")
    except ValueError:
        return 0.0
    return when.replace(tzinfo=_dt.timezone.utc).timestamp()


def read_translations(path: Path, translator: str = "") -> tuple[list[HumanTranslation], int]:
    """The human translations in one TMX, XLIFF or zhen TEI file, and how many units were
    skipped.  Raises InputError for another kind of file."""
    name = path.name.lower()
    found: list[HumanTranslation] = []
    skipped = 0
    if name.endswith(".tmx"):
        from zhen.formats.tmx import read_tmx

        units, skipped = read_tmx(path)
        for u in units:
            if (u.origin or "") in MACHINE_ORIGINS:
                skipped += 1
                continue
            found.append(HumanTranslation(u.zh, u.en, u.creationid or translator,
                                          f"tmx {path.name}", "", _tmx_time(u.changedate)))
    elif name.endswith((".xlf", ".xliff")):
        from zhen.formats.xliff import read_xliff

        for part in read_xliff(path):
            for u in part.units:
                if u.target and u.target.strip() and u.state in APPROVED_STATES:
                    found.append(HumanTranslation(u.source, u.target, translator,
                                                  f"xliff {path.name}"))
                else:
                    skipped += 1
    elif name.endswith(".xml"):
        from zhen.tei.read import read_tei

        doc = read_tei(path)
        for s in doc.sentences():
            if s.human:
                found.append(HumanTranslation(s.zh, s.en or "", s.translator or translator,
                                              f"edit {path.name}",
                                              doc.provenance.glossary_sha256))
            else:
                skipped += 1
    else:
        raise InputError(f"{path}: not a .tmx, .xlf/.xliff or .tei.xml file; zhen's memory "
                         "imports translations from those")
    return found, skipped


def import_translations(paths: Iterable[str | Path], memory: Memory,
                        translator: str = "") -> ImportReport:
    """Read every file first (a bad one imports nothing), then store their human
    translations in one transaction."""
    report = ImportReport()
    found: list[HumanTranslation] = []
    for path in map(Path, paths):
        items, skipped = read_translations(path, translator)
        found += items
        report.skipped += skipped
    report.counts = memory.store_human(found)
    return report


def export_translations(memory: Memory, out: Path, human_only: bool = False) -> int:
    """Write the memory's translations as TMX 1.4b (prop x-origin human or machine;
    creationid the translator; x-score the model's score where it has one); return how
    many units."""
    from zhen.exports.parallel import add_tu, score_props, tmx_bytes, tmx_skeleton
    from zhen.writer import write_atomic

    root, body = tmx_skeleton("zhen memory")
    count = 0
    for h in memory.human_entries():
        add_tu(body, h.source, h.target, [("x-origin", Origin.HUMAN.value)],
               creationid=h.translator, creationdate=_tmx_date(h.created))
        count += 1
    if not human_only:
        for source, target, package, created, score in memory.machine_entries():
            add_tu(body, source, target, [("x-origin", Origin.MACHINE.value),
                                          ("x-model", package), *score_props(score)],
                   creationdate=_tmx_date(created))
            count += 1
    write_atomic(Path(out), tmx_bytes(root))
    return count


def _tmx_date(seconds: float) -> str:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
