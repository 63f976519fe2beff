"""OmegaT projects: the project file, the project memory and the glossary, as OmegaT 3.6+ has them.

An OmegaT project is a folder (OmegaT's manual, "Project folder"):

    omegat.project            languages, tokenizers, sentence segmentation, folders
    omegat/filters.xml        the project's file filters (optional: else the user's)
    omegat/project_save.tmx   the project memory: every segment the translator translated
    source/                   the files to translate
    target/                   the translated files, made by "Create translated documents"
    tm/  tm/auto/ tm/enforce/ tm/mt/ tm/penalty-NN/   reference memories (TMX)
    glossary/                 tab-separated glossaries

What OmegaT does with them (read in its sources, tag v3.6.0_08, and checked with Debian's
3.6.0.10 in console mode):

* The XLIFF filter (`*.xlf`) translates the text of `<target>`, not of `<source>` (the Okapi
  Rainbow convention: the target starts as a copy of the source); a unit without a target
  gives no segment.  A unit's `<note>`s are the segment's comment (the Comments pane).  Its
  option `alttransidtype=ELEMENT_ID` makes the trans-unit id the segment's id, so that an
  alternative translation is recorded against zhen's sentence id (`prop type="id"`).
* Segments are trimmed: white space around a unit's text stays outside the segment.
* `project_save.tmx` is TMX 1.1 (`lang`, not `xml:lang`).  A *default* translation is keyed by
  the source text alone (every identical segment shares it); an *alternative* one carries
  `prop type="file"` (the source file's path under source/) and `id` (or `prev`/`next`,
  the neighbouring segments' sources).  The English `tuv` records `changeid`, `changedate`,
  `creationid` and `creationdate` (yyyymmddThhmmssZ, UTC).
* A TMX in `tm/` offers its matches in the Fuzzy Matches pane; one in `tm/mt/` likewise, and
  a match inserted from it marks the segment as coming from machine translation (3.6:
  MainWindow/ComesFromTMMarker; 4.x+: DataUtils.isFromMTMemory).  `tm/auto/` fills
  untranslated segments on load, `tm/enforce/` overwrites translated ones.
* Glossaries: `glossary/*.txt` (encoding detected; a UTF-8 byte-order mark makes it certain
  and is skipped), one entry per line: source TAB target [TAB comment]; `#` lines skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from zhen.errors import InputError
from zhen.formats.languages import SOURCE_LANGUAGE, TARGET_LANGUAGE, is_chinese, is_english
from zhen.formats.tmx import seg_text, tuv_lang
from zhen.xmlsafe import local_name, parse_untrusted_xml

PROJECT_FILE = "omegat.project"
INTERNAL_DIR = "omegat"
PROJECT_SAVE = "omegat/project_save.tmx"
FILTERS_FILE = "omegat/filters.xml"
SOURCE_DIR, TARGET_DIR, TM_DIR, GLOSSARY_DIR = "source", "target", "tm", "glossary"
MT_DIR = "tm/mt"
STATS_FILE = "omegat/project_stats.txt"
SOURCE_TOKENIZER = "org.omegat.tokenizer.LuceneSmartChineseTokenizer"
TARGET_TOKENIZER = "org.omegat.tokenizer.LuceneEnglishTokenizer"
XLIFF_FILTER = "org.omegat.filters3.xml.xliff.XLIFFFilter"
MAX_PROJECT_FILE_BYTES = 1024 * 1024
MAX_PROJECT_SAVE_BYTES = 256 * 1024 * 1024
TMX_DATE = "%Y%m%dT%H%M%SZ"

# the folders OmegaT creates in a new project (dictionary/ for StarDict/Lingvo dictionaries)
FOLDERS = (INTERNAL_DIR, SOURCE_DIR, TARGET_DIR, TM_DIR, "tm/auto", MT_DIR, GLOSSARY_DIR,
           "dictionary")


# ---------------------------------------------------------------- the project file


def render_project_file() -> bytes:
    """omegat.project for a zh-CN → en project, one zhen sentence per segment (OmegaT's own
    sentence segmentation off), every folder at its default place."""
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<omegat>
<project version="1.0">
<source_dir>__DEFAULT__</source_dir>
<source_dir_excludes>
<mask>**/.svn/**</mask>
<mask>**/CVS/**</mask>
<mask>**/.git/**</mask>
<mask>**/desktop.ini</mask>
<mask>**/Thumbs.db</mask>
<mask>**/.DS_Store</mask>
</source_dir_excludes>
<target_dir>__DEFAULT__</target_dir>
<tm_dir>__DEFAULT__</tm_dir>
<glossary_dir>__DEFAULT__</glossary_dir>
<glossary_file>__DEFAULT__</glossary_file>
<dictionary_dir>__DEFAULT__</dictionary_dir>
<source_lang>{SOURCE_LANGUAGE}</source_lang>
<target_lang>{TARGET_LANGUAGE}</target_lang>
<source_tok>{SOURCE_TOKENIZER}</source_tok>
<target_tok>{TARGET_TOKENIZER}</target_tok>
<sentence_seg>false</sentence_seg>
<support_default_translations>true</support_default_translations>
<remove_tags>false</remove_tags>
<external_command></external_command>
</project>
</omegat>
""".encode()


