"""Translate many input files in one process: read → segment → match → translate → TEI → write.

Files are processed in windows so that sentences of several files (and of every paragraph)
share decoder batches; the model is loaded once, and only if some sentence is not in the
translation memory.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import ZhenError
from .glossary import Glossary, load_glossary
from .memory import TranslationMemory, memory_context
from .model import Document, Provenance, Sentence
from .packages import ArgosPackage, resolve_package
from .reader import read_text_file
from .segment import segment_paragraphs
from .tei import tei_bytes
from .terms import TermMatcher, annotate_paragraphs
from .translate import DecodingOptions, Translator
from .writer import write_atomic

log = logging.getLogger("zhen")

WINDOW_SENTENCES = 2000  # sentences gathered from consecutive files before decoding
_HEADING_END = re.compile(r"[。！？；.!?;…：:，,]$")


@dataclass
class FileResult:
    input: Path
    output: Path | None = None
    sentences: int = 0
    from_memory: int = 0
    error: str | None = None


@dataclass
class BatchReport:
    files: list[FileResult] = field(default_factory=list)
    decoder_calls: int = 0
    sentences_translated: int = 0
    model_loaded: bool = False

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]


def output_path(input_path: Path, out_dir: Path) -> Path:
    """output/<input stem>.tei.xml"""
    return Path(out_dir) / f"{Path(input_path).stem}.tei.xml"


def prepare_document(path: Path, matcher: TermMatcher, glossary: Glossary) -> Document:
    """Read, segment and annotate one input file (no translation yet)."""
    paragraphs, source = read_text_file(Path(path))
    if source.dropped_chars:
        log.warning("%s: dropped %d character(s) that XML 1.0 forbids", path, source.dropped_chars)
    paras = segment_paragraphs(paragraphs)
    paras = annotate_paragraphs(paras, matcher)
    used = {o.term_id for p in paras for s in p.sentences for o in s.terms}
    by_id = {t.id: t for t in glossary.terms}
    return Document(
        id=Path(path).stem,
        title=document_title(paragraphs, Path(path).stem),
        source=source,
        paragraphs=paras,
        terms={tid: by_id[tid] for tid in sorted(used)},
    )


def document_title(paragraphs: list[str], fallback: str) -> str:
    """The first line when it reads as a heading (short, no final punctuation), else the stem."""
    first = paragraphs[0].strip() if paragraphs else ""
    if first and len(first) <= 80 and not _HEADING_END.search(first):
        return first
    return fallback


class BatchTranslator:
    """Holds what a batch shares: glossary, matcher, memory, and the model once needed."""

    def __init__(
        self,
        glossary_path: Path,
        model: str | None = None,
        options: DecodingOptions | None = None,
        memory: TranslationMemory | None = None,
    ):
        self.glossary = load_glossary(Path(glossary_path))
        self.matcher = TermMatcher.from_glossary(self.glossary)
        self.terms = {t.id: t for t in self.glossary.terms}
        self.options = options or DecodingOptions()
        self.package: ArgosPackage = resolve_package(model)
        self.memory = memory
        self._translator: Translator | None = None
        self.context = memory_context(
            self.package.package_id, self.options.output_key(), self.glossary.sha256
        )

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = Translator(self.package, self.options)
        return self._translator

    def provenance(self, from_memory: int) -> Provenance:
        import ctranslate2  # version only: cheap once the package metadata is known

        return Provenance(
            package_name=self.package.name,
            package_version=self.package.version,
            package_synthetic=self.package.synthetic,
            ctranslate2_version=ctranslate2.__version__,
            beam_size=self.options.beam_size,
            compute_type=self.options.compute_type,
            glossary_path=self.glossary.path.name,
            glossary_sha256=self.glossary.sha256,
            pipeline_version=__version__,
            date=_dt.date.today().isoformat(),
            sentences_from_memory=from_memory,
        )

    def translate_sentences(self, sentences: list[Sentence], progress=None) -> int:
        """Fill the English side of `sentences`; return how many went through the decoder."""
        todo = self.memory.lookup(self.context, sentences) if self.memory else list(sentences)
        if progress is not None and len(todo) < len(sentences):
            progress(len(sentences) - len(todo))
        if todo:
            self.translator.translate(todo, self.terms, progress)
            if self.memory:
                self.memory.store(self.context, self.package.package_id, todo)
        return len(todo)

    def run(
        self,
        inputs: Iterable[Path],
        out_dir: Path,
        keep_going: bool = False,
        show_progress: bool | None = None,
    ) -> BatchReport:
        """Translate every input into out_dir/<stem>.tei.xml; see BatchReport for the outcome."""
        from tqdm import tqdm

        report = BatchReport()
        disable = None if show_progress is None else not show_progress  # None: only on a TTY
        bar = tqdm(total=0, unit="sent", desc="translating", disable=disable, leave=False)
        window: list[tuple[FileResult, Document]] = []
        pending = 0
        try:
            for path in inputs:
                result = FileResult(Path(path))
                report.files.append(result)
                try:
                    doc = prepare_document(result.input, self.matcher, self.glossary)
                except ZhenError as exc:
                    self._fail(result, exc, keep_going)
                    continue
                window.append((result, doc))
                pending += len(doc.sentences())
                bar.total += len(doc.sentences())
                bar.refresh()
                if pending >= WINDOW_SENTENCES:
                    self._flush(window, out_dir, report, bar, keep_going)
                    window, pending = [], 0
            self._flush(window, out_dir, report, bar, keep_going)
        finally:
            bar.close()
            if self._translator is not None:
                report.decoder_calls = self._translator.decoder_calls
                report.model_loaded = True
        return report

    def _flush(self, window, out_dir, report: BatchReport, bar, keep_going: bool) -> None:
        if not window:
            return
        sentences = [s for _, doc in window for s in doc.sentences()]
        report.sentences_translated += self.translate_sentences(sentences, bar.update)
        for result, doc in window:
            hits = sum(1 for s in doc.sentences() if s.from_memory)
            doc.provenance = self.provenance(hits)
            target = output_path(result.input, out_dir)
            try:
                write_atomic(target, tei_bytes(doc))
            except ZhenError as exc:
                self._fail(result, exc, keep_going)
                continue
            result.output = target
            result.sentences = len(doc.sentences())
            result.from_memory = hits

    @staticmethod
    def _fail(result: FileResult, exc: ZhenError, keep_going: bool) -> None:
        result.error = str(exc)
        if not keep_going:
            raise exc
        log.error("%s", exc)


def translate_files(
    inputs: Iterable[Path],
    out_dir: Path,
    glossary_path: Path,
    model: str | None = None,
    options: DecodingOptions | None = None,
    memory_path: Path | None = None,
    keep_going: bool = False,
    show_progress: bool | None = None,
) -> BatchReport:
    """Library entry point: translate files to TEI, as `zhen translate` does."""
    memory = TranslationMemory(memory_path) if memory_path else None
    try:
        batch = BatchTranslator(glossary_path, model, options, memory)
        return batch.run(inputs, out_dir, keep_going, show_progress)
    finally:
        if memory:
            memory.close()
