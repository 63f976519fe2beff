"""Parse XML safely: files from elsewhere, and zhen's own TEI.

Files from elsewhere (CAT tools, term bases, memories): no entity expansion, no DTD
loading, no network access, no huge trees; a DOCTYPE that declares entities (billion
laughs, external-file and parameter entities) is refused outright, and so is a file over
a size limit.  zhen's own TEI (possibly edited by a person) is parsed by `tei_parser`: no
entities or network either, but no cap on a text node's size (a document may be large).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from zhen.errors import ZhenError

if TYPE_CHECKING:  # lxml is imported when a file is parsed, not when zhen starts
    from lxml import etree

TEI_PARSE_OPTIONS = {"resolve_entities": False, "no_network": True, "huge_tree": True}


def tei_parser(**extra) -> etree.XMLParser:
    """The parser for zhen's own TEI files (`extra`: more lxml parser options)."""
    from lxml import etree

    return etree.XMLParser(**TEI_PARSE_OPTIONS, **extra)


_DTD_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[(.*?)\]\s*>", re.S)


def read_limited(path: Path, max_bytes: int, error: type[ZhenError], what: str) -> bytes:
    """The bytes of `path`, refusing a file larger than `max_bytes` (`what` names the kind)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}: {size} bytes is more than the {max_bytes} {what} may have")
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None


def _refuse_entities(path: Path, error: type[ZhenError]) -> ZhenError:
    return error(
        f"{path}: refusing a file whose DOCTYPE declares entities (entity expansion or "
        "external-file attack); export it again without a DOCTYPE"
    )


def parse_untrusted_bytes(data: bytes, path: Path, error: type[ZhenError]) -> etree._Element:
    """The root element of `data` (read from `path`), parsed without entities, DTD or network."""
    from lxml import etree
    from zhen.bounds import XML_MAX_TAGS

    if data.count(b"<") > XML_MAX_TAGS:
        raise error(f"{path}: more than {XML_MAX_TAGS:,} tags, the most zhen reads in one "
                    "file; split it")
    subset = _DTD_SUBSET.search(data[:65536])
    if subset and b"<!ENTITY" in subset.group(1):
        raise _refuse_entities(path, error)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else str(path)
        message = " ".join(str(exc.msg).split())
        raise error(
            f"{where}: not well-formed XML ({message}); fix or export the file again"
        ) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise _refuse_entities(path, error)
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise _refuse_entities(path, error)
    return root


def parse_untrusted_xml(
    path: Path, max_bytes: int, error: type[ZhenError], what: str
) -> etree._Element:
    """The root element of the XML file `path`, read and parsed safely.

    Raises `error` (one line naming the file) for a file over `max_bytes`, one whose DOCTYPE
    declares entities, one that is not well-formed or cannot be read.  `what` names the kind of
    file in the size message, e.g. "an XLIFF file".
    """
    path = Path(path)
    return parse_untrusted_bytes(read_limited(path, max_bytes, error, what), path, error)


def local_name(el: etree._Element) -> str:
    """The tag without its namespace; '' for comments and processing instructions."""
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def inline_text(el: etree._Element, skip: frozenset[str]) -> str:
    """All text inside `el`, leaving out the content (not the tail) of elements named in `skip`.

    For segments with inline markup: `skip` holds the native-code elements (XLIFF's bpt, ept,
    ph, it; TMX's bpt, ept, it, ph, ut), whose content is the original's markup, not text.
    """
    parts = [el.text or ""]
    for child in el:
        name = local_name(child)
        if name and name not in skip:
            parts.append(inline_text(child, skip))
        parts.append(child.tail or "")
    return "".join(parts)
