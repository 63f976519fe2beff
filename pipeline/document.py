"""The plain data model passed from stage to stage.

read → segment → match terms → translate → build TEI → write.  Every stage takes and
returns these objects; none of them does I/O.  Offsets are Python string indices
(code points) into the sentence text they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class TermKind(str, Enum):
    """What a glossary entry asks of the translation."""

    TERM = "term"  # translate with the approved English rendering
    KEEP = "keep"  # do-not-translate: the rendering is the source form itself (CPTPP, GDP)


@dataclass(frozen=True)
class Term:
    """One glossary entry."""

    id: str  # stable, an XML NCName (letters, digits, '-', '.', '_'; starts with a letter)
    zh: str  # the preferred Chinese form (simplified)
    en: str  # the approved English rendering ('' never: lint rejects it)
    variants: tuple[str, ...] = ()  # other Chinese forms typed by a maintainer
    kind: TermKind = TermKind.TERM
    note: str = ""

    @property
    def rendering(self) -> str:
        """The English text the translation must contain."""
        return self.zh if self.kind is TermKind.KEEP else self.en


class TermStatus(str, Enum):
    """How the English side got (or failed to get) a term's approved rendering."""

    MODEL = "model"  # the model's own best output already contained it
    ENFORCED = "enforced"  # obtained by choosing an n-best hypothesis or by prefix re-decoding
    MISSED = "missed"  # not in the English text; the occurrence is marked on the Chinese side only
    EDITED = "edited"  # present in a human-corrected English side read back from TEI


class Origin(str, Enum):
    """Who wrote a sentence's English."""

    MACHINE = "machine"  # decoded in this run
    MEMORY = "memory"  # a machine translation taken from the translation memory
    HUMAN = "human"  # a person's translation (an edit carried over, or from the memory)


@dataclass
class TermMatch:
    """One occurrence of a glossary term in a sentence, on both sides.

    `start`/`end` index the Chinese sentence; `en_start`/`en_end` index the English
    sentence and are None until the translation stage finds the rendering there.
    """

    term_id: str
    start: int
    end: int
    en_start: int | None = None
    en_end: int | None = None
    status: TermStatus | None = None


@dataclass
class Sentence:
    """One Chinese sentence and its English partner."""

    id: str  # e.g. "p3.s2": paragraph 3, sentence 2; TEI ids are derived from it
    zh: str
    en: str | None = None
    terms: list[TermMatch] = field(default_factory=list)
    origin: Origin = Origin.MACHINE
    translator: str = ""  # who, for a human translation ("" when not known)
    written_digest: str = ""  # read back: digest of the English as zhen wrote it ("" if none)
    qa: tuple[str, ...] = ()  # ids of the QA checks that flag the English (qa.CHECKS order)
    score: float | None = None  # model confidence: exp(mean token log-prob), 0..1; None if human

    @property
    def from_memory(self) -> bool:
        """The English is a machine translation taken from the translation memory."""
        return self.origin is Origin.MEMORY

    @property
    def human(self) -> bool:
        return self.origin is Origin.HUMAN

    @property
    def zh_text(self) -> str:
        """The Chinese as the TEI's `s`, XLIFF, TMX and OmegaT have it: without the white
        space after it, which the TEI writes between this `s` and the next (the segmenter
        leaves white space at the end of a sentence only; a line break, which no reader
        leaves in a paragraph, would stay)."""
        text = self.zh.rstrip()
        return self.zh if "\n" in self.zh[len(text):] else text

    def take_translation(self, done: Sentence) -> None:
        """Take the translation of `done` (the same Chinese sentence, the same terms)."""
        self.en, self.origin, self.score = done.en, done.origin, done.score
        for occ, src in zip(self.terms, done.terms):
            occ.en_start, occ.en_end, occ.status = src.en_start, src.en_end, src.status


