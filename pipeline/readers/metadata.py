"""Metadata given from outside a file, and dates in ISO 8601.

Two places, both optional, override what a reader found in the file:

- a manifest for a whole folder, `metadata.csv` or `metadata.tsv` beside the inputs: a
  header row, then one row per file: the file name first, then any of title, author,
  date, publisher, url, plus free columns (kept as extra fields);
- a sidecar per file, `NAME.meta.json` (NAME: the file name without its suffix, or the
  whole file name): a JSON object with the same fields.

The sidecar wins over the manifest, the manifest over the file.  Dates are normalised to
ISO 8601 (`normalise_date`); one that cannot be read refuses the file it belongs to.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from zhen.document import DocumentInfo
from zhen.errors import InputError
from zhen.readers.text import decode_text, strip_xml_forbidden

FIELDS = ("title", "author", "date", "publisher", "url")
MANIFEST_NAMES = ("metadata.csv", "metadata.tsv")
SIDECAR_SUFFIX = ".meta.json"
# Column and key names taken for the fields (lower case); any other is an extra field.
ALIASES = {
    "title": "title", "标题": "title", "題名": "title", "题名": "title",
    "author": "author", "authors": "author", "作者": "author",
    "date": "date", "published": "date", "pubdate": "date", "日期": "date",
    "发布日期": "date", "发布时间": "date",
    "publisher": "publisher", "source": "publisher", "site": "publisher",
    "site_name": "publisher", "sitename": "publisher", "来源": "publisher",
    "出版者": "publisher", "发布机构": "publisher",
    "url": "url", "link": "url", "source_url": "url", "网址": "url", "链接": "url",
}
MAX_MANIFEST_BYTES = 16 << 20
MAX_SIDECAR_BYTES = 1 << 20
MAX_VALUE_CHARS = 2000
MAX_LIST_DEPTH = 4  # lists in lists in a value (deeper ones are left out)
_SPACE = re.compile(r"\s+")


# -- dates -------------------------------------------------------------------------------

_FULL_WIDTH = str.maketrans("０１２３４５６７８９－／．：　", "0123456789-/.: ")
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
_TIME = r"(?:[T\s]*\d{1,2}[:时點点]\d{1,2}(?:[:分]\d{1,2}(?:\.\d+)?秒?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_DATE_FORMS = (
    re.compile(rf"^(\d{{4}})年(?:(\d{{1,2}})月(?:(\d{{1,2}})[日号])?)?\s*{_TIME}\s*$"),
    re.compile(rf"^(\d{{4}})([-/.])(\d{{1,2}})(?:\2(\d{{1,2}}))?{_TIME}$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})$"),
)
_CN_DATE = re.compile("^([〇零一二三四五六七八九]{4})年(?:([〇一二三四五六七八九十]{1,3})月"
                      "(?:([〇一二三四五六七八九十]{1,3})[日号])?)?$")


def normalise_date(value: object) -> str:
    """An ISO 8601 date (YYYY-MM-DD, YYYY-MM or YYYY) from a date, a datetime, or text in a
    common form: 2025-03-04, 2025/3/4, 2025.3.4, 20250304, 2025-03-04T09:30:00+08:00,
    2025年3月4日 (full-width digits too), 二〇二五年三月四日, 2025年3月, 2025.
    A time of day is dropped (the date is the one written, in its own time zone).
    Raises ValueError for anything else, or a day that does not exist."""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).translate(_FULL_WIDTH).strip()
    parts = _cn_date(text)
    if parts is None:
        for form in _DATE_FORMS:
            m = form.match(text)
            if m:
                groups = [g for g in m.groups() if g not in ("-", "/", ".")]
                parts = tuple(int(g) if g else None for g in groups)
                break
    if parts is None:
        raise ValueError(text)
    year, month, day = (*parts, None, None)[:3]
    _dt.date(year, month or 1, day or 1)  # raises ValueError for 2025-02-30, month 13
    if not 1000 <= year <= 2999:
        raise ValueError(text)
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")


def _cn_date(text: str) -> tuple[int, int | None, int | None] | None:
    m = _CN_DATE.match(text)
    if not m:
        return None
    year = int("".join(str(_CN_DIGITS[c]) for c in m[1]))
    return year, _cn_small(m[2]), _cn_small(m[3])


def _cn_small(text: str | None) -> int | None:
    """1–31 in Chinese numerals: 三, 十, 十二, 二十, 三十一."""
    if not text:
        return None
    tens, _, units = text.rpartition("十")
    if "十" not in text:
        return _CN_DIGITS[text] if len(text) == 1 else int("".join(str(_CN_DIGITS[c])
                                                                  for c in text))
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def date_or_error(value: object, where: str) -> str:
    """`normalise_date`, or an InputError naming `where` and the forms to write."""
    try:
        return normalise_date(value)
    except (ValueError, TypeError, KeyError):
        raise InputError(f"{where}: date {str(value)!r} is not a date zhen can read; write it "
                         "as YYYY-MM-DD (2025-03-04), 2025年3月4日, YYYY-MM or YYYY") from None


# -- values ------------------------------------------------------------------------------


def clean_value(value: object, _depth: int = 0) -> str:
    """A metadata value as one line of XML-safe text ("" for nothing); a list is joined
    (lists in lists to MAX_LIST_DEPTH, as far as MAX_VALUE_CHARS)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        if _depth >= MAX_LIST_DEPTH:
            return ""
        parts, size = [], 0
        for item in value:
            text = clean_value(item, _depth + 1)
            if text:
                parts.append(text)
                size += len(text) + 2
                if size > MAX_VALUE_CHARS:
                    break
        return ", ".join(parts)[:MAX_VALUE_CHARS]
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = strip_xml_forbidden(str(value))[0]
    return _SPACE.sub(" ", text).strip()[:MAX_VALUE_CHARS]


