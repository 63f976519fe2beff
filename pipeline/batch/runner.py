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
in it (edited in the file, or marked human before) go into the memory (`tei.edits`), and
every sentence with a human translation (from those files or the memory) takes it instead
of a machine translation (`resolve.SentenceResolver`).  An edit whose Chinese sentence is
gone stays in the memory.

Where chunks are decoded is one seam (`engines.decoder`): here, or on a Dask cluster
(`--cluster`), which decodes the same chunks while the next windows are read, each window
written in order once decoded.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zhen import __version__
from zhen.batch.merge import merged, misses_human, seen_human
from zhen.batch.paragraphs import document_title, make_paragraph, read_paragraphs
from zhen.batch.report import BatchReport, FileResult
from zhen.batch.resolve import Pair, SentenceResolver
from zhen.batch.write import write_checked
from zhen.digests import file_sha256, normalise_sentence
from zhen.document import Document, DocumentInfo, Paragraph, Provenance, Sentence, SourceInfo
from zhen.engines.base import ModelInfo
from zhen.engines.decoder import decoding_options, open_decoder
from zhen.engines.registry import resolve_model
from zhen.errors import ClusterError, InputError, MemoryServerError, OutputError, ZhenError
from zhen.filelock import version_of
from zhen.memory import open_memory
from zhen.memory.base import Memory
from zhen.readers import metadata_fingerprint, open_input
from zhen.settings import DecodingOptions
from zhen.signature import RunSignature
from zhen.tei.body import TeiWriter
from zhen.tei.edits import ExistingOutput, inspect_output
from zhen.terminology.glossary import load_glossary
from zhen.terminology.matcher import TermMatcher
from zhen.writer import output_error, prepare_output_folder

log = logging.getLogger("zhen")

# Sentences gathered before decoding: enough for full, length-sorted decoder batches; small
# enough that a killed run loses little work (each window goes to the memory when decoded).
WINDOW_SENTENCES = 500
MAX_WINDOWS_AHEAD = 64  # on a cluster: windows read ahead while earlier ones are decoded


def output_path(input_path: Path, out_dir: Path) -> Path:
    """output/<input stem>.tei.xml"""
    return Path(out_dir) / f"{Path(input_path).stem}.tei.xml"


