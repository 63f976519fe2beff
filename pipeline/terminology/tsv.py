"""The glossary file format: `glossary/terms.tsv` read into rows, and rows written back.

Format: UTF-8, tab-separated, header ``id zh en kind variants note``; `kind` is ``term`` or
``keep`` (do not translate); `variants` are other Chinese forms joined by ``|``; lines starting
with ``#`` are comments (kept with the entry below them when the file is rewritten); rows are
sorted by id.  Parsing is lenient and collects problems so `lint_glossary` can report them all
(the checks between entries are `zhen.terminology.lint`); `load_glossary` refuses a file with
any error-level problem.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from zhen.document import Term, TermKind
from zhen.errors import GlossaryError
from zhen.terminology.entries import VARIANT_SEP, field_problems, term_problems

MAX_FIELD = 1000  # characters in one field (as for TBX): a longer one is refused
HEADER = ("id", "zh", "en", "kind", "variants", "note")
PREAMBLE = ""  # comments key: comment lines before the header
TRAILER = "$end"  # comments key: comment lines after the last row

Level = Literal["error", "info"]


@dataclass(frozen=True)
class LintMessage:
    """One finding about a glossary file; line 0 means the whole file."""

    path: str
    line: int
    level: Level
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.level}: {self.message}"


# Reports one finding: add(line, level, code, message).
Add = Callable[[int, Level, str, str], None]


@dataclass(frozen=True)
class Row:
    """One entry and the line it is on (0: not in the file)."""

    line: int
    term: Term


@dataclass(frozen=True)
class Parsed:
    """A glossary text read leniently: its rows, the problems found, its comment lines."""

    rows: tuple[Row, ...]
    problems: tuple[LintMessage, ...]
    comments: Mapping[str, tuple[str, ...]]


# ---------------------------------------------------------------- parsing


def decode(data: bytes, path: str) -> tuple[str, list[LintMessage]]:
    """The text of the file's bytes, and the problems of its encoding."""
    problems = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        problems.append(
            LintMessage(path, 1, "info", "bom", "byte-order mark at the start; saving removes it")
        )
    try:
        return data.decode("utf-8"), problems
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            LintMessage(
                path,
                line,
                "error",
                "undecodable",
                f"not UTF-8 (byte 0x{data[exc.start]:02x}); re-save the file as UTF-8",
            )
        )
        return data.decode("utf-8", errors="replace"), problems


def _header(cols: list[str], lineno: int, add: Add) -> bool:
    """Check the first non-comment line; True if it is (meant as) the header."""
    if tuple(cols) == HEADER:
        return True
    if cols[0].strip().lower() == "id":
        add(lineno, "error", "bad-header", f"header must be {' '.join(HEADER)} (tabs)")
        return True
    add(
        lineno,
        "error",
        "missing-header",
        f"first line must be the header {' '.join(HEADER)} (tab-separated)",
    )
    return False


def _row(cols: list[str], lineno: int, add: Add) -> Term | None:
    """The entry of one data line and its problems; None if the line is no entry at all."""
    if len(cols) != len(HEADER):
        add(
            lineno,
            "error",
            "malformed-row",
            f"expected {len(HEADER)} tab-separated columns ({', '.join(HEADER)}), "
            f"found {len(cols)}",
        )
        if len(cols) < 3:
            return None
        cols = (cols + [""] * len(HEADER))[: len(HEADER)]
    raw_id, zh, en, kind, variants, note = cols
    long = [c for c, v in zip(HEADER, cols) if len(v) > MAX_FIELD]
    if long:  # refused before any other check: those are not linear in a field's length
        add(lineno, "error", "oversized-field",
            f"{', '.join(long)} longer than {MAX_FIELD} characters; is this a glossary?")
        return None
    for column, value in (("id", raw_id), ("kind", kind)):
        for code, message in field_problems(column, value):
            add(lineno, "error", code, message)
    try:
        term_kind = TermKind(kind.strip())
    except ValueError:
        add(lineno, "error", "bad-kind", f"kind must be 'term' or 'keep', not {kind!r}")
        term_kind = TermKind.TERM
    term = Term(
        id=raw_id.strip(),
        zh=zh.strip(),
        en=en.strip(),
        variants=tuple(v.strip() for v in variants.split(VARIANT_SEP)) if variants else (),
        kind=term_kind,
        note=note.strip(),
    )
    raw = Term(
        term.id, zh, en, tuple(variants.split(VARIANT_SEP)) if variants else (), term_kind, note
    )
    for code, message in term_problems(raw):
        add(lineno, "error", code, message)
    return term


