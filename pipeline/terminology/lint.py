"""The glossary's lint rules: what is wrong between entries, and what is worth a note.

Each rule reads the rows (in file order) and reports through `add`; `check_rows` runs them
in a fixed order.  The problems of one entry taken alone are `entries.term_problems`; those of
the file's text (encoding, header, columns) are found while parsing it (`tsv.parse_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zhen.document import Term, TermKind
from zhen.han import has_han
from zhen.terminology.entries import term_problems
from zhen.terminology.matcher import fold_width, normalize_form
from zhen.terminology.opencc_memo import convert
from zhen.terminology.tsv import Add, Level, LintMessage, Parsed, Row, decode, parse_text

# normalised Chinese form → the first row that lists it, and the form as written there
Owners = dict[str, tuple[Row, str]]


def _line(line: int, template: str) -> str:
    """`template` with the line number, or nothing for an entry not (yet) in the file."""
    return template.format(line) if line else ""


def _duplicate_ids(rows: Sequence[Row], add: Add) -> None:
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


def _clash(row: Row, form: str, other: Row, other_form: str, add: Add) -> None:
    """`form` of `row` is also listed (as `other_form`) by an earlier entry."""
    t = row.term
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


def _forms(rows: Sequence[Row], add: Add) -> Owners:
    """Check each Chinese form is listed once; return who owns each form."""
    owner: Owners = {}
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
            _clash(row, form, other, other_form, add)
    return owner


def _same_renderings(rows: Sequence[Row], add: Add) -> None:
    by_rendering: dict[str, Row] = {}
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


def _contained(owner: Owners, add: Add) -> None:
    """A form inside a longer form of another entry (印太 in 印太战略)."""
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


def _written_forms(rows: Sequence[Row], add: Add) -> None:
    """Notes on how a form is written: keep entries, full width, traditional characters."""
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


def _sorted(rows: Sequence[Row], add: Add) -> None:
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


def check_rows(rows: Sequence[Row], path: str) -> list[LintMessage]:
    """The problems between entries, and the notes, in rule order."""
    out: list[LintMessage] = []

    def add(line: int, level: Level, code: str, message: str) -> None:
        out.append(LintMessage(path, line, level, code, message))

    _duplicate_ids(rows, add)
    owner = _forms(rows, add)
    _same_renderings(rows, add)
    _contained(owner, add)
    _written_forms(rows, add)
    _sorted(rows, add)
    return out


def lint_terms(
    terms: Sequence[Term], path: str = "<terms>", lines: Mapping[str, int] | None = None
) -> list[LintMessage]:
    """All problems of a set of entries: per-entry and cross-entry checks.  `lines` (id →
    line, as `Glossary.lines`) places the entries of a file; others are on no line."""
    lines = lines or {}
    rows = [Row(lines.get(t.id, 0), t) for t in terms]
    per_entry = [
        LintMessage(path, r.line, "error", code, msg)
        for r in rows for code, msg in term_problems(r.term)
    ]
    return per_entry + check_rows(rows, path)


def _sort_key(m: LintMessage) -> tuple[int, int, str]:
    return (m.line, 0 if m.level == "error" else 1, m.code)


def lint_bytes(data: bytes, path: str) -> tuple[Parsed, list[LintMessage]]:
    """The file's bytes parsed, and every problem in them sorted by line (errors first)."""
    text, decode_problems = decode(data, path)
    parsed = parse_text(text, path)
    messages = decode_problems + list(parsed.problems) + check_rows(parsed.rows, path)
    return parsed, sorted(messages, key=_sort_key)