def fields_from(mapping: Mapping[str, object], where: str) -> dict[str, str]:
    """Known fields (by ALIASES) and extra ones from a mapping of names to values; empty
    values left out, the date normalised (InputError naming `where` if it cannot be)."""
    out: dict[str, str] = {}
    for key, value in mapping.items():
        name = clean_value(key)
        if not name or isinstance(value, dict):
            continue
        field_name = ALIASES.get(name.lower(), name)
        if field_name == "date" and value not in (None, ""):
            out["date"] = date_or_error(value, where)
            continue
        text = clean_value(value)
        if text:
            out[field_name] = text
    return out


def apply_fields(info: DocumentInfo, fields: Mapping[str, str]) -> DocumentInfo:
    """`info` with the given fields overriding its own; extra fields kept in order, a
    field named again replacing the earlier value."""
    known = {k: v for k, v in fields.items() if k in FIELDS}
    extra = dict(info.extra)
    extra.update((k, v) for k, v in fields.items() if k not in FIELDS)
    return replace(info, **known, extra=tuple(extra.items()))


# -- the manifest ------------------------------------------------------------------------


@dataclass
class Manifest:
    """A folder's metadata.csv or .tsv: its rows by file name, each with its line number."""

    path: Path
    rows: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # file name → what is wrong

    def fields_for(self, name: str) -> dict[str, str]:
        """The fields of the row for file `name` ({} without one); InputError for a row
        that cannot be used (an unreadable date, a file named twice)."""
        if name in self.problems:
            raise InputError(self.problems[name])
        row = self.rows.get(name)
        if row is None:
            return {}
        line, values = row
        return fields_from(values, f"{self.path}:{line} (the row of {name})")


def manifest_path(folder: Path) -> Path | None:
    """The manifest of a folder, or None; InputError if it has both a .csv and a .tsv."""
    found = [Path(folder) / n for n in MANIFEST_NAMES if (Path(folder) / n).is_file()]
    if len(found) > 1:
        raise InputError(f"{found[0]} and {found[1]}: two manifests in one folder; keep one")
    return found[0] if found else None