def parse_text(text: str, path: str) -> Parsed:
    """The rows of a glossary text, its per-row problems and its comments (nothing raised)."""
    rows: list[Row] = []
    problems: list[LintMessage] = []
    comments: dict[str, tuple[str, ...]] = {}
    pending: list[str] = []
    seen_header = False
    crlf = False

    def add(line: int, level: Level, code: str, message: str) -> None:
        problems.append(LintMessage(path, line, level, code, message))

    for lineno, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if line.endswith("\r"):
            line, crlf = line[:-1], True
        if line.startswith("#"):
            pending.append(line)
            continue
        if not line.strip():
            continue
        cols = line.split("\t")
        if not seen_header:
            seen_header = True
            comments[PREAMBLE] = tuple(pending)
            pending = []
            if _header(cols, lineno, add):
                continue
        term = _row(cols, lineno, add)
        if term is None:
            continue
        if pending and term.id:
            comments[term.id] = comments.get(term.id, ()) + tuple(pending)
            pending = []
        rows.append(Row(lineno, term))
    if not seen_header:
        comments[PREAMBLE] = tuple(pending)
        pending = []
        add(1, "error", "missing-header", f"no header line {' '.join(HEADER)} (tab-separated)")
    if pending:
        comments[TRAILER] = tuple(pending)
    if crlf:
        add(0, "info", "crlf", "Windows line endings (CRLF); saving writes LF")
    return Parsed(tuple(rows), tuple(problems), comments)


def parse_glossary(
    text: str, path: str | os.PathLike[str]
) -> tuple[tuple[Term, ...], list[LintMessage]]:
    """Entries of a glossary text plus the per-row problems found (nothing raised)."""
    parsed = parse_text(text, str(path))
    return tuple(r.term for r in parsed.rows), list(parsed.problems)


# ---------------------------------------------------------------- writing


def _format_row(term: Term) -> str:
    problems = [m for c, m in term_problems(term) if c == "bad-char"]
    if problems:
        raise GlossaryError(f"entry {term.id!r}: {problems[0]}, which the TSV format cannot hold")
    return "\t".join(
        (term.id, term.zh, term.en, term.kind.value, VARIANT_SEP.join(term.variants), term.note)
    )


def format_glossary(
    terms: Iterable[Term], comments: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The file text: header, rows sorted by id (stable), trailing newline.

    `comments` maps an id to the comment lines written above its row (PREAMBLE: above the
    header, TRAILER: after the last row).
    """
    comments = comments or {}
    lines = [*comments.get(PREAMBLE, ()), "\t".join(HEADER)]
    for term in sorted(terms, key=lambda t: t.id):
        lines += [*comments.get(term.id, ()), _format_row(term)]
    lines += comments.get(TRAILER, ())
    return "\n".join(lines) + "\n"


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a glossary file atomically, keeping its permissions (writer.write_atomic)."""
    from zhen.errors import OutputError
    from zhen.writer import write_atomic

    try:
        write_atomic(Path(path), data, keep_mode=True)
    except OutputError as exc:
        raise GlossaryError(str(exc)) from None


def save_glossary(
    path: str | os.PathLike[str],
    terms: Iterable[Term],
    comments: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Write the glossary sorted by id, atomically (temporary file + rename)."""
    atomic_write(path, format_glossary(terms, comments).encode("utf-8"))
