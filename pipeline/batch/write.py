"""A translated document's TEI written to its file, with its QA findings recorded in it."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from zhen.document import Document
from zhen.errors import StaleFile, ZhenError
from zhen.filelock import write_guarded
from zhen.tei.body import TeiWriter
from zhen.writer import output_error
from zhen.xmlsafe import tei_parser

log = logging.getLogger("zhen")

QA_MAX_BYTES = 16 << 20  # outputs up to this size get their QA findings at once (QA reads
# the whole document; a larger one is left for `zhen qa --annotate`, memory stays bounded)


def write_checked(writer: TeiWriter, doc: Document, target: Path, read: str | None = None,
                  merge: Callable[[bytes], tuple[bytes, list | None]] | None = None
                  ) -> dict[str, int]:
    """Write a document's TEI atomically with its QA findings recorded in it; return the
    findings by severity.  The QA checks need the whole document, which the streamed
    writer never holds: the TEI goes first to an anonymous temporary file (gone if the
    process dies), is checked there, then written.  An output over QA_MAX_BYTES is
    written unchecked (the checks read it whole): `zhen qa --annotate` does it.

    Written through zhen.filelock as the version `read` of `target` (taken before the run
    read it): if the file changed since, `merge(this TEI)` gives the TEI to write instead
    and its findings (batch.merge: the newer file's human sentences taken in)."""
    from lxml import etree
    from zhen.qa.annotate import annotate_tree
    from zhen.qa.run import Counts

    try:
        raw = tempfile.TemporaryFile(dir=target.parent)
        writer.write(raw, doc)
        size = raw.tell()
        raw.seek(0)
    except OSError as exc:
        raise output_error(target, exc) from None
    with raw:
        counts, data = {}, None
        if size <= QA_MAX_BYTES:
            tree = etree.parse(raw, tei_parser())
            try:
                findings, changed = annotate_tree(tree, target.name)
            except ZhenError as exc:  # the output itself is fine: written unchecked
                log.warning("%s: QA not recorded: %s", target, exc)
                findings, changed = [], False
            counts = Counts.of(findings).by_severity
            if changed:
                data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
            raw.seek(0)
        else:
            log.warning("%s: over %d MB, QA not run here: run `zhen qa --annotate` on it",
                        target, QA_MAX_BYTES >> 20)

        def write(fh) -> None:
            if data is not None:
                fh.write(data)
            else:
                raw.seek(0)
                shutil.copyfileobj(raw, fh, 1 << 20)

        def merged(_current) -> bytes | None:
            nonlocal counts
            if merge is None:
                raise StaleFile(f"{target} changed on disk while it was being translated; "
                                "nothing was written")
            raw.seek(0)
            tei, findings = merge(data if data is not None else raw.read())
            if findings is not None:
                counts = Counts.of(findings).by_severity
            return tei

        write_guarded(target, write, read, merged)
    return counts
