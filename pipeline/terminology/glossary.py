"""The glossary as the program uses it: find `glossary/terms.tsv`, lint it, load it, edit it.

The file format (parse, format, save) is `zhen.terminology.tsv`; one entry's id and problems
are `zhen.terminology.entries`; the checks between entries are `zhen.terminology.lint`.
`load_glossary` refuses a file with any error-level problem; `lint_glossary` reports them all.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zhen import env
from zhen.document import Term, TermKind
from zhen.errors import GlossaryError
from zhen.terminology.entries import new_id
from zhen.terminology.lint import lint_bytes, lint_terms
from zhen.terminology.matcher import normalize_form
from zhen.terminology.opencc_memo import remembered
from zhen.terminology.tsv import HEADER, LintMessage, save_glossary

DEFAULT_GLOSSARY = Path("glossary") / "terms.tsv"  # looked for in the current folder and up
GLOSSARY_ENV = "ZHEN_GLOSSARY"

# Problems after which rewriting the file would lose or change what the maintainer wrote.
_UNSAVEABLE = frozenset(
    {"undecodable", "malformed-row", "bad-header", "missing-header", "bad-kind"}
)


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


# ---------------------------------------------------------------- finding and reading


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


def lint_glossary(path: str | os.PathLike[str]) -> list[LintMessage]:
    """Every problem in the glossary file, sorted by line (errors first on a line)."""
    data, name = _read(path)
    return lint_bytes(data, name)[1]


def _raise_first(errors: Sequence[LintMessage]) -> None:
    more = f" (and {len(errors) - 1} more: run `zhen glossary lint`)" if len(errors) > 1 else ""
    raise GlossaryError(f"{errors[0]}{more}")


def load_glossary(path: str | os.PathLike[str]) -> Glossary:
    """Read and check the glossary; raise GlossaryError naming file:line on any error."""
    data, name = _read(path)
    with remembered():  # its forms' OpenCC conversions, kept for the next process
        parsed, messages = lint_bytes(data, name)
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
    with remembered():  # its forms' OpenCC conversions, kept for the next process
        parsed, messages = lint_bytes(data, name)
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