def render_filters() -> bytes:
    """omegat/filters.xml: the XLIFF filter with the trans-unit id as segment id.  OmegaT
    adds its other filters, with their defaults, when it loads the project."""
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<filters>
    <filter className="{XLIFF_FILTER}" enabled="true">
        <files sourceFilenameMask="*.xlf" targetFilenamePattern="${{filename}}"/>
        <files sourceFilenameMask="*.xliff" targetFilenamePattern="${{filename}}"/>
        <option name="alttransidtype" value="ELEMENT_ID"/>
    </filter>
</filters>
""".encode()


@dataclass(frozen=True)
class ProjectInfo:
    """What zhen needs of an omegat.project."""

    root: Path
    source_language: str
    target_language: str
    source_dir: Path
    target_dir: Path

    @property
    def project_save(self) -> Path:
        return self.root / PROJECT_SAVE


def _project_dir(root: Path, value: str, default: str) -> Path:
    if not value or value == "__DEFAULT__":
        return root / default
    path = Path(value)
    return path if path.is_absolute() else root / path


def read_project(folder: str | Path) -> ProjectInfo:
    """The omegat.project of `folder`.  Raises InputError (one line) for a folder that is not
    an OmegaT project, a broken project file, or a pair other than Chinese → English."""
    root = Path(folder)
    path = root / PROJECT_FILE
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; give the folder of an OmegaT project")
    if not path.is_file():
        raise InputError(f"{root}: not an OmegaT project (it has no {PROJECT_FILE}); give the "
                         "folder `zhen export omegat` wrote")
    top = parse_untrusted_xml(path, MAX_PROJECT_FILE_BYTES, InputError, "an OmegaT project file")
    project = top.find("project") if local_name(top) == "omegat" else None
    if project is None:
        raise InputError(f"{path}: not an OmegaT project file (no <omegat><project>)")

    def field(name: str) -> str:
        return (project.findtext(name) or "").strip()

    source, target = field("source_lang"), field("target_lang")
    if not is_chinese(source) or not is_english(target):
        raise InputError(f"{path}: the project translates {source or '?'} → {target or '?'}; "
                         "zhen imports Chinese → English projects only")
    return ProjectInfo(root, source, target,
                       _project_dir(root, field("source_dir"), SOURCE_DIR),
                       _project_dir(root, field("target_dir"), TARGET_DIR))


# ---------------------------------------------------------------- the project memory


@dataclass(frozen=True)
class SavedTranslation:
    """One translation of OmegaT's project memory."""

    source: str
    target: str
    changeid: str = ""  # who changed it last, as OmegaT records it (its user name)
    creationid: str = ""
    changedate: str = ""  # yyyymmddThhmmssZ
    file: str = ""  # alternative translations: the source file's path under source/
    id: str = ""  # … and the segment id (zhen's sentence id with alttransidtype ELEMENT_ID)
    prev: str = ""  # … or the neighbouring segments' sources
    next: str = ""

    @property
    def alternative(self) -> bool:
        return bool(self.file)

    @property
    def translator(self) -> str:
        return self.changeid or self.creationid