def load_manifest(folder: Path) -> Manifest | None:
    """The manifest of `folder` (None without one), read once while it is unchanged."""
    path = manifest_path(folder)
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return _load_manifest(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _load_manifest(path: Path, mtime_ns: int, size: int) -> Manifest:
    from zhen.readers.base import read_limited

    data = read_limited(path, MAX_MANIFEST_BYTES, "manifest")
    text, _ = decode_text(data, str(path))
    delimiter = "\t" if path.suffix == ".tsv" else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid {path.suffix[1:].upper()} file ({exc}); "
                         "fix it") from None
    lines = [(n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not lines:
        raise InputError(f"{path}: the manifest is empty; give a header row (file, title, "
                         "author, date, publisher, url, …) and one row per file")
    header = [clean_value(c) for c in lines[0][1]]
    manifest = Manifest(path)
    for line, row in lines[1:]:
        name = Path(row[0].strip()).name if row and row[0].strip() else ""
        if not name:
            raise InputError(f"{path}:{line}: no file name in the first column; give the "
                             "file's name, or remove the row")
        if len(row) > len(header):
            raise InputError(f"{path}:{line}: {len(row)} columns but the header has "
                             f"{len(header)}; quote values that hold a "
                             f"{'tab' if delimiter == chr(9) else 'comma'}")
        if name in manifest.rows:
            first = manifest.rows[name][0]
            manifest.problems[name] = (f"{path}:{line}: {name} has a row already (line "
                                       f"{first}); keep one row per file")
        values = {h: v for h, v in zip(header[1:], row[1:]) if h}
        manifest.rows.setdefault(name, (line, values))
    return manifest


def check_manifests(inputs: Iterable[Path]) -> list[InputError]:
    """Problems of the manifests beside `inputs` that concern no one input: a row for a
    file that is not in the folder, a manifest that cannot be read.  One error each."""
    problems = []
    for folder in dict.fromkeys(Path(p).parent for p in inputs):
        try:
            manifest = load_manifest(folder)
        except InputError as exc:
            problems.append(exc)
            continue
        if manifest is None:
            continue
        for name, (line, _) in manifest.rows.items():
            if not (folder / name).exists():
                problems.append(InputError(
                    f"{manifest.path}:{line}: names {name}, which is not in "
                    f"{folder if str(folder) != '.' else 'this folder'}; correct the file "
                    "name or remove the row"))
    return problems


# -- the sidecar -------------------------------------------------------------------------


def sidecar_path(path: Path) -> Path | None:
    """NAME.meta.json beside `path` (the whole name first, then the name without suffix)."""
    path = Path(path)
    for candidate in (path.with_name(path.name + SIDECAR_SUFFIX),
                      path.with_name(path.stem + SIDECAR_SUFFIX)):
        if candidate.is_file():
            return candidate
    return None


def load_sidecar(path: Path) -> dict[str, object]:
    """The JSON object of a sidecar file (InputError if it is not one)."""
    from zhen.readers.base import read_limited

    data = read_limited(path, MAX_SIDECAR_BYTES, "metadata file")
    from zhen.bounds import load_json

    try:
        value = load_json(data.decode("utf-8-sig"), str(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid UTF-8 JSON ({exc}); fix it") from None
    if not isinstance(value, dict):
        raise InputError(f'{path}: not a JSON object; write {{"title": "…", "date": '
                         '"2025-03-04", …}')
    return value


# -- together ----------------------------------------------------------------------------


def external_fields(path: Path) -> dict[str, str]:
    """The fields given for `path` outside it: its manifest row, then its sidecar on top.
    InputError for a manifest or sidecar that cannot be used for this file."""
    path = Path(path)
    manifest = load_manifest(path.parent)
    fields = manifest.fields_for(path.name) if manifest else {}
    sidecar = sidecar_path(path)
    if sidecar is not None:
        fields.update(fields_from(load_sidecar(sidecar), str(sidecar)))
    return fields


def metadata_digest(fields: Mapping[str, str], fmt: str | None = None) -> str:
    """sha256 of the metadata given from outside a file and of the format it is read as:
    what, besides the file's bytes, decides a translation's header (for --update)."""
    canonical = json.dumps({"format": fmt or "", "fields": dict(sorted(fields.items()))},
                           ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
