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

Where chunks are decoded is one seam (`decoder`): here (`LocalDecoder`), or on a Dask
cluster (`--cluster`, cluster.py), which decodes the same chunks while the next windows
are read, each window written in order once decoded.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import os
import tempfile
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zhen import __version__
from zhen.digests import file_sha256, normalise_sentence
from zhen.document import (
    Document,
    DocumentInfo,
    Origin,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
    TermStatus,
)
from zhen.engines import ModelInfo, load_engine, resolve_model
from zhen.engines.engine import resolve_device, thread_split
from zhen.engines.translator import Translator
from zhen.errors import ClusterError, InputError, MemoryServerError, OutputError, ZhenError
from zhen.memory import HumanTranslation, MemoryBase, memory_context, open_memory, sentence_key
from zhen.readers import metadata_fingerprint, open_input
from zhen.readers.text import display_name
from zhen.segment import segment_sentences
from zhen.settings import DecodingOptions
from zhen.tei.body import TeiWriter
from zhen.tei.edits import ExistingOutput, inspect_output
from zhen.terminology.glossary import load_glossary
from zhen.terminology.matcher import TermMatcher, match_terms
from zhen.terminology.renderings import locate_renderings
from zhen.writer import atomic_output, output_error, prepare_output_folder

if TYPE_CHECKING:
    from zhen.engines.cluster import ClusterDecoder

log = logging.getLogger("zhen")

# Sentences gathered before decoding: enough for full, length-sorted decoder batches; small
# enough that a killed run loses little work (each window goes to the memory when decoded).
WINDOW_SENTENCES = 500
MAX_WINDOWS_AHEAD = 64  # on a cluster: windows read ahead while earlier ones are decoded
QA_MAX_BYTES = 16 << 20  # outputs up to this size get their QA findings at once (QA reads
# the whole document; a larger one is left for `zhen qa --annotate`, memory stays bounded)


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
    qa: dict[str, int] = field(default_factory=dict)  # QA findings by severity


@dataclass
class BatchReport:
    files: list[FileResult] = field(default_factory=list)
    decoder_calls: int = 0
    sentences_translated: int = 0
    model_loaded: bool = False
    edits_stored: int = 0  # human translations the memory gained or updated from outputs
    cluster_workers: dict[str, int] = field(default_factory=dict)  # --cluster: chunks by worker

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


def make_paragraph(number: int, text: str, matcher: TermMatcher, kind: str = "p",
                   level: int = 0) -> Paragraph:
    """Paragraph "p<number>" (heading "h<number>" for kind "head", "title" for the title):
    its sentences segmented and their glossary terms matched."""
    pid = {"p": f"p{number}", "head": f"h{number}"}.get(kind, kind)
    return Paragraph(
        id=pid,
        sentences=[
            Sentence(id=f"{pid}.s{n}", zh=zh, terms=match_terms(matcher, zh))
            for n, zh in enumerate(segment_sentences(text), start=1)
        ],
        kind=kind,
        level=level,
    )


def read_paragraphs(blocks, matcher: TermMatcher) -> Iterator[Paragraph]:
    """Paragraphs and headings of a reader's blocks, numbered apart (p1, p2, h1, …)."""
    counts = {"p": 0, "head": 0}
    for block in blocks:
        counts[block.kind] += 1
        yield make_paragraph(counts[block.kind], block.text, matcher, block.kind, block.level)


def document_title(info: DocumentInfo, path: Path) -> str:
    """The document's title: its metadata's, else the file's stem."""
    return info.title or display_name(Path(path).stem)


@dataclass(eq=False)
class _FileJob:
    """One input file on its way through: read as a stream, its TEI spooled paragraph by
    paragraph, written when its last paragraph is translated."""

    result: FileResult
    target: Path
    writer: TeiWriter
    title: str = ""
    info: DocumentInfo = field(default_factory=DocumentInfo)  # once the whole file is read
    terms: set[str] = field(default_factory=set)
    from_memory: int = 0
    edits: set[str] = field(default_factory=set)  # sources of the old output's human sentences
    sources: set[str] = field(default_factory=set)  # normalised Chinese sentences read
    source: SourceInfo | None = None  # once the whole file has been read
    waiting: int = 0  # paragraphs in the current window


