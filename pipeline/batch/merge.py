"""When a run's output meets a newer file: the people's sentences in it win.

A run reads each existing output before it translates (`edits.inspect_output`) and
writes it minutes later.  If the file changed meanwhile (a review save, an import, another
run), `zhen.filelock.write_guarded` calls `merged` under the file's lock: the newer file is
read back the same way, its human sentences go into the memory and the run (those the run
had not seen count as edits: they win over the memory and over machine output), and the
run's TEI is rebuilt with them before it is written.  So a run never replaces a file whose
human sentences it has not seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhen.digests import normalise_sentence
from zhen.errors import OutputError
from zhen.memory.base import HumanTranslation
from zhen.tei.edits import ExistingOutput, inspect_output, translator_name

if TYPE_CHECKING:
    from zhen.batch.runner import BatchTranslator, _FileJob


def seen_human(existing: ExistingOutput | None) -> dict[str, str]:
    """The human sentences a run has read in an output: normalised source → English."""
    if existing is None:
        return {}
    return {normalise_sentence(s.zh): normalise_sentence(s.en or "") for s in existing.human}


def merged(batch: BatchTranslator, job: _FileJob, run_tei: bytes) -> tuple[bytes, list]:
    """The run's TEI for `job` with the human sentences of the file now at job.target
    (read under its lock), and its QA findings.  Raises OutputError (the run leaves the file alone) when the
    newer file may not be replaced (see inspect_output), or when a human sentence in it has
    no place in the new translation and there is no memory to keep it."""
    from lxml import etree
    from zhen.qa.annotate import annotate_tree
    from zhen.tei.body import tei_bytes
    from zhen.tei.read import parse_tei
    from zhen.xmlsafe import tei_parser

    newer = inspect_output(job.target, batch.memory)
    if newer is None:  # removed meanwhile
        return run_tei, None
    gone = newer.keys() - job.sources
    if gone and batch.memory is None:
        raise OutputError(
            f"{job.target}: changed during the run, and {len(gone)} human sentence(s) in it "
            f"no longer match a sentence of {job.result.input}; there is no memory to keep "
            "them: left as it was; run without --no-memory")
    edited_ids = {id(s) for s in newer.edited}
    glossary = batch.glossary.sha256
    fresh, carried = [], []
    for s in newer.human:
        key = normalise_sentence(s.zh)
        item = HumanTranslation(
            source=s.zh, target=s.en or "",
            translator=translator_name() if id(s) in edited_ids else s.translator,
            origin=f"edit {job.target.name}", glossary_sha256=glossary)
        if job.seen.get(key) != normalise_sentence(s.en or ""):
            fresh.append(item)  # new since the run read the file: a person's latest word
        else:
            carried.append(item)
    resolver = batch.resolver
    for item in fresh:
        resolver._edited[item.key] = item
    for item in carried:
        resolver._carried.setdefault(item.key, item)
    if batch.memory is not None:
        batch.memory.store_human(fresh)
        batch.memory.store_human(carried, only_new=True)
    job.seen.update(seen_human(newer))
    doc = parse_tei(etree.fromstring(run_tei, tei_parser()), job.target.name)
    sentences = doc.sentences()
    before = [(s.en, s.origin, s.translator) for s in sentences]
    resolver.apply_human(sentences)
    for s, was in zip(sentences, before):
        if (s.en, s.origin, s.translator) != was:
            s.qa = ()  # the checks ran on the English it replaced; they run again below
    tree = etree.ElementTree(etree.fromstring(tei_bytes(doc), tei_parser()))
    findings, _ = annotate_tree(tree, job.target.name)
    job.result.merged += 1
    job.result.human = sum(1 for s in sentences if s.human)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), findings


def misses_human(memory, existing: ExistingOutput) -> bool:
    """Whether the memory holds a person's translation that the output does not show: for
    a sentence the file has a machine translation of, any; for one it has a person's
    translation of, one stored after the file was written.  (`--update` rebuilds such an
    output: up to date means up to date with people's work.)"""
    if memory is None:
        return False
    try:
        written = existing.path.stat().st_mtime
    except OSError:
        return True
    shown: dict[str, tuple[str, bool]] = {}
    for s in existing.doc.sentences():
        shown[normalise_sentence(s.zh)] = (normalise_sentence(s.en or ""), s.human)
    machine = [k for k, (_, human) in shown.items() if not human]
    human = [k for k, (_, human) in shown.items() if human]
    found = memory.human_since(machine) if machine else {}
    if human:
        found.update(memory.human_since(human, written))
    return any(normalise_sentence(h.target) != shown[key][0] for key, h in found.items())