class BatchTranslator:
    """What a batch shares: glossary, matcher, memory, the model and where it decodes."""

    input_format: str | None = None  # a reader's name for every input, else by suffix

    def __init__(
        self,
        glossary_path: Path,
        model: str | None = None,
        options: DecodingOptions | None = None,
        memory: Memory | None = None,
        cluster: str | None = None,
    ):
        self.glossary = load_glossary(Path(glossary_path))
        self.matcher = TermMatcher.from_glossary(self.glossary)
        self.terms = {t.id: t for t in self.glossary.terms}
        self.model: ModelInfo = resolve_model(model)
        requested = options or DecodingOptions()
        # the device and compute type chosen now: the compute type is part of the key
        self.options = decoding_options(requested, cluster)
        self.memory = memory
        self.signature = RunSignature(self.model.model_id, self.model.output_key(self.options),
                                      self.glossary.sha256, __version__)
        decoder = open_decoder(self.model, self.options, self.signature, cluster,
                               requested.device, memory)
        self.resolver = SentenceResolver(self.terms, self.signature, self.options, decoder,
                                         memory)

    @property
    def decoder(self):
        """Where this batch decodes (`engines.decoder.Decoder`)."""
        return self.resolver.decoder

    def provenance(self, from_memory: int = 0, engine: bool = True) -> Provenance:
        """The header's account of this batch; engine=False leaves out the CTranslate2
        version, which takes importing it.  It records this batch's run signature."""
        return Provenance(
            glossary_path=self.glossary.path.name,
            glossary_sha256=self.glossary.sha256,
            pipeline_version=__version__,
            date=_dt.date.today().isoformat(),
            sentences_from_memory=from_memory,
            signature=str(self.signature),
            **self.model.provenance(self.options, engine),
        )

    def is_up_to_date(self, path: Path, existing: ExistingOutput | None) -> bool:
        """Whether the existing output already holds the translation of `path` that this
        batch would make: same source bytes, the same metadata from outside it (manifest,
        sidecar) and format, the same model, decoding settings, glossary and zhen version
        in its header, no edit made in it since zhen wrote it, and no human translation in
        the memory that it does not show (batch.merge.misses_human)."""
        if existing is None or existing.edited:
            return False
        try:
            source_sha256 = file_sha256(path)
            metadata = metadata_fingerprint(path, self.input_format)
        except (OSError, ZhenError):  # reading it says what is wrong
            return False
        doc = existing.doc
        # a header written before the signature was recorded gives it through its fields
        recorded = doc.provenance.signature or str(RunSignature.of(doc.provenance))
        return (doc.source.sha256 == source_sha256 and doc.source.meta_sha256 == metadata
                and recorded == str(self.signature)
                and not misses_human(self.memory, existing))

    def translate_sentences(self, sentences: list[Sentence], progress=None) -> int:
        """Fill the English side of `sentences` (see `SentenceResolver`); returns how many
        distinct sentences went through the decoder."""
        return self.resolver.translate(sentences, progress)

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
        input whose output is up to date (`is_up_to_date`: the same run signature) is
        skipped.
        """
        inputs = list(map(Path, inputs))
        targets = {}
        if out_file is not None:
            if len(inputs) != 1:
                raise InputError(f"{out_file}: an output file takes one input, not "
                                 f"{len(inputs)}; give a folder with -o for several")
            out_dir = Path(out_file).parent
            targets = {inputs[0]: Path(out_file)}
        run = _Run(self, Path(out_dir), targets, keep_going)
        try:
            paths = run.inspect(run.plan(inputs), update)
            prepare_output_folder(out_dir)
            run.translate(paths, show_progress)
        finally:
            if self.decoder.started:
                run.report.decoder_calls = self.decoder.decoder_calls
                run.report.model_loaded = True
                run.report.cluster_workers = dict(self.decoder.chunks_by_worker)
        return run.report


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
    read: str | None = None  # the output's version when its human sentences were read
    seen: dict[str, str] = field(default_factory=dict)  # those sentences (batch.merge)


class _Run:
    """The state of one `BatchTranslator.run`: its outputs, the window being gathered, the
    files read but not yet written, and the windows sent to the decoder."""

    def __init__(self, batch: BatchTranslator, out_dir: Path, targets: dict[Path, Path],
                 keep_going: bool):
        self.batch = batch
        self.resolver = batch.resolver
        self.out_dir = out_dir
        self.targets = targets  # inputs written to a file of another name
        self.keep_going = keep_going
        self.report = BatchReport()
        self.existing: dict[Path, ExistingOutput] = {}
        self.versions: dict[Path, str | None] = {}  # each output's, taken before it was read
        self.refused: dict[Path, ZhenError] = {}  # outputs not to overwrite, failed in turn
        self.window: list[tuple[_FileJob, Paragraph]] = []
        self.pending = 0  # sentences in the window
        self.jobs: list[_FileJob] = []  # read, not yet written
        self.sent: deque[tuple[list, list[Pair]]] = deque()  # windows in flight
        self.bar = None

    def target(self, path: Path) -> Path:
        return self.targets.get(Path(path)) or output_path(path, self.out_dir)

    def plan(self, inputs: list[Path]) -> list[Path]:
        """The inputs to translate: one file named twice is translated once; two files
        that would be written to the same output are an error (the second would win)."""
        planned: dict[Path, Path] = {}
        for path in inputs:
            target = self.target(path)
            first = planned.setdefault(Path(os.path.abspath(target)), path)
            if first is path or _same_file(first, path):
                continue
            exc = InputError(
                f"{first} and {path} would both be written to {target}; rename one "
                "or translate them into different folders"
            )
            self.report.files.append(FileResult(path, error=str(exc)))
            self.fail(self.report.files[-1], exc)
        return list(planned.values())

    def inspect(self, paths: list[Path], update: bool) -> list[Path]:
        """Keep every existing output's human sentences before any is written; return the
        inputs to translate (with `update`, those whose output is not up to date)."""
        stale = []
        for path in paths:
            target = self.target(path)
            try:
                self.versions[path] = version_of(target)
                found = inspect_output(target, self.batch.memory)
            except MemoryServerError:  # the memory is gone: the run stops, not this file
                raise
            except ZhenError as exc:
                self.refused[path] = exc
                stale.append(path)
                continue
            if update and self.batch.is_up_to_date(path, found):
                self.report.files.append(FileResult(path, target, up_to_date=True))
                continue
            if found is not None:
                self.existing[path] = found
                self.report.edits_stored += self.resolver.keep_edits(
                    found, self.batch.glossary.sha256)
            stale.append(path)
        return stale

    def translate(self, paths: list[Path], show_progress: bool | None) -> None:
        """Read, translate and write every input, window by window."""
        from tqdm import tqdm

        disable = None if show_progress is None else not show_progress  # None: only on a TTY
        self.bar = tqdm(total=0, unit="sent", desc="translating", disable=disable, leave=False)
        try:
            for path in paths:
                result = FileResult(Path(path))
                self.report.files.append(result)
                if path in self.refused:
                    if not self.keep_going:  # finish the inputs before this one, then stop
                        self.flush()
                    self.fail(result, self.refused[path])
                    continue
                job = _FileJob(result, self.target(path), TeiWriter(self.out_dir))
                job.read = self.versions.get(path)
                if path in self.existing:
                    job.edits = self.existing[path].keys()
                    job.seen = seen_human(self.existing[path])
                self.jobs.append(job)
                self.read_file(job)
                if job.source is not None and not job.waiting:  # all flushed already
                    self.finish(job)
            self.flush()
        finally:
            self.bar.close()
            for job in self.jobs:  # left unfinished by an exception
                job.writer.close()

    def read_file(self, job: _FileJob) -> None:
        """Add one input's paragraphs to the window, flushing each full window."""
        reading = self.read(job)
        while True:
            try:
                para = next(reading)
            except StopIteration:
                return
            except ZhenError as exc:  # this input cannot be read
                self.window[:] = [(j, p) for j, p in self.window if j is not job]
                self.drop(job)
                self.pending = sum(len(p.sentences) for _, p in self.window)
                if not self.keep_going:  # finish the inputs before this one, then stop
                    self.flush()
                self.fail(job.result, exc)
                return
            self.window.append((job, para))
            self.pending += len(para.sentences)
            self.bar.total += len(para.sentences)
            if self.pending >= WINDOW_SENTENCES:
                self.flush(more=True)
                self.pending = 0

    def read(self, job: _FileJob) -> Iterator[Paragraph]:
        """The paragraphs of one input, segmented and annotated, read as a stream; sets
        job.source at the end.  Raises ZhenError if the input cannot be read.  The title
        (when the document has one) comes last, as a paragraph of kind "title": translated
        with the text, written in the header."""
        batch = self.batch
        opened = open_input(job.result.input, batch.input_format)
        for para in read_paragraphs(opened.blocks, batch.matcher):
            job.waiting += 1
            yield para
        job.info = opened.info
        job.title = document_title(opened.info, job.result.input)
        if opened.info.title:
            job.waiting += 1
            yield make_paragraph(0, opened.info.title, batch.matcher, "title")
        job.source = opened.source
        if job.source.dropped_chars:
            log.warning("%s: dropped %d character(s) that XML 1.0 forbids",
                        job.result.input, job.source.dropped_chars)

    def flush(self, more: bool = False) -> None:
        """Translate the window, spool each paragraph's TEI, write the files now complete.

        The window is emptied.  With `more` (more windows to come), a cluster may keep
        windows in flight while the next ones are read: they are written, in order, by a
        later flush; without, every window sent is written before returning.  Decoding
        here, each window is written at once."""
        if self.window:
            for job, para in self.window:  # each document's sentences, in reading order
                self.resolver.decoder.read(job, para.sentences)
            sentences = [s for _, para in self.window for s in para.sentences]
            decoded, waits = self.resolver.submit(sentences, self.bar.update)
            self.report.sentences_translated += decoded
            self.sent.append((list(self.window), waits))
            self.window[:] = []
        decoder = self.batch.decoder

        def ready() -> bool:
            return not self.resolver.waiting(self.sent[0][1])

        def room() -> bool:
            return more and decoder.in_flight < decoder.capacity

        while self.sent:
            if not ready():
                if room() and len(self.sent) < MAX_WINDOWS_AHEAD:
                    decoder.deliver(until=lambda: True)  # store what has arrived, read on
                    if not ready():
                        return
                else:
                    if not decoder.in_flight:  # cannot be: what a window waits for is sent
                        raise RuntimeError("a translated window waits for no decoding")
                    decoder.deliver(until=lambda: ready() or room())
                    continue
            self.write_window(self.sent.popleft()[0])

    def write_window(self, done) -> None:
        """Spool a translated window's paragraphs; write the files now complete."""
        for job, para in done:
            job.waiting -= 1
            if job not in self.jobs:
                continue  # failed meanwhile
            job.from_memory += sum(1 for s in para.sentences if s.from_memory)
            job.sources.update(normalise_sentence(s.zh) for s in para.sentences)
            job.terms.update(o.term_id for s in para.sentences for o in s.terms)
            try:
                job.writer.add(para)
            except OSError as exc:  # a spool spilling to a full disk
                self.drop(job)
                self.fail(job.result, output_error(job.target, exc))
        for job in [j for j in self.jobs if j.source is not None and not j.waiting]:
            self.finish(job)

    def finish(self, job: _FileJob) -> None:
        """Write a completely translated file's TEI (atomically) and forget the job.

        An old output's human sentence whose Chinese sentence is gone is kept in the
        memory; without one, the old output is not overwritten."""
        batch = self.batch
        gone = len(job.edits - job.sources)
        if gone and batch.memory is None:
            self.drop(job)
            self.fail(job.result, OutputError(
                f"{job.target}: {gone} human edit(s) in it no longer match a sentence of "
                f"{job.result.input} and there is no memory to keep them: left as it was; "
                "run without --no-memory"
            ))
            return
        job.from_memory -= job.writer.title_from_memory  # the header's title is no sentence
        doc = Document(
            id=job.result.input.stem,
            title=job.title,
            source=job.source,
            provenance=batch.provenance(job.from_memory),
            terms={tid: batch.terms[tid] for tid in sorted(job.terms)},
            info=job.info,
        )
        self.drop(job, close=False)
        try:
            job.result.qa = write_checked(
                job.writer, doc, job.target, job.read,
                lambda run_tei: merged(batch, job, run_tei))
        except ZhenError as exc:
            self.fail(job.result, exc)
            return
        finally:
            job.writer.close()
        result = job.result
        result.output = job.target
        result.sentences = job.writer.sentences
        result.from_memory = job.from_memory
        if not result.merged:  # batch.merge counted the merged file's
            result.human = job.writer.tally.human
        result.edits = len(job.edits)
        result.edits_carried = len(job.edits & job.sources)

    def drop(self, job: _FileJob, close: bool = True) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        if close:
            job.writer.close()

    def fail(self, result: FileResult, exc: ZhenError) -> None:
        result.error = str(exc)
        if not self.keep_going:
            raise exc
        log.error("%s", exc)


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
    `cluster`: decode on a Dask cluster, tcp://HOST:PORT or local:N, see engines.cluster)."""
    memory = open_memory(memory_path) if memory_path else None
    batch = None
    try:
        batch = BatchTranslator(glossary_path, model, options, memory, cluster)
        batch.input_format = input_format
        return batch.run(inputs, out_dir, keep_going, show_progress, update, out_file)
    except KeyboardInterrupt as exc:
        saved = batch.resolver.saved if batch is not None and memory is not None else None
        raise Interrupted(saved) from exc
    except ClusterError as exc:  # lost mid-run: say what the memory keeps
        if batch is None or not batch.decoder.started:
            raise
        kept = (f"{batch.resolver.saved} decoded sentence(s) saved in the memory, a rerun "
                "continues from there" if memory is not None
                else "nothing decoded was kept (--no-memory)")
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