@dataclass
class Paragraph:
    """One block of text: a paragraph, or a heading (kind "head", TEI `head`)."""

    id: str  # e.g. "p3" (paragraph 3) or "h2" (heading 2)
    sentences: list[Sentence] = field(default_factory=list)
    kind: str = "p"  # "p" or "head"
    level: int = 0  # of a heading: its section depth, 1 = outermost (0 for a paragraph)

    @property
    def zh(self) -> str:
        """The paragraph text, exactly as read (the sentences joined)."""
        return "".join(s.zh for s in self.sentences)


@dataclass
class SourceInfo:
    """Where a document came from."""

    filename: str  # base name of the input file
    sha256: str  # of the raw input bytes
    encoding: str  # detected encoding, e.g. "utf-8", "utf-8-sig", "gb18030"
    dropped_chars: int = 0  # characters XML 1.0 forbids, removed on reading
    text_sha256: str = ""  # of the Chinese side as written into the TEI (see tei.chinese_digest)
    meta_sha256: str = ""  # of the metadata given from outside the file (readers.metadata_digest)


@dataclass
class DocumentInfo:
    """What is known about a document besides its text: found in the file (HTML meta tags,
    DOCX core properties, Markdown front matter) or given beside it (manifest, sidecar)."""

    title: str = ""  # in Chinese, as the source gives it ("" when unknown)
    author: str = ""
    date: str = ""  # ISO 8601: YYYY, YYYY-MM or YYYY-MM-DD
    publisher: str = ""
    url: str = ""
    format: str = ""  # the reader that read the file: "txt", "html", "docx", "md"
    extra: tuple[tuple[str, str], ...] = ()  # other fields (name, value), e.g. a manifest column
    title_en: str = ""  # the title's English translation, once made

    @property
    def year(self) -> str:
        return self.date[:4]


@dataclass
class Provenance:
    """How the English side was made, for the TEI header."""

    package_name: str = ""
    package_version: str = ""
    package_synthetic: bool = False  # random-weight test model: its English is noise
    ctranslate2_version: str = ""
    glossary_path: str = ""
    glossary_sha256: str = ""
    pipeline_version: str = ""
    date: str = ""  # ISO 8601 date of the run
    sentences_from_memory: int = 0
    model_kind: str = ""  # engines kind: "argos", "opus-mt", "nllb"
    model_fingerprint: str = ""  # of the model's files (engines.fingerprint)
    device: str = ""  # "cpu" or "cuda"
    settings: str = ""  # every decoding setting, as JSON (settings.DecodingOptions.to_record)
    sentences_human: int = 0  # English sentences written or revised by a person
    translators: tuple[str, ...] = ()  # the people who did, as named to zhen
    model_desc: str = ""  # the engine's account of itself for people, where it gives one
    signature: str = ""  # the run signature (zhen.signature.RunSignature), "" before 0.3

    @property
    def options(self):
        """The decoding settings recorded (settings.DecodingOptions), or None."""
        from zhen.settings import DecodingOptions

        return DecodingOptions.from_record(self.settings) if self.settings else None

    @property
    def beam_size(self) -> int:
        return self.options.beam_size if self.settings else 0

    @property
    def compute_type(self) -> str:
        return self.options.compute_type if self.settings else ""

    @property
    def glossary_enforcement(self) -> str:
        """How renderings were enforced, e.g. "off"."""
        return self.options.enforcement_summary() if self.settings else ""

    @property
    def length_cap(self) -> str:
        """The output length cap, e.g. "1.5 x source tokens + 10"."""
        return self.options.length_cap_summary() if self.settings else ""


@dataclass
class Document:
    """A whole article: paragraphs of aligned sentences plus provenance."""

    id: str  # the input stem, also the TEI file stem
    title: str
    source: SourceInfo
    paragraphs: list[Paragraph] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)
    terms: dict[str, Term] = field(default_factory=dict)  # the glossary entries used here
    info: DocumentInfo = field(default_factory=DocumentInfo)

    def sentences(self) -> list[Sentence]:
        """All sentences in reading order."""
        return [s for p in self.paragraphs for s in p.sentences]
