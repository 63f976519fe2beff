"""The glossary file: read, check, edit and write `glossary/terms.tsv`.

Format: UTF-8, tab-separated, header ``id zh en kind variants note``; `kind` is ``term`` or
``keep`` (do not translate); `variants` are other Chinese forms joined by ``|``; lines starting
with ``#`` are comments (kept with the entry below them when the file is rewritten); rows are
sorted by id.  Parsing is lenient and collects problems so `lint_glossary` can report them all;
`load_glossary` refuses a file with any error-level problem.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from zhen import env
from zhen.document import Term, TermKind
from zhen.errors import GlossaryError
from zhen.han import has_han
from zhen.terminology.matcher import convert, fold_width, normalize_form

MAX_FIELD = 1000  # characters in one field (as for TBX): a longer one is refused
DEFAULT_GLOSSARY = Path("glossary") / "terms.tsv"  # looked for in the current folder and up
GLOSSARY_ENV = "ZHEN_GLOSSARY"
HEADER = ("id", "zh", "en", "kind", "variants", "note")
VARIANT_SEP = "|"
PREAMBLE = ""  # comments key: comment lines before the header
TRAILER = "$end"  # comments key: comment lines after the last row
ID_RE = re.compile(r"[a-z][a-z0-9]*(?:[-._][a-z0-9]+)*")
MAX_ID_LEN = 80

# Problems after which rewriting the file would lose or change what the maintainer wrote.
_UNSAVEABLE = frozenset(
    {"undecodable", "malformed-row", "bad-header", "missing-header", "bad-kind"}
)

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


@dataclass(frozen=True)
class Glossary:
    """A loaded, lint-clean glossary file."""

    path: Path
    terms: tuple[Term, ...]
    sha256: str  # of the file bytes
    # comment lines kept with the entry below them (PREAMBLE, TRAILER: before/after the table)
    comments: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    # id → line in the file, for messages about an edit that clashes with an entry
    lines: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)

    def get(self, term_id: str) -> Term | None:
        """The entry with this id, or None."""
        return next((t for t in self.terms if t.id == term_id), None)


@dataclass(frozen=True)
class _Row:
    line: int
    term: Term


@dataclass(frozen=True)
class _Parsed:
    rows: tuple[_Row, ...]
    problems: tuple[LintMessage, ...]
    comments: Mapping[str, tuple[str, ...]]


# ---------------------------------------------------------------- field checks


def is_valid_id(term_id: str) -> bool:
    """A lowercase ASCII slug (letters, digits, single '-', '.', '_' between them)."""
    return len(term_id) <= MAX_ID_LEN and ID_RE.fullmatch(term_id) is not None


def _slug(text: str) -> str:
    """The ASCII slug of `text`, or "" if it has no ASCII letter or digit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > 60:
        slug = slug[:60].rsplit("-", 1)[0]
    return slug if not slug or slug[0].isalpha() else f"t-{slug}"


def slugify(text: str, fallback: str = "") -> str:
    """An id derived from English text: 'US-Japan alliance' → 'us-japan-alliance'."""
    slug = _slug(text)
    if not slug:
        digest = hashlib.sha1((fallback or text).encode("utf-8")).hexdigest()[:8]
        return f"term-{digest}"
    return slug


def new_id(term: Term, taken: Iterable[str]) -> str:
    """A readable id for a new entry, not in `taken`.

    A `keep` entry whose source form is in Latin script takes its slug (CPTPP → cptpp);
    otherwise the slug of the English (critical minerals → critical-minerals); failing
    both (a Han-only keep entry without English) `<kind>-<n>`: keep-1, keep-2, …
    A taken slug gets `-2`, `-3`, … as `unique_id` gives.
    """
    taken = set(taken)
    if term.kind is TermKind.KEEP and not has_han(term.zh) and (slug := _slug(term.zh)):
        return unique_id(slug, taken)
    if slug := _slug(term.en):
        return unique_id(slug, taken)
    n = 1
    while f"{term.kind.value}-{n}" in taken:
        n += 1
    return f"{term.kind.value}-{n}"


