"""A translated document's TEI written to its file, with its QA findings recorded in it."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from zhen.document import Document
from zhen.errors import ZhenError
from zhen.tei.body import TeiWriter
from zhen.writer import atomic_output, output_error
from zhen.xmlsafe import tei_parser

log = logging.getLogger("zhen")

QA_MAX_BYTES = 16 << 20  # outputs up to this size get their QA findings at once (QA reads
# the whole document; a larger one is left for `zhen qa --annotate`, memory stays bounded)


def write_checked(writer: TeiWriter, doc: Document, target: Path) -> dict[str, int]:
    """Write a document's TEI atomically with its QA findings recorded in it; return the
    findings by severity.  The QA checks need the whole document, which the streamed
    writer never holds: the TEI goes first to an anonymous temporary file (gone if the
    process dies), is checked there, then written.  An output over QA_MAX_BYTES is
    written unchecked (the checks read it whole): `zhen qa --annotate` does it."""
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
        with atomic_output(target) as fh:
            if data is not None:
                fh.write(data)
            else:
                shutil.copyfileobj(raw, fh, 1 << 20)
    return counts
