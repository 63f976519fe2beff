"""Translate many input files in one process: read → segment → match → translate → TEI → write.

Input is streamed: paragraphs are read, segmented and annotated as they come, gathered
(from one file or several consecutive ones) into windows of about WINDOW_SENTENCES
sentences that share decoder batches, and each translated window is stored in the
translation memory and serialised at once (`TeiWriter`), so memory stays bounded however
large a file is.  A file's TEI is written, atomically, as soon as its last paragraph is
done.  A run killed at any point leaves complete outputs or none, and a rerun takes every
window already translated from the memory.  The model is loaded once, and only if some
sentence is not in the translation memory.

People's translations come first: before any output is overwritten, the human sentences
in it (edited in the file, or marked human before) go into the memory (`edits`), and
every sentence with a human translation (from those files or the memory) takes it instead
of a machine translation.  An edit whose Chinese sentence is gone stays in the memory.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .digests import file_sha256, normalise_sentence
from .edits import ExistingOutput, inspect_output
from .errors import InputError, OutputError, ZhenError
from .glossary import Glossary, load_glossary
from .memory import HumanTranslation, TranslationMemory, memory_context, sentence_key
from .model import Document, Origin, Paragraph, Provenance, Sentence, SourceInfo, TermStatus
from .packages import ArgosPackage, resolve_package
from .reader import TextStream, display_name, read_text_file
from .renderings import locate_renderings
from .segment import segment_sentences
from .tei import TeiWriter
from .terms import TermMatcher, match_terms
from .translate import DecodingOptions, Translator, thread_split
from .writer import atomic_output, output_error, prepare_output_folder

log = logging.getLogger("zhen")

# Sentences gathered before decoding: enough for full, length-sorted decoder batches; small
# enough that a killed run loses little work (each window goes to the memory when decoded).
WINDOW_SENTENCES = 500
_HEADING_END = re.compile(r"[。！？；.!?;…：:，,]$")


@dataclass
class FileResult:
    input: Path
    output: Path | None = None
    sentences: int = 0
    from_memory: int = 0
    human: int = 0  # sentences with a person's translation
    error: str | None = None
    up_to_date: bool = False  # skipped: the output already holds this translation
    edits: int = 0  # human sentences in the output this one replaced
    edits_carried: int = 0  # of those, whose Chinese sentence is still in the input


@dataclass
class BatchReport:
    files: list[FileResult] = field(default_factory=list)
    decoder_calls: int = 0
    sentences_translated: int = 0
    model_loaded: bool = False
    edits_stored: int = 0  # human translations the memory gained or updated from outputs

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    @property
    def written(self) -> list[FileResult]:
        return [f for f in self.files if f.output and not f.error and not f.up_to_date]

    @property
    def up_to_date(self) -> list[FileResult]:
        return [f for f in self.files if f.up_to_date]

    @property
    def edits(self) -> tuple[int, int]:
        """(human sentences of rewritten outputs carried into the new ones, those whose
        Chinese sentence is gone: kept in the memory only)."""
        done = [f for f in self.files if f.output and not f.error and not f.up_to_date]
        carried = sum(f.edits_carried for f in done)
        return carried, sum(f.edits for f in done) - carried


def output_path(input_path: Path, out_dir: Path) -> Path:
    """output/<input stem>.tei.xml"""
    return Path(out_dir) / f"{Path(input_path).stem}.tei.xml"


def make_paragraph(number: int, text: str, matcher: TermMatcher) -> Paragraph:
    """Paragraph "p<number>": its sentences segmented and their glossary terms matched."""
    return Paragraph(
        id=f"p{number}",
        sentences=[
            Sentence(id=f"p{number}.s{n}", zh=zh, terms=match_terms(matcher, zh))
            for n, zh in enumerate(segment_sentences(text), start=1)
        ],
    )


def prepare_document(path: Path, matcher: TermMatcher, glossary: Glossary) -> Document:
    """Read, segment and annotate one whole input file (no translation yet)."""
    paragraphs, source = read_text_file(Path(path))
    if source.dropped_chars:
        log.warning("%s: dropped %d character(s) that XML 1.0 forbids", path, source.dropped_chars)
    paras = [make_paragraph(n, text, matcher) for n, text in enumerate(paragraphs, start=1)]
    used = {o.term_id for p in paras for s in p.sentences for o in s.terms}
    by_id = {t.id: t for t in glossary.terms}
    return Document(
        id=Path(path).stem,
        title=document_title(paragraphs, display_name(Path(path).stem)),
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


@dataclass(eq=False)
class _Job:
    """One input file on its way through: read as a stream, its TEI spooled paragraph by
    paragraph, written when its last paragraph is translated."""

    result: FileResult
    target: Path
    writer: TeiWriter
    title: str = ""
    terms: set[str] = field(default_factory=set)
    from_memory: int = 0
    edits: set[str] = field(default_factory=set)  # sources of the old output's human sentences
    sources: set[str] = field(default_factory=set)  # normalised Chinese sentences read
    source: SourceInfo | None = None  # once the whole file has been read
    waiting: int = 0  # paragraphs in the current window


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
        # People's translations found in outputs about to be overwritten, by normalised
        # source: those edited in the file win over the memory, those marked human before
        # serve where the memory has none (it may be off, or another file).
        self._edited: dict[str, HumanTranslation] = {}
        self._carried: dict[str, HumanTranslation] = {}
        self.context = memory_context(self.package.package_id, self.options.output_key())
        # Without a memory, this run's own translations by key, so that no sentence is
        # decoded twice in one run either (bounded: the oldest are forgotten first).
        self._run_cache: OrderedDict[str, Sentence] = OrderedDict()
        self.saved = 0  # decoded sentences already stored (what an interrupted run keeps)
        self._targets: dict[Path, Path] = {}  # inputs written to a file of another name

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = Translator(self.package, self.options)
        return self._translator

    def provenance(self, from_memory: int = 0, engine: bool = True) -> Provenance:
        """The header's account of this batch; engine=False leaves out the CTranslate2
        version, which takes importing it."""
        if engine:
            import ctranslate2
        return Provenance(
            package_name=self.package.name,
            package_version=self.package.version,
            package_synthetic=self.package.synthetic,
            ctranslate2_version=ctranslate2.__version__ if engine else "",
            beam_size=self.options.beam_size,
            compute_type=self.options.compute_type,
            glossary_path=self.glossary.path.name,
            glossary_sha256=self.glossary.sha256,
            pipeline_version=__version__,
            date=_dt.date.today().isoformat(),
            sentences_from_memory=from_memory,
            glossary_enforcement=self.options.enforcement_summary(),
            length_cap=self.options.length_cap_summary(),
        )

    def is_up_to_date(self, path: Path, existing: ExistingOutput | None) -> bool:
        """Whether the existing output already holds the translation of `path` that this
        batch would make: same source bytes, the same model, decoding settings, glossary
        and zhen version in its header, and no edit made in it since zhen wrote it."""
        if existing is None or existing.edited:
            return False
        try:
            source_sha256 = file_sha256(path)
        except OSError:
            return False
        doc = existing.doc
        return (doc.source.sha256 == source_sha256
                and _settings(doc.provenance) == self._settings)

    def keep_edits(self, existing: ExistingOutput) -> int:
        """Put the human sentences of an output about to be overwritten into the memory
        and in reach of this run; return how many the memory gained or updated."""
        edited, carried = existing.translations(self.glossary.sha256)
        for item in carried:
            self._carried.setdefault(item.key, item)
        for item in edited:
            self._edited[item.key] = item
        if self.memory is None:
            return 0
        counts = self.memory.store_human(edited)
        counts += self.memory.store_human(carried, only_new=True)
        return counts.added + counts.updated

    def apply_human(self, sentences: list[Sentence]) -> list[Sentence]:
        """Give each sentence that has a person's translation that translation (its
        renderings re-located: EDITED, or MISSED where the person's English lacks one);
        return the others."""
        keys = [normalise_sentence(s.zh) for s in sentences]
        wanted = [k for k in keys if k not in self._edited]
        stored = self.memory.lookup_human(wanted) if self.memory and wanted else {}
        rest = []
        for s, key in zip(sentences, keys):
            found = self._edited.get(key) or stored.get(key) or self._carried.get(key)
            if found is None:
                rest.append(s)
                continue
            s.en, s.origin, s.translator = found.target, Origin.HUMAN, found.translator
            locate_renderings(s, self.terms, TermStatus.EDITED)
        return rest

    @functools.cached_property
    def _settings(self) -> tuple:
        return _settings(self.provenance(engine=False))

    def translate_sentences(self, sentences: list[Sentence], progress=None) -> int:
        """Fill the English side of `sentences`: people's translations first, then the
        memory, then the decoder, each distinct sentence decoded once (its repetitions
        take its result).  Decoded sentences are stored chunk by chunk as they are done,
        so an interrupted run keeps all but the chunk in flight.  Returns how many
        distinct sentences went through the decoder."""
        progress = progress or (lambda n: None)
        rest = self.apply_human(sentences)
        keyed = [(sentence_key(self.context, s, self.terms), s) for s in rest]
        todo = self.memory.lookup(keyed) if self.memory else self._from_run_cache(keyed)
        progress(len(sentences) - len(todo))
        groups: dict[tuple[str, str], list[Sentence]] = {}
        for key, s in todo:
            groups.setdefault((key, s.zh), []).append(s)
        distinct = [(key, copies[0]) for (key, _), copies in groups.items()]
        for chunk in _chunks(distinct, self.chunk_sentences):
            self.translator.translate([s for _, s in chunk], self.terms, progress)
            for key, first in chunk:
                for copy in groups[key, first.zh][1:]:
                    _copy_translation(first, copy)
                progress(len(groups[key, first.zh]) - 1)
            if self.memory:
                self.memory.store(self.package.package_id, chunk)
            else:
                self._to_run_cache(chunk)
            self.saved += len(chunk)
        return len(distinct)

    @functools.cached_property
    def chunk_sentences(self) -> int:
        """Sentences decoded (and stored) together: about four batches per worker."""
        inter, _ = thread_split(self.options.threads, self.options.batch_type)
        per_batch = (self.options.batch_size // 32 if self.options.batch_type == "tokens"
                     else self.options.batch_size)
        return max(16, 4 * inter * per_batch)

    RUN_CACHE_SIZE = 100_000

    def _from_run_cache(self, keyed):
        missing = []
        for key, s in keyed:
            done = self._run_cache.get(key)
            if done is not None and done.zh == s.zh:
                _copy_translation(done, s)
            else:
                missing.append((key, s))
        return missing

    def _to_run_cache(self, keyed) -> None:
        for key, s in keyed:
            self._run_cache[key] = s
        while len(self._run_cache) > self.RUN_CACHE_SIZE:
            self._run_cache.popitem(last=False)

    def run(
        self,
        inputs: Iterable[Path],
        out_dir: Path,
        keep_going: bool = False,
        show_progress: bool | None = None,
        update: bool = False,
        out_file: Path | None = None,
    ) -> BatchReport:
        """Translate every input into out_dir/<stem>.tei.xml (or the one input into
        `out_file`); see BatchReport for the outcome.

        Without keep_going the first failing input stops the run: the inputs before it
        are finished, none after it is read, and the error is raised.  With update, an
        input whose output is up to date (`is_up_to_date`) is skipped.
        """
        from tqdm import tqdm

        report = BatchReport()
        inputs = list(map(Path, inputs))
        if out_file is not None:
            if len(inputs) != 1:
                raise InputError(f"{out_file}: an output file takes one input, not "
                                 f"{len(inputs)}; give a folder with -o for several")
            out_dir = Path(out_file).parent
        self._targets = {inputs[0]: Path(out_file)} if out_file is not None else {}
        paths = self._plan(inputs, out_dir, report, keep_going)
        existing: dict[Path, ExistingOutput] = {}
        refused: dict[Path, ZhenError] = {}  # outputs not to overwrite, failed in their turn
        stale = []
        for path in paths:  # every output's human sentences are kept before any is written
            target = self._target(path, out_dir)
            try:
                found = inspect_output(target, self.memory)
            except ZhenError as exc:
                refused[path] = exc
                stale.append(path)
                continue
            if update and self.is_up_to_date(path, found):
                report.files.append(FileResult(path, target, up_to_date=True))
                continue
            if found is not None:
                existing[path] = found
                report.edits_stored += self.keep_edits(found)
            stale.append(path)
        paths = stale
        prepare_output_folder(out_dir)
        disable = None if show_progress is None else not show_progress  # None: only on a TTY
        bar = tqdm(total=0, unit="sent", desc="translating", disable=disable, leave=False)
        window: list[tuple[_Job, Paragraph]] = []
        pending = 0  # sentences in the window
        jobs: list[_Job] = []  # read, not yet written
        try:
            for path in paths:
                result = FileResult(Path(path))
                report.files.append(result)
                if path in refused:
                    if not keep_going:  # finish the inputs before this one, then stop
                        self._flush(window, jobs, report, bar, keep_going)
                    self._fail(result, refused[path], keep_going)
                    continue
                job = _Job(result, self._target(path, out_dir), TeiWriter(out_dir))
                if path in existing:
                    job.edits = existing[path].keys()
                jobs.append(job)
                reading = self._read(job)
                while True:
                    try:
                        para = next(reading)
                    except StopIteration:
                        break
                    except ZhenError as exc:  # this input cannot be read
                        window[:] = [(j, p) for j, p in window if j is not job]
                        self._drop(job, jobs)
                        pending = sum(len(p.sentences) for _, p in window)
                        if not keep_going:  # finish the inputs before this one, then stop
                            self._flush(window, jobs, report, bar, keep_going)
                        self._fail(result, exc, keep_going)
                        break
                    window.append((job, para))
                    pending += len(para.sentences)
                    bar.total += len(para.sentences)
                    if pending >= WINDOW_SENTENCES:
                        self._flush(window, jobs, report, bar, keep_going)
                        pending = 0
                if job.source is not None and not job.waiting:  # all flushed already
                    self._finish(job, jobs, keep_going)
            self._flush(window, jobs, report, bar, keep_going)
        finally:
            bar.close()
            for job in jobs:  # left unfinished by an exception
                job.writer.close()
            if self._translator is not None:
                report.decoder_calls = self._translator.decoder_calls
                report.model_loaded = True
        return report

    def _target(self, path: Path, out_dir: Path) -> Path:
        return self._targets.get(Path(path)) or output_path(path, out_dir)

    def _plan(self, inputs, out_dir, report: BatchReport, keep_going: bool) -> list[Path]:
        """The inputs to translate: one file named twice is translated once; two files
        that would be written to the same output are an error (the second would win)."""
        planned: dict[Path, Path] = {}
        for path in map(Path, inputs):
            target = self._target(path, out_dir)
            first = planned.setdefault(Path(os.path.abspath(target)), path)
            if first is path or _same_file(first, path):
                continue
            exc = InputError(
                f"{first} and {path} would both be written to {target}; rename one "
                "or translate them into different folders"
            )
            report.files.append(FileResult(path, error=str(exc)))
            self._fail(report.files[-1], exc, keep_going)
        return list(planned.values())

    def _read(self, job: _Job) -> Iterator[Paragraph]:
        """The paragraphs of one input, segmented and annotated, read as a stream; sets
        job.source at the end.  Raises ZhenError if the input cannot be read."""
        stream = TextStream(job.result.input)
        for number, text in enumerate(stream.paragraphs(), start=1):
            if number == 1:
                job.title = document_title([text], display_name(job.result.input.stem))
            job.waiting += 1
            yield make_paragraph(number, text, self.matcher)
        job.source = stream.info()
        if job.source.dropped_chars:
            log.warning("%s: dropped %d character(s) that XML 1.0 forbids",
                        job.result.input, job.source.dropped_chars)

    def _flush(self, window, jobs, report: BatchReport, bar, keep_going: bool) -> None:
        """Translate the window, spool each paragraph's TEI, write the files now complete.

        The window is emptied (in place)."""
        if not window:
            return
        sentences = [s for _, para in window for s in para.sentences]
        report.sentences_translated += self.translate_sentences(sentences, bar.update)
        done, window[:] = list(window), []
        for job, para in done:
            job.waiting -= 1
            if job not in jobs:
                continue  # failed meanwhile
            job.from_memory += sum(1 for s in para.sentences if s.from_memory)
            job.sources.update(normalise_sentence(s.zh) for s in para.sentences)
            job.terms.update(o.term_id for s in para.sentences for o in s.terms)
            try:
                job.writer.add(para)
            except OSError as exc:  # a spool spilling to a full disk
                self._drop(job, jobs)
                self._fail(job.result, output_error(job.target, exc), keep_going)
        for job in [j for j in jobs if j.source is not None and not j.waiting]:
            self._finish(job, jobs, keep_going)

    def _finish(self, job: _Job, jobs, keep_going: bool) -> None:
        """Write a completely translated file's TEI (atomically) and forget the job.

        An old output's human sentence whose Chinese sentence is gone is kept in the
        memory; without one, the old output is not overwritten."""
        gone = len(job.edits - job.sources)
        if gone and self.memory is None:
            self._drop(job, jobs)
            exc = OutputError(
                f"{job.target}: {gone} human edit(s) in it no longer match a sentence of "
                f"{job.result.input} and there is no memory to keep them: left as it was; "
                "run without --no-memory"
            )
            self._fail(job.result, exc, keep_going)
            return
        doc = Document(
            id=job.result.input.stem,
            title=job.title,
            source=job.source,
            provenance=self.provenance(job.from_memory),
            terms={tid: self.terms[tid] for tid in sorted(job.terms)},
        )
        self._drop(job, jobs, close=False)
        try:
            with atomic_output(job.target) as fh:
                job.writer.write(fh, doc)
        except ZhenError as exc:
            self._fail(job.result, exc, keep_going)
            return
        finally:
            job.writer.close()
        job.result.output = job.target
        job.result.sentences = job.writer.sentences
        job.result.from_memory = job.from_memory
        job.result.human = job.writer.tally.human
        job.result.edits = len(job.edits)
        job.result.edits_carried = len(job.edits & job.sources)

    @staticmethod
    def _drop(job: _Job, jobs: list[_Job], close: bool = True) -> None:
        if job in jobs:
            jobs.remove(job)
        if close:
            job.writer.close()

    @staticmethod
    def _fail(result: FileResult, exc: ZhenError, keep_going: bool) -> None:
        result.error = str(exc)
        if not keep_going:
            raise exc
        log.error("%s", exc)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _copy_translation(done: Sentence, copy: Sentence) -> None:
    """Give `copy` (the same Chinese sentence, the same terms) the translation of `done`."""
    copy.en, copy.origin = done.en, done.origin
    for occ, src in zip(copy.terms, done.terms):
        occ.en_start, occ.en_end, occ.status = src.en_start, src.en_end, src.status


def _settings(prov: Provenance) -> tuple:
    """What in a TEI header decides its translation, besides the source."""
    return (prov.package_name, prov.package_version, prov.beam_size, prov.compute_type,
            prov.length_cap, prov.glossary_enforcement, prov.glossary_sha256,
            prov.pipeline_version)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def translate_files(
    inputs: Iterable[Path],
    out_dir: Path,
    glossary_path: Path,
    model: str | None = None,
    options: DecodingOptions | None = None,
    memory_path: Path | None = None,
    keep_going: bool = False,
    show_progress: bool | None = None,
    update: bool = False,
    out_file: Path | None = None,
) -> BatchReport:
    """Library entry point: translate files to TEI, as `zhen translate` does."""
    memory = TranslationMemory(memory_path) if memory_path else None
    batch = None
    try:
        batch = BatchTranslator(glossary_path, model, options, memory)
        return batch.run(inputs, out_dir, keep_going, show_progress, update, out_file)
    except KeyboardInterrupt as exc:
        saved = batch.saved if batch is not None and memory is not None else None
        raise Interrupted(saved) from exc
    finally:
        if memory:
            memory.close()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run; `saved`: decoded sentences the memory keeps (None
    without a memory)."""

    def __init__(self, saved: int | None):
        super().__init__(saved)
        self.saved = saved