def read_project_save(path: str | Path) -> list[SavedTranslation]:
    """The translations of an OmegaT project memory (project_save.tmx), in file order.

    Each `tu` gives its Chinese and English `tuv` (any zh… and en… code, `lang` or
    `xml:lang`, any case); a `tu` without both, or with an empty English, is left out.
    Raises InputError (one line) for a file that is huge, declares entities, is not
    well-formed or is no TMX."""
    path = Path(path)
    root = parse_untrusted_xml(path, MAX_PROJECT_SAVE_BYTES, InputError,
                               "an OmegaT project memory")
    if local_name(root) != "tmx":
        raise InputError(f"{path}: not a TMX file (root element <{local_name(root)}>); "
                         "OmegaT's project memory is a TMX file")
    found = []
    for tu in root.iter("tu"):
        props = {p.get("type"): (p.text or "") for p in tu if local_name(p) == "prop"}
        tuvs = [t for t in tu if local_name(t) == "tuv"]
        zh = next((t for t in tuvs if is_chinese(tuv_lang(t))), None)
        en = next((t for t in tuvs if is_english(tuv_lang(t))), None)
        if zh is None or en is None:
            continue
        source, target = seg_text(zh), seg_text(en)
        if not source.strip() or not target.strip():
            continue
        found.append(SavedTranslation(
            source=source, target=target,
            changeid=en.get("changeid") or "", creationid=en.get("creationid") or "",
            changedate=en.get("changedate") or en.get("creationdate") or "",
            file=props.get("file", ""), id=props.get("id", ""),
            prev=props.get("prev", ""), next=props.get("next", ""),
        ))
    return found


def render_project_save(entries: Iterable[SavedTranslation]) -> bytes:
    """A project memory as OmegaT 3.6 writes it (TMX 1.1, `lang`), default translations
    first, then alternative ones (with their file and id)."""
    from lxml import etree

    entries = list(entries)
    root = etree.Element("tmx", version="1.1")
    etree.SubElement(root, "header", {
        "creationtool": "OmegaT", "o-tmf": "OmegaT TMX", "adminlang": "EN-US",
        "datatype": "plaintext", "creationtoolversion": "3.6.0", "segtype": "paragraph",
        "srclang": SOURCE_LANGUAGE})
    body = etree.SubElement(root, "body")
    for alternative in (False, True):
        body.append(etree.Comment(" Alternative translations " if alternative
                                  else " Default translations "))
        for e in (e for e in entries if e.alternative == alternative):
            tu = etree.SubElement(body, "tu")
            for kind in ("file", "id", "prev", "next"):
                if value := getattr(e, kind):
                    etree.SubElement(tu, "prop", type=kind).text = value
            etree.SubElement(etree.SubElement(tu, "tuv", lang=SOURCE_LANGUAGE),
                             "seg").text = e.source
            english = etree.SubElement(tu, "tuv", lang=TARGET_LANGUAGE)
            for name, value in (("changeid", e.changeid), ("changedate", e.changedate),
                                ("creationid", e.creationid), ("creationdate", e.changedate)):
                if value:
                    english.set(name, value)
            etree.SubElement(english, "seg").text = e.target
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True,
                          doctype='<!DOCTYPE tmx SYSTEM "tmx11.dtd">')


def tmx_date(seconds: float | None = None) -> str:
    """A TMX date (UTC), now when `seconds` is None."""
    return time.strftime(TMX_DATE, time.gmtime(seconds))


# ---------------------------------------------------------------- the glossary


def _cell(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def render_glossary(rows: Sequence[tuple[str, str, str]]) -> bytes:
    """An OmegaT glossary: source TAB target TAB comment per line, UTF-8 with a byte-order
    mark (so OmegaT's encoding detection cannot take it for another encoding)."""
    lines = ["# zhen glossary: Chinese\tapproved English\tnote"]
    lines += ["\t".join(_cell(c) for c in row) for row in rows if _cell(row[0])]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")