class LocalDecoder:
    """Where chunks are decoded without --cluster: here, one after another, on the model
    this process loads at the first chunk.

    The seam's interface (`cluster.ClusterDecoder` is the other side): `decode(chunk,
    terms, finished)` fills the chunk's sentences and calls `finished` with them, at once
    here (a cluster calls it from `deliver`, in this thread); `deliver(until)` hands over
    the chunks done elsewhere, waiting until `until()` or none is in flight; `in_flight`
    and `capacity` (chunks sent, chunks worth sending ahead), `started`, `decoder_calls`,
    `close()`."""

    in_flight = 0
    capacity = 1

    def __init__(self, batch: BatchTranslator):
        self.batch = batch

    @property
    def started(self) -> bool:
        return self.batch._translator is not None

    @property
    def decoder_calls(self) -> int:
        return self.batch._translator.decoder_calls if self.started else 0

    def decode(self, chunk: list[Sentence], terms, finished: Callable) -> None:
        self.batch.translator.translate(chunk, terms, finished)

    def deliver(self, until: Callable[[], bool] = lambda: False) -> None:
        """Nothing is ever in flight here."""

    def close(self) -> None:
        pass


class BatchTranslator:
    """Holds what a batch shares: glossary, matcher, memory, and the model once needed."""

    input_format: str | None = None  # a reader's name for every input, else by suffix

    def __init__(
        self,
        glossary_path: Path,
        model: str | None = None,
        options: DecodingOptions | None = None,
        memory: MemoryBase | None = None,
        cluster: str | None = None,
    ):
        self.glossary = load_glossary(Path(glossary_path))
        self.matcher = TermMatcher.from_glossary(self.glossary)
        self.terms = {t.id: t for t in self.glossary.terms}
        self.model: ModelInfo = resolve_model(model)
        # the device and compute type chosen now: the compute type is part of the key
        self.options = resolve_device(options or DecodingOptions()) if not cluster else \
            _cluster_options(options or DecodingOptions())
        self.memory = memory
        self._translator: Translator | None = None
        # People's translations found in outputs about to be overwritten, by normalised
        # source: those edited in the file win over the memory, those marked human before
        # serve where the memory has none (it may be off, or another file).
        self._edited: dict[str, HumanTranslation] = {}
        self._carried: dict[str, HumanTranslation] = {}
        self.context = memory_context(self.model.model_id, self.options.output_key())
        # Without a memory, this run's own translations by key, so that no sentence is
        # decoded twice in one run either (bounded: the oldest are forgotten first).
        self._run_cache: OrderedDict[str, Sentence] = OrderedDict()
        self.saved = 0  # decoded sentences already stored (what an interrupted run keeps)
        self._targets: dict[Path, Path] = {}  # inputs written to a file of another name
        # Where chunks are decoded: here, or on a Dask cluster (--cluster, cluster.py).
        self.decoder: LocalDecoder | ClusterDecoder = LocalDecoder(self)
        if cluster:
            from zhen.engines.cluster import ClusterDecoder

            requested = (options or DecodingOptions()).device  # each worker resolves its own
            self.decoder = ClusterDecoder(cluster, self.model, self.options, requested)
        # Distinct sentences being decoded, by (key, Chinese), with their repetitions; and
        # sentences of later windows waiting for them (as they would have come from the
        # memory had the earlier window been finished).  Empty between windows here.
        self._in_flight: dict[tuple[str, str], list[Sentence]] = {}
        self._joined: dict[tuple[str, str], list[Sentence]] = {}
        self._sent: deque[tuple[list, list[tuple[str, str]]]] = deque()  # windows in flight

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = Translator(load_engine(self.model, self.options))
        return self._translator

    def provenance(self, from_memory: int = 0, engine: bool = True) -> Provenance:
        """The header's account of this batch; engine=False leaves out the CTranslate2
        version, which takes importing it."""
        if engine:
            import ctranslate2
        return Provenance(
            package_name=self.model.name,
            package_version=self.model.version,
            package_synthetic=self.model.synthetic,
            ctranslate2_version=ctranslate2.__version__ if engine else "",
            glossary_path=self.glossary.path.name,
            glossary_sha256=self.glossary.sha256,
            pipeline_version=__version__,
            date=_dt.date.today().isoformat(),
            sentences_from_memory=from_memory,
            model_kind=self.model.kind,
            model_fingerprint=self.model.fingerprint,
            device=self.options.device,
            settings=self.options.to_record(),
        )

    def is_up_to_date(self, path: Path, existing: ExistingOutput | None) -> bool:
        """Whether the existing output already holds the translation of `path` that this
        batch would make: same source bytes, the same metadata from outside it (manifest,
        sidecar) and format, the same model, decoding settings, glossary and zhen version
        in its header, and no edit made in it since zhen wrote it."""
        if existing is None or existing.edited:
            return False
        try:
            source_sha256 = file_sha256(path)
            metadata = metadata_fingerprint(path, self.input_format)
        except (OSError, ZhenError):  # reading it says what is wrong
            return False
        doc = existing.doc
        return (doc.source.sha256 == source_sha256 and doc.source.meta_sha256 == metadata
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
            s.score = None  # a person's English has no model score
            locate_renderings(s, self.terms, TermStatus.EDITED)
        return rest

    @functools.cached_property
    def _settings(self) -> tuple:
        return _settings(self.provenance(engine=False))

    def translate_sentences(self, sentences: list[Sentence], progress=None) -> int:
        """Fill the English side of `sentences`: people's translations first, then the
        memory, then the decoder, each distinct sentence decoded once (its repetitions
        take its result).  Decoded sentences are stored as soon as they are finished, so
        an interrupted run loses only the work in flight.  Returns how many distinct
        sentences went through the decoder."""
        decoded, _ = self._submit(sentences, progress)
        self.decoder.deliver()
        return decoded

    def _submit(self, sentences: list[Sentence], progress=None) -> tuple[int, list]:
        """`translate_sentences` without waiting for the decoder: the sentences are filled
        once none of the (key, Chinese) pairs returned is in `_in_flight` any more (at
        once when decoding here).  Returns (distinct sentences decoded, those pairs)."""
        progress = progress or (lambda n: None)
        rest = self.apply_human(sentences)
        keyed = [(sentence_key(self.context, s, self.terms), s) for s in rest]
        todo = self.memory.lookup(keyed) if self.memory else self._from_run_cache(keyed)
        progress(len(sentences) - len(todo))
        groups: dict[tuple[str, str], list[Sentence]] = {}
        waits = []
        for key, s in todo:
            if (key, s.zh) in self._in_flight:  # an earlier window's, still being decoded
                if (key, s.zh) not in self._joined:
                    waits.append((key, s.zh))
                self._joined.setdefault((key, s.zh), []).append(s)
            else:
                groups.setdefault((key, s.zh), []).append(s)
        distinct = [(key, copies[0]) for (key, _), copies in groups.items()]
        waits += groups
        self._in_flight.update(groups)
        key_of = {id(s): key for key, s in distinct}

        def finished(done: list[Sentence]) -> None:
            """Decoded sentences: copied to their repetitions, stored at once."""
            keyed_done = [(key_of[id(s)], s) for s in done]
            copies = 0
            for key, first in keyed_done:
                group = self._in_flight.pop((key, first.zh))
                for copy in group[1:]:
                    copy.take_translation(first)
                for copy in self._joined.pop((key, first.zh), ()):
                    copy.take_translation(first)
                    if self.memory:  # what the memory would have given it
                        copy.origin = Origin.MEMORY
                    copies += 1
                copies += len(group)
            if self.memory:
                self.memory.store(self.model.model_id, keyed_done)
            else:
                self._to_run_cache(keyed_done)
            self.saved += len(done)
            progress(copies)

        # Chunks bound how long a sentence with terms waits for its enforcement rounds
        # (and so what an interrupt can lose); sentences without terms are stored batch by
        # batch.  The same sentences make the same chunks wherever they are decoded.
        try:
            for chunk in _chunks([s for _, s in distinct], self.chunk_sentences):
                self.decoder.decode(chunk, self.terms, finished)
        except BaseException:
            for pair in groups:  # nothing waits for them any more
                self._in_flight.pop(pair, None)
                self._joined.pop(pair, None)
            raise
        return len(distinct), waits

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
                s.take_translation(done)
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
            except MemoryServerError:  # the memory is gone: the run stops, not this file
                raise
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
        window: list[tuple[_FileJob, Paragraph]] = []
        pending = 0  # sentences in the window
        jobs: list[_FileJob] = []  # read, not yet written
        try:
            for path in paths:
                result = FileResult(Path(path))
                report.files.append(result)
                if path in refused:
                    if not keep_going:  # finish the inputs before this one, then stop
                        self._flush(window, jobs, report, bar, keep_going)
                    self._fail(result, refused[path], keep_going)
                    continue
                job = _FileJob(result, self._target(path, out_dir), TeiWriter(out_dir))
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
                        self._flush(window, jobs, report, bar, keep_going, more=True)
                        pending = 0
                if job.source is not None and not job.waiting:  # all flushed already
                    self._finish(job, jobs, keep_going)
            self._flush(window, jobs, report, bar, keep_going)
        finally:
            bar.close()
            for job in jobs:  # left unfinished by an exception
                job.writer.close()
            if self.decoder.started:
                report.decoder_calls = self.decoder.decoder_calls
                report.model_loaded = True
                report.cluster_workers = dict(getattr(self.decoder, "chunks_by_worker", {}))
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

    def _read(self, job: _FileJob) -> Iterator[Paragraph]:
        """The paragraphs of one input, segmented and annotated, read as a stream; sets
        job.source at the end.  Raises ZhenError if the input cannot be read.  The title
        (when the document has one) comes last, as a paragraph of kind "title": translated
        with the text, written in the header."""
        opened = open_input(job.result.input, self.input_format)
        for para in read_paragraphs(opened.blocks, self.matcher):
            job.waiting += 1
            yield para
        job.info = opened.info
        job.title = document_title(opened.info, job.result.input)
        if opened.info.title:
            job.waiting += 1
            yield make_paragraph(0, opened.info.title, self.matcher, "title")
        job.source = opened.source
        if job.source.dropped_chars:
            log.warning("%s: dropped %d character(s) that XML 1.0 forbids",
                        job.result.input, job.source.dropped_chars)

    def _flush(self, window, jobs, report: BatchReport, bar, keep_going: bool,
               more: bool = False) -> None:
        """Translate the window, spool each paragraph's TEI, write the files now complete.

        The window is emptied (in place).  With `more` (more windows to come), a cluster
        may keep windows in flight while the next ones are read: they are written, in
        order, by a later flush; without, every window sent is written before returning.
        Decoding here, each window is written at once."""
        if window:
            sentences = [s for _, para in window for s in para.sentences]
            decoded, waits = self._submit(sentences, bar.update)
            report.sentences_translated += decoded
            self._sent.append((list(window), waits))
            window[:] = []
        decoder = self.decoder

        def ready() -> bool:
            return not any(pair in self._in_flight for pair in self._sent[0][1])

        def room() -> bool:
            return more and decoder.in_flight < decoder.capacity

        while self._sent:
            if not ready():
                if room() and len(self._sent) < MAX_WINDOWS_AHEAD:
                    decoder.deliver(until=lambda: True)  # store what has arrived, read on
                    if not ready():
                        return
                else:
                    if not decoder.in_flight:  # cannot be: what a window waits for is sent
                        raise RuntimeError("a translated window waits for no decoding")
                    decoder.deliver(until=lambda: ready() or room())
                    continue
            self._write_window(self._sent.popleft()[0], jobs, keep_going)

    def _write_window(self, done, jobs, keep_going: bool) -> None:
        """Spool a translated window's paragraphs; write the files now complete."""
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

    def _finish(self, job: _FileJob, jobs, keep_going: bool) -> None:
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
        job.from_memory -= job.writer.title_from_memory  # the header's title is no sentence
        doc = Document(
            id=job.result.input.stem,
            title=job.title,
            source=job.source,
            provenance=self.provenance(job.from_memory),
            terms={tid: self.terms[tid] for tid in sorted(job.terms)},
            info=job.info,
        )
        self._drop(job, jobs, close=False)
        try:
            job.result.qa = self._write_checked(job, doc)
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
    def _write_checked(job: _FileJob, doc: Document) -> dict[str, int]:
        """Write a job's TEI atomically with its QA findings recorded in it; return the
        findings by severity.  The QA checks need the whole document, which the streamed
        writer never holds: the TEI goes first to an anonymous temporary file (gone if the
        process dies), is checked there, then written.  An output over QA_MAX_BYTES is
        written unchecked (the checks read it whole): `zhen qa --annotate` does it."""
        import shutil

        from lxml import etree
        from zhen.qa.annotate import annotate_tree
        from zhen.qa.run import Counts

        try:
            raw = tempfile.TemporaryFile(dir=job.target.parent)
            job.writer.write(raw, doc)
            size = raw.tell()
            raw.seek(0)
        except OSError as exc:
            raise output_error(job.target, exc) from None
        with raw:
            counts, data = {}, None
            if size <= QA_MAX_BYTES:
                parser = etree.XMLParser(resolve_entities=False, no_network=True,
                                         huge_tree=True)
                tree = etree.parse(raw, parser)
                try:
                    findings, changed = annotate_tree(tree, job.target.name)
                except ZhenError as exc:  # the output itself is fine: written unchecked
                    log.warning("%s: QA not recorded: %s", job.target, exc)
                    findings, changed = [], False
                counts = Counts.of(findings).by_severity
                if changed:
                    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
                raw.seek(0)
            else:
                log.warning("%s: over %d MB, QA not run here: run `zhen qa --annotate` on it",
                            job.target, QA_MAX_BYTES >> 20)
            with atomic_output(job.target) as fh:
                if data is not None:
                    fh.write(data)
                else:
                    shutil.copyfileobj(raw, fh, 1 << 20)
        return counts

    @staticmethod
    def _drop(job: _FileJob, jobs: list[_FileJob], close: bool = True) -> None:
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


def _cluster_options(options: DecodingOptions) -> DecodingOptions:
    """The settings of a run on a cluster (cluster.client_options)."""
    from zhen.engines.cluster import client_options

    return client_options(options)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _settings(prov: Provenance) -> tuple:
    """What in a TEI header decides its translation, besides the source: the model, the
    settings that change the output (not threads, batches or the device), the glossary
    and zhen's version."""
    try:
        output = DecodingOptions.from_record(prov.settings).output_key() if prov.settings \
            else ""
    except (ValueError, TypeError):
        output = ""
    return (prov.model_kind, prov.package_name, prov.package_version, prov.model_fingerprint,
            output, prov.glossary_sha256, prov.pipeline_version)


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
    memory_path: Path | str | None = None,  # a file, or a postgresql:// URL
    keep_going: bool = False,
    show_progress: bool | None = None,
    update: bool = False,
    out_file: Path | None = None,
    input_format: str | None = None,
    cluster: str | None = None,
) -> BatchReport:
    """Library entry point: translate files to TEI, as `zhen translate` does
    (`input_format`: a reader's name for every input; by default each file's suffix;
    `cluster`: decode on a Dask cluster, tcp://HOST:PORT or local:N, see cluster.py)."""
    memory = open_memory(memory_path) if memory_path else None
    batch = None
    try:
        batch = BatchTranslator(glossary_path, model, options, memory, cluster)
        batch.input_format = input_format
        return batch.run(inputs, out_dir, keep_going, show_progress, update, out_file)
    except KeyboardInterrupt as exc:
        saved = batch.saved if batch is not None and memory is not None else None
        raise Interrupted(saved) from exc
    except ClusterError as exc:  # lost mid-run: say what the memory keeps
        if batch is None or not batch.decoder.started:
            raise
        kept = (f"{batch.saved} decoded sentence(s) saved in the memory, a rerun continues "
                "from there" if memory is not None else "nothing decoded was kept (--no-memory)")
        raise ClusterError(f"{exc}; {kept}") from None
    finally:
        if batch is not None:
            batch.decoder.close()
        if memory:
            memory.close()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run; `saved`: decoded sentences the memory keeps (None
    without a memory)."""

    def __init__(self, saved: int | None):
        super().__init__(saved)
        self.saved = saved