def unique_id(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`... whichever is not taken."""
    taken = set(taken)
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _char_problem(ch: str) -> str | None:
    cat = unicodedata.category(ch)
    if ch == " " or cat[0] not in "CZ":
        return None
    name = unicodedata.name(ch, "unassigned" if cat == "Cn" else "control character")
    return f"U+{ord(ch):04X} {name}"


def field_problems(column: str, value: str) -> list[tuple[str, str]]:
    """(code, message) for stray whitespace and invisible characters in one field."""
    problems = []
    if value != value.strip():
        problems.append(("whitespace", f"stray whitespace at the start or end of {column}"))
    odd = sorted({p for ch in value if (p := _char_problem(ch))})
    if odd:
        problems.append(
            ("invisible-char", f"invisible or control character in {column}: {', '.join(odd)}")
        )
    return problems


def term_problems(term: Term) -> list[tuple[str, str]]:
    """(code, message) for everything wrong with one entry taken alone (errors)."""
    problems = []
    if not term.id:
        problems.append(("bad-id", "empty id"))
    elif not is_valid_id(term.id):
        problems.append(
            ("bad-id", f"bad id {term.id!r}: use a lowercase ASCII slug such as 'new-golden-age'")
        )
    if not term.zh.strip():
        problems.append(("empty-zh", f"{term.id}: empty Chinese form (zh)"))
    if not term.en.strip() and term.kind is TermKind.TERM:  # keep renders the source form itself
        problems.append(("empty-en", f"{term.id}: empty English rendering (en)"))
    for column, value in (("zh", term.zh), ("en", term.en), ("note", term.note)):
        problems += field_problems(column, value)
    for variant in term.variants:
        if not variant.strip():
            problems.append(("empty-variant", f"{term.id}: empty variant (stray '|')"))
        problems += field_problems("variants", variant)
    for column, value in (("zh", term.zh), ("en", term.en), ("note", term.note)):
        if any(c in value for c in "\t\n\r"):
            problems.append(("bad-char", f"{column} contains a tab or line break"))
    if any(VARIANT_SEP in v or any(c in v for c in "\t\n\r") for v in term.variants):
        problems.append(("bad-char", "a variant contains '|', a tab or a line break"))
    return problems


# ---------------------------------------------------------------- parsing


def _decode(data: bytes, path: str) -> tuple[str, list[LintMessage]]:
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


def _parse(text: str, path: str) -> _Parsed:
    rows: list[_Row] = []
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
            if tuple(cols) == HEADER:
                continue
            if cols[0].strip().lower() == "id":
                add(lineno, "error", "bad-header", f"header must be {' '.join(HEADER)} (tabs)")
                continue
            add(
                lineno,
                "error",
                "missing-header",
                f"first line must be the header {' '.join(HEADER)} (tab-separated)",
            )
        if len(cols) != len(HEADER):
            add(
                lineno,
                "error",
                "malformed-row",
                f"expected {len(HEADER)} tab-separated columns ({', '.join(HEADER)}), "
                f"found {len(cols)}",
            )
            if len(cols) < 3:
                continue
            cols = (cols + [""] * len(HEADER))[: len(HEADER)]
        raw_id, zh, en, kind, variants, note = cols
        long = [c for c, v in zip(HEADER, cols) if len(v) > MAX_FIELD]
        if long:  # refused before any other check: those are not linear in a field's length
            add(lineno, "error", "oversized-field",
                f"{', '.join(long)} longer than {MAX_FIELD} characters; is this a glossary?")
            continue
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
        if pending and term.id:
            comments[term.id] = comments.get(term.id, ()) + tuple(pending)
            pending = []
        rows.append(_Row(lineno, term))
    if not seen_header:
        comments[PREAMBLE] = tuple(pending)
        pending = []
        add(1, "error", "missing-header", f"no header line {' '.join(HEADER)} (tab-separated)")
    if pending:
        comments[TRAILER] = tuple(pending)
    if crlf:
        add(0, "info", "crlf", "Windows line endings (CRLF); saving writes LF")
    return _Parsed(tuple(rows), tuple(problems), comments)


def parse_glossary(
    text: str, path: str | os.PathLike[str]
) -> tuple[tuple[Term, ...], list[LintMessage]]:
    """Entries of a glossary text plus the per-row problems found (nothing raised)."""
    parsed = _parse(text, str(path))
    return tuple(r.term for r in parsed.rows), list(parsed.problems)


# ---------------------------------------------------------------- cross-entry checks


def _line(line: int, template: str) -> str:
    """`template` with the line number, or nothing for an entry not (yet) in the file."""
    return template.format(line) if line else ""


def _check_rows(rows: Sequence[_Row], path: str) -> list[LintMessage]:
    out: list[LintMessage] = []

    def add(line: int, level: Level, code: str, message: str) -> None:
        out.append(LintMessage(path, line, level, code, message))

    first_id: dict[str, int] = {}
    for row in rows:
        if row.term.id in first_id and row.term.id:
            add(
                row.line,
                "error",
                "duplicate-id",
                f"id {row.term.id!r} is already used"
                f"{_line(first_id[row.term.id], ' at line {}')}",
            )
        first_id.setdefault(row.term.id, row.line)

    owner: dict[str, tuple[_Row, str]] = {}  # normalised form → first (row, form)
    for row in rows:
        t = row.term
        zh_key = normalize_form(t.zh) if t.zh else None
        own: set[str] = set()
        for index, form in enumerate((t.zh, *t.variants)):
            if not form:
                continue
            key = normalize_form(form)
            if index and key == zh_key:
                add(
                    row.line,
                    "error",
                    "variant-equals-term",
                    f"{t.id}: variant {form!r} is the term {t.zh!r} itself (after simplified/"
                    "traditional and width folding, which matching does anyway); remove it",
                )
                continue
            if key in own:
                add(row.line, "error", "duplicate-variant", f"{t.id}: {form!r} is listed twice")
                continue
            own.add(key)
            if key not in owner:
                owner[key] = (row, form)
                continue
            other, other_form = owner[key]
            where = f"{other.term.id} ({_line(other.line, 'line {}, ')}as {other_form!r})"
            if other.term.rendering == t.rendering:
                add(
                    row.line,
                    "error",
                    "duplicate-form",
                    f"{t.id}: Chinese form {form!r} is also listed under {where}; "
                    "merge the two entries",
                )
            else:
                add(
                    row.line,
                    "error",
                    "conflicting-rendering",
                    f"{t.id}: Chinese form {form!r} is rendered {t.rendering!r} here but "
                    f"{other.term.rendering!r} by {where}; keep one rendering",
                )

    by_rendering: dict[str, _Row] = {}
    for row in rows:
        t = row.term
        if not t.en or t.kind is not TermKind.TERM:
            continue
        first = by_rendering.setdefault(t.en.casefold(), row)
        if first is not row and normalize_form(first.term.zh) != normalize_form(t.zh):
            add(
                row.line,
                "info",
                "same-rendering",
                f"{t.id} and {first.term.id}{_line(first.line, ' (line {})')} are both rendered "
                f"{t.en!r}; "
                f"if they are the same concept, make {t.zh!r} a variant of {first.term.id}",
            )

    # A form inside a longer form of another entry (印太 in 印太战略).
    longest = max((len(k) for k in owner), default=0)
    reported: set[tuple[str, str]] = set()
    for outer_key, (outer, _) in owner.items():
        for i in range(len(outer_key)):
            for j in range(i + 1, min(len(outer_key), i + longest) + 1):
                if (i, j) == (0, len(outer_key)) or outer_key[i:j] not in owner:
                    continue
                inner, inner_form = owner[outer_key[i:j]]
                pair = (inner.term.id, outer.term.id)
                if inner is outer or pair in reported:
                    continue
                reported.add(pair)
                message = (
                    f"{inner.term.id}: {inner_form!r} also occurs inside "
                    f"{outer.term.id}{_line(outer.line, ' (line {})')}; the longer match wins"
                )
                a, b = inner.term.rendering, outer.term.rendering
                if a and b and a.casefold() not in b.casefold():
                    message += f"; check that {b!r} agrees with {a!r}"
                add(inner.line, "info", "contained-term", message)

    for row in rows:
        t = row.term
        if t.kind is TermKind.KEEP and t.en and t.en != t.zh:
            add(
                row.line,
                "info",
                "keep-en-ignored",
                f"{t.id}: kind keep renders the source form {t.zh!r}; en {t.en!r} is not used",
            )
        if t.kind is TermKind.KEEP and fold_width(t.zh) != t.zh:
            add(
                row.line,
                "info",
                "keep-full-width",
                f"{t.id}: kind keep puts {t.zh!r} into the English as is; write "
                f"{fold_width(t.zh)!r} (full-width text matches it all the same)",
            )
        if t.kind is TermKind.TERM and has_han(t.zh) and convert("t2s", t.zh) != t.zh:
            add(
                row.line,
                "info",
                "not-simplified",
                f"{t.id}: zh {t.zh!r} looks traditional; the preferred form is simplified "
                f"({convert('t2s', t.zh)!r}); traditional forms are matched automatically",
            )

    for prev, row in zip(rows, rows[1:]):
        if row.term.id < prev.term.id:
            add(
                row.line,
                "info",
                "unsorted",
                f"rows are not sorted by id ({row.term.id!r} after {prev.term.id!r}); "
                "`zhen glossary add/remove` rewrites the file sorted",
            )
            break
    return out


def lint_terms(
    terms: Sequence[Term], path: str = "<terms>", lines: Mapping[str, int] | None = None
) -> list[LintMessage]:
    """All problems of a set of entries: per-entry and cross-entry checks.  `lines` (id →
    line, as `Glossary.lines`) places the entries of a file; others are on no line."""
    lines = lines or {}
    rows = [_Row(lines.get(t.id, 0), t) for t in terms]
    per_entry = [
        LintMessage(path, r.line, "error", code, msg)
        for r in rows for code, msg in term_problems(r.term)
    ]
    return per_entry + _check_rows(rows, path)


def _sort_key(m: LintMessage) -> tuple[int, int, str]:
    return (m.line, 0 if m.level == "error" else 1, m.code)


def find_glossary(path: str | os.PathLike[str] | None = None) -> Path:
    """The glossary to use, found as tools find their config: `path` (--glossary) if given,
    else $ZHEN_GLOSSARY, else glossary/terms.tsv in the current folder or the nearest of
    its parents that has one.  Raise GlossaryError if none is found."""
    if path is not None and str(path):
        return Path(path)
    if env.value(GLOSSARY_ENV):
        return Path(env.value(GLOSSARY_ENV))
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_GLOSSARY).is_file():
            found = folder / DEFAULT_GLOSSARY
            return DEFAULT_GLOSSARY if folder == here else found
    raise GlossaryError(
        f"no glossary: {DEFAULT_GLOSSARY} is not in {here} or a folder above it; "
        f"pass --glossary FILE or set {GLOSSARY_ENV}"
    )


def _read(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    p = Path(path)
    try:
        return p.read_bytes(), str(p)
    except FileNotFoundError:
        raise GlossaryError(
            f"{p}: glossary not found; create it with the header line "
            f"'{chr(9).join(HEADER)}', or name another with --glossary or {GLOSSARY_ENV}"
        ) from None
    except OSError as exc:
        raise GlossaryError(f"{p}: cannot read the glossary ({exc.strerror})") from None


def _lint_bytes(data: bytes, path: str) -> tuple[_Parsed, list[LintMessage]]:
    text, decode_problems = _decode(data, path)
    parsed = _parse(text, path)
    messages = decode_problems + list(parsed.problems) + _check_rows(parsed.rows, path)
    return parsed, sorted(messages, key=_sort_key)


def lint_glossary(path: str | os.PathLike[str]) -> list[LintMessage]:
    """Every problem in the glossary file, sorted by line (errors first on a line)."""
    data, name = _read(path)
    return _lint_bytes(data, name)[1]


def _raise_first(errors: Sequence[LintMessage]) -> None:
    more = f" (and {len(errors) - 1} more: run `zhen glossary lint`)" if len(errors) > 1 else ""
    raise GlossaryError(f"{errors[0]}{more}")


def load_glossary(path: str | os.PathLike[str]) -> Glossary:
    """Read and check the glossary; raise GlossaryError naming file:line on any error."""
    data, name = _read(path)
    parsed, messages = _lint_bytes(data, name)
    errors = [m for m in messages if m.level == "error"]
    if errors:
        _raise_first(errors)
    return Glossary(
        path=Path(path),
        terms=tuple(r.term for r in parsed.rows),
        sha256=hashlib.sha256(data).hexdigest(),
        comments=parsed.comments,
        lines={r.term.id: r.line for r in parsed.rows},
    )


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


# ---------------------------------------------------------------- editing


def _clean(term: Term) -> Term:
    """Strip surrounding whitespace from every field (typed on a command line)."""
    return Term(
        id=term.id.strip(),
        zh=term.zh.strip(),
        en=term.en.strip(),
        variants=tuple(v.strip() for v in term.variants),
        kind=term.kind,
        note=term.note.strip(),
    )


def _new_errors(old: Sequence[Term], new: Sequence[Term], path: str,
                lines: Mapping[str, int] | None = None) -> list[str]:
    """Error messages that adding `new` to the clean entries `old` (on `lines`) would cause."""
    before = {(m.code, m.message) for m in lint_terms(old, path, lines) if m.level == "error"}
    return [
        m.message
        for m in lint_terms([*old, *new], path, lines)
        if m.level == "error" and (m.code, m.message) not in before
    ]


def add_term(
    glossary_path: str | os.PathLike[str],
    zh: str,
    en: str,
    variants: Sequence[str] = (),
    note: str = "",
    id: str | None = None,
    kind: TermKind = TermKind.TERM,
) -> Term:
    """Add one entry (id from `new_id` unless given); refuse what lint would reject."""
    glossary = load_glossary(glossary_path)
    taken = {t.id for t in glossary.terms}
    if id is not None and id.strip() in taken:
        raise GlossaryError(
            f"{glossary_path}: id {id.strip()!r} already exists; choose another id "
            "or remove the old entry first"
        )
    term = _clean(Term(id=id or "", zh=zh, en=en, variants=tuple(variants), kind=kind, note=note))
    if id is None:
        term = Term(new_id(term, taken), term.zh, term.en, term.variants, term.kind, term.note)
    errors = _new_errors(glossary.terms, [term], str(glossary_path), glossary.lines)
    if errors:
        raise GlossaryError(f"{glossary_path}: cannot add {term.id!r}: {errors[0]}")
    save_glossary(glossary_path, [*glossary.terms, term], glossary.comments)
    return term


def remove_term(path: str | os.PathLike[str], term_id: str) -> Term:
    """Delete the entry with this id (works on a file with cross-entry errors too)."""
    data, name = _read(path)
    parsed, messages = _lint_bytes(data, name)
    blocking = [m for m in messages if m.code in _UNSAVEABLE]
    if blocking:
        raise GlossaryError(f"{blocking[0]}; fix it by hand before removing entries")
    matches = [r for r in parsed.rows if r.term.id == term_id]
    if not matches:
        ids = [r.term.id for r in parsed.rows]
        close = difflib.get_close_matches(term_id, ids, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else "; see `zhen glossary list`"
        raise GlossaryError(f"{name}: no entry with id {term_id!r}{hint}")
    if len(matches) > 1:
        lines = ", ".join(str(r.line) for r in matches)
        raise GlossaryError(f"{name}: id {term_id!r} is on lines {lines}; edit the file by hand")
    comments = {k: v for k, v in parsed.comments.items() if k != term_id}
    save_glossary(path, [r.term for r in parsed.rows if r.term.id != term_id], comments)
    return matches[0].term


def list_terms(glossary: Glossary, grep: str | None = None) -> list[Term]:
    """Entries sorted by id; with `grep`, those whose id, zh, en, variants or note contain it.

    The search ignores case, width and simplified/traditional differences.
    """
    terms = sorted(glossary.terms, key=lambda t: t.id)
    if not grep:
        return terms
    needle = normalize_form(grep).casefold()

    def haystack(t: Term) -> str:
        return "\n".join((t.id, t.zh, t.en, *t.variants, t.note))

    return [t for t in terms if needle in normalize_form(haystack(t)).casefold()]
