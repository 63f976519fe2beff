"""Translate sentences with CTranslate2 on an Argos package, honouring the glossary.

Each sentence keeps its own translation (argostranslate's `translate()` would join them).
Glossary enforcement, in order, per sentence that holds terms:
1. the model's best hypothesis already has every approved rendering → status MODEL;
2. another of the n-best hypotheses has them all → ENFORCED;
3. otherwise, term by term in source order: find where the term belongs in the current
   best hypothesis (the target position whose attention peaks on the term's source
   tokens), force "hypothesis up to there + rendering" as `target_prefix`, and let the
   model finish the sentence → ENFORCED;
4. a rendering still absent is MISSED: the English keeps the model's text and no hit is
   claimed.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from .errors import ModelError
from .model import Sentence, Term, TermMatch, TermStatus
from .packages import ArgosPackage
from .reader import strip_xml_forbidden
from .renderings import find_renderings, has_all_renderings, locate_renderings

_CLAUSE_END = re.compile(r"(?<=[，、：；,;:])")
MAX_SOURCE_PIECES = 250  # longer sentences are translated clause by clause


@dataclass(frozen=True)
class DecodingOptions:
    """Everything that changes what the decoder outputs, plus how it runs."""

    beam_size: int = 2
    # n-best size searched for glossary renderings; the beam's own hypotheses by default,
    # so sentences with terms cost no wider search (and keep the declared beam size).
    num_hypotheses: int = 2
    max_length_ratio: float = 1.5  # output tokens ≤ ratio × input tokens + max_length_extra
    max_length_extra: int = 10
    max_repeats: int = 3  # an n-gram repeated this often in a row is cut (runaway guard)
    enforce_terms: bool = True
    # How it runs: does not change the output, so not part of the memory key.
    batch_size: int = 512  # source tokens per batch (or sentences with batch_type "examples")
    batch_type: str = "tokens"  # or "examples"
    threads: int = 0  # 0: all available cores
    compute_type: str = "int8"

    def enforcement_summary(self) -> str:
        """How glossary renderings are enforced, for the TEI header."""
        if not self.enforce_terms:
            return "off"
        n = max(1, self.num_hypotheses)
        return (f"{n}-best list (beam {max(self.beam_size, n)}) searched, "
                "else the rendering forced as a target prefix")

    def length_cap_summary(self) -> str:
        """The output length cap, for the TEI header."""
        return f"{self.max_length_ratio:g} x source tokens + {self.max_length_extra}"

    def output_key(self) -> str:
        """The options that determine the output, as a stable string."""
        d = asdict(self)
        for k in ("batch_size", "batch_type", "threads", "compute_type"):
            d.pop(k)
        # int8 vs float32 can change the output: keep it in the key.
        d["compute_type"] = self.compute_type
        return json.dumps(d, sort_keys=True)


def thread_split(threads: int, batch_type: str = "tokens") -> tuple[int, int]:
    """(inter_threads, intra_threads) for `threads` cores (0: all available).

    With token-bounded batches, one thread per batch and as many batches at once as cores:
    at this model size CTranslate2 gains less from splitting one batch's matrices across
    cores than from decoding batches side by side (`make bench`, 2 cores, base model, raw
    translate_batch on 3 documents: 512-token batches as 2 x 1 took 6.4 s and 292 MB,
    256-token ones 8.9 s and 239 MB, 32-sentence batches as 1 x 2 9.0 s and 514 MB, as
    2 x 1 5.9 s but 623 MB).  Every worker holds a batch's decoding state, so parallel
    workers are used only when batches are bounded in tokens, whose memory is bounded too.
    """
    cores = threads or available_cores()
    return (cores, 1) if batch_type == "tokens" else (1, cores)


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


class SentencePieceTokenizer:
    """The package's SentencePiece model, with character spans for each piece."""

    def __init__(self, model_file: str):
        import sentencepiece as spm

        self.processor = spm.SentencePieceProcessor(model_file=model_file)

    def token_span(self, text: str, start: int, end: int) -> list[int]:
        """Indices of the pieces of `text` that cover text[start:end] (approximately).

        Counted by encoding the text before and up to the span, which needs neither the
        protobuf module nor knowledge of the model's normaliser.
        """
        first = len(self.pieces(text[:start])) if start else 0
        last = len(self.pieces(text[:end]))
        return list(range(first, max(last, first + 1)))

    def pieces(self, text: str) -> list[str]:
        return self.processor.encode(text, out_type=str)

    def decode(self, pieces: Sequence[str]) -> str:
        # Not argostranslate's decode: it turns every "_" into a space.  Characters XML
        # forbids (a model can emit control-character pieces) are dropped.
        return strip_xml_forbidden(self.processor.decode_pieces(list(pieces)))[0]

    def decode_segments(self, pieces: Sequence[str], ends: Sequence[int]) -> str:
        """Decode, keeping a word boundary after each forced rendering (ending at `ends`).

        The model may continue a forced prefix with a word-internal piece ("resilience" +
        "dis"); gluing it on would hide the rendering, so a space separates them.
        """
        text, last = "", 0
        for end in sorted(set(e for e in ends if 0 < e < len(pieces))):
            text += self.decode(pieces[last:end])
            nxt = pieces[end]
            if nxt.startswith("\u2581") or nxt[:1].isalnum():
                text += " "
            last = end
        return text + self.decode(pieces[last:])


@dataclass
class Hypothesis:
    tokens: list[str]
    # Per target token, the source token it attends to most (-1: no attention row).  Only
    # the peaks are kept: the full attention rows of a window's hypotheses, as Python
    # floats, would take more memory than the model.
    peaks: list[int] | None = None


def attention_peaks(attention: Sequence[Sequence[float]]) -> list[int]:
    """The argmax of each attention row (-1 for an empty row)."""
    return [max(range(len(row)), key=row.__getitem__) if row else -1 for row in attention]


@dataclass
class _Job:
    """One sentence's state during enforcement."""

    sentence: Sentence
    source: list[str]
    hyps: list[Hypothesis] = field(default_factory=list)
    best: Hypothesis | None = None
    forced: int = 0  # length of the token prefix already fixed
    allowance: int = 0  # pieces of the renderings forced so far (added to the length cap)
    ends: list[int] = field(default_factory=list)  # token positions where a forced rendering ends


class Translator:
    """A loaded CTranslate2 model plus the package tokenizer; load once per process."""

    def __init__(self, package: ArgosPackage, options: DecodingOptions | None = None):
        import ctranslate2

        self.package = package
        self.options = options or DecodingOptions()
        inter, intra = thread_split(self.options.threads, self.options.batch_type)
        try:
            self._ct2 = ctranslate2.Translator(
                str(package.model_dir),
                device="cpu",
                compute_type=self.options.compute_type,
                inter_threads=inter,
                intra_threads=intra,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(
                f"{package.path}: CTranslate2 {ctranslate2.__version__} cannot load this model "
                f"({exc}); reinstall the package or install a matching ctranslate2"
            ) from None
        self.tokenizer = SentencePieceTokenizer(str(package.sentencepiece_model))
        self.ctranslate2_version = ctranslate2.__version__
        self.decoder_calls = 0  # translate_batch calls made, for logs and tests
        self._prefix = [package.target_prefix] if package.target_prefix else []

    # -- decoding -----------------------------------------------------------------------

    def decode(
        self,
        sources: list[list[str]],
        prefixes: list[list[str]] | None = None,
        num_hypotheses: int = 1,
        attention: bool = False,
        progress: Callable[[int], None] | None = None,
        allowances: list[int] | None = None,
    ) -> list[list[Hypothesis]]:
        """Decode token lists in length-sorted batches, each with its own length cap.

        The cap holds for the whole output, forced prefix included: max_length_ratio × the
        longest source of the batch + max_length_extra, plus the largest of the batch's
        `allowances` (the pieces of renderings forced into a prefix, which may be longer
        than the model's own words).  `progress` is called with the number of sources after
        each batch.  Every batch is submitted at once (asynchronously), so that the
        translator's inter_threads workers decode that many batches in parallel; results
        are read back in order.
        """
        opts = self.options
        order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
        results: list[list[Hypothesis]] = [[] for _ in sources]
        submitted = []
        for batch in _batches(order, sources, opts.batch_size, opts.batch_type):
            src = [sources[i] for i in batch]
            pre = [self._prefix + (prefixes[i] if prefixes else []) for i in batch]
            longest_prefix = max(len(p) for p in pre)
            cap = int(max(len(s) for s in src) * opts.max_length_ratio) + opts.max_length_extra
            cap += max(allowances[i] for i in batch) if allowances else 0
            self.decoder_calls += 1
            pending = self._call_decoder(
                src,
                target_prefix=pre if longest_prefix else None,
                beam_size=max(opts.beam_size, num_hypotheses),
                num_hypotheses=num_hypotheses,
                max_decoding_length=max(cap, longest_prefix + 1),
                max_input_length=0,
                return_attention=attention,
                asynchronous=True,
            )
            submitted.append((batch, pending))
        for batch, pending in submitted:
            out = [self._result(p) for p in pending]
            for i, res in zip(batch, out):
                att = res.attention if attention else [None] * len(res.hypotheses)
                hyps = []
                for toks, a in zip(res.hypotheses, att):
                    toks = list(toks)
                    if self._prefix and toks[: len(self._prefix)] == self._prefix:
                        toks = toks[len(self._prefix) :]
                        a = a[len(self._prefix) :] if a is not None else None
                    keep = len(prefixes[i]) if prefixes else 0
                    cut = trim_repetition(toks, keep, opts.max_repeats)
                    peaks = attention_peaks(a[:cut]) if a is not None else None
                    hyps.append(Hypothesis(toks[:cut], peaks))
                results[i] = hyps
            if progress:
                progress(len(batch))
        return results

    def _call_decoder(self, source, **kwargs):
        try:
            return self._ct2.translate_batch(source, **kwargs)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise self._broken(exc) from None

    def _result(self, pending):
        # Wait in short sleeps rather than inside CTranslate2: a blocking result() holds off
        # Ctrl-C until the batch is done, which can take seconds.
        while not pending.done():
            time.sleep(0.01)
        try:
            return pending.result()
        except (RuntimeError, ValueError, IndexError) as exc:
            raise self._broken(exc) from None

    def _broken(self, exc: Exception) -> ModelError:
        """Damage that only shows when decoding (bad config, vocabulary not the model's)."""
        return ModelError(
            f"{self.package.path}: the model fails when translating ({exc}); the package is "
            "damaged or incompatible: reinstall it with `zhen model install`"
        )

    # -- sentences ----------------------------------------------------------------------

    def translate(
        self,
        sentences: list[Sentence],
        terms: dict[str, Term],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Fill `en` and the English side of every term occurrence of `sentences`.

        `progress` is called with a number of sentences as each is finished (enforcement
        rounds included)."""
        encoded = {id(s): self.tokenizer.pieces(s.zh) for s in sentences}
        long = [s for s in sentences if len(encoded[id(s)]) > MAX_SOURCE_PIECES]
        short = [s for s in sentences if len(encoded[id(s)]) <= MAX_SOURCE_PIECES]
        enforce = self.options.enforce_terms
        plain = [s for s in short if not (s.terms and enforce)]
        if plain:
            decoded = self.decode([encoded[id(s)] for s in plain], progress=progress)
            for s, hyps in zip(plain, decoded):
                s.en = self.tokenizer.decode(hyps[0].tokens)
                locate_renderings(s, terms, TermStatus.MODEL)
        with_terms = [s for s in short if s.terms and enforce]
        if with_terms:
            self._translate_enforced(with_terms, terms, progress)
        if long:
            self._translate_long(long, terms, progress)

    def _translate_long(
        self,
        sentences: list[Sentence],
        terms: dict[str, Term],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Translate over-long sentences clause by clause, joined; terms found, not enforced."""
        chunks = [split_long(s.zh, self.tokenizer.pieces, MAX_SOURCE_PIECES) for s in sentences]
        flat = [self.tokenizer.pieces(c) for parts in chunks for c in parts]
        decoded = iter(self.decode(flat))
        for s, parts in zip(sentences, chunks):
            s.en = " ".join(self.tokenizer.decode(next(decoded)[0].tokens) for _ in parts)
            locate_renderings(s, terms, TermStatus.MODEL)
            if progress:
                progress(1)

    def _translate_enforced(
        self,
        sentences: list[Sentence],
        terms: dict[str, Term],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        jobs = []
        for s in sentences:
            jobs.append(_Job(s, self.tokenizer.pieces(s.zh)))
        n = max(1, self.options.num_hypotheses)
        first_pass = self.decode([j.source for j in jobs], None, n, True)
        for job, hyps in zip(jobs, first_pass):
            job.hyps = hyps
        pending = []
        for job in jobs:
            texts = [self.tokenizer.decode(h.tokens) for h in job.hyps]
            chosen = next((i for i, t in enumerate(texts) if has_all_renderings(t, job.sentence, terms)), None)
            if chosen is not None:
                job.sentence.en = texts[chosen]
                status = TermStatus.MODEL if chosen == 0 else TermStatus.ENFORCED
                locate_renderings(job.sentence, terms, status)
            else:
                job.best = job.hyps[0]
                pending.append(job)
        if progress:
            progress(len(jobs) - len(pending))
        # Prefix forcing, one term occurrence per round, batched across sentences.
        for round_no in range(max((len(j.sentence.terms) for j in pending), default=0)):
            todo = [j for j in pending if round_no < len(j.sentence.terms)]
            prefixes = [self._forced_prefix(j, j.sentence.terms[round_no], terms) for j in todo]
            redo = [(j, p) for j, p in zip(todo, prefixes) if p is not None]
            if not redo:
                continue
            decoded = self.decode(
                [j.source for j, _ in redo], [p for _, p in redo], 1, True,
                allowances=[j.allowance for j, _ in redo],
            )
            for (job, prefix), hyps in zip(redo, decoded):
                job.best = hyps[0]
                job.forced = len(prefix)
                job.ends.append(len(prefix))
        for job in pending:
            job.sentence.en = self.tokenizer.decode_segments(job.best.tokens, job.ends)
            model_text = self.tokenizer.decode(job.hyps[0].tokens)
            locate_renderings(job.sentence, terms, TermStatus.ENFORCED, model_text)
        if progress and pending:
            progress(len(pending))

    def _forced_prefix(self, job: _Job, occ: TermMatch, terms: dict[str, Term]) -> list[str] | None:
        """Best hypothesis up to where `occ` belongs, then its rendering; None if not needed.

        Adds the rendering's pieces to the job's length allowance.
        """
        rendering = terms[occ.term_id].rendering
        best = job.best
        current = self.tokenizer.decode(best.tokens[: job.forced])
        needed = sum(1 for t in job.sentence.terms if t.term_id == occ.term_id and t.start <= occ.start)
        if len(find_renderings(current, rendering)) >= needed:
            return None  # already fixed by an earlier round
        src = self.tokenizer.token_span(job.sentence.zh, occ.start, occ.end)
        pos = _aligned_position(best, src, len(job.source))
        pos = min(max(pos, job.forced), len(best.tokens))
        if pos == 0:
            rendering = rendering[:1].upper() + rendering[1:]
        forced = self.tokenizer.pieces(rendering)
        job.allowance += len(forced)
        return best.tokens[:pos] + forced


def split_long(text: str, pieces: Callable[[str], list[str]], limit: int) -> list[str]:
    """Cut `text` into consecutive chunks of at most about `limit` pieces, at clause ends."""
    chunks: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(text):
        while len(pieces(clause)) > limit:  # one clause too long: cut by characters
            cut = max(1, len(clause) * limit // (2 * len(pieces(clause))))
            if current:
                chunks.append(current)
                current = ""
            chunks.append(clause[:cut])
            clause = clause[cut:]
        if current and len(pieces(current + clause)) > limit:
            chunks.append(current)
            current = ""
        current += clause
    if current:
        chunks.append(current)
    return [c for c in chunks if c.strip()] or [text]


def _aligned_position(hyp: Hypothesis, source_tokens: list[int], source_len: int) -> int:
    """First target position whose attention peaks on one of `source_tokens`.

    Row 0 is not trusted: in batched beam search CTranslate2 4.x returns another batch
    item's first attention row.  A sentence-initial term goes to position 0 directly.
    """
    if not source_tokens or source_len == 0:
        return len(hyp.tokens)
    if source_tokens[0] == 0:
        return 0
    if hyp.peaks:
        wanted = set(source_tokens)
        for t, peak in enumerate(hyp.peaks[1:], start=1):
            if peak in wanted:
                return t
    return round(len(hyp.tokens) * source_tokens[0] / source_len)


def _batches(order: list[int], sources: list[list[str]], size: int, kind: str):
    """Split length-sorted indices into batches of `size` examples or tokens."""
    batch: list[int] = []
    tokens = 0
    for i in order:
        n = len(sources[i]) + 1
        if batch and (len(batch) >= size if kind == "examples" else tokens + n > size):
            yield batch
            batch, tokens = [], 0
        batch.append(i)
        tokens += n
    if batch:
        yield batch


def trim_repetition(tokens: list[str], protect: int, max_repeats: int) -> int:
    """Length to keep: cut where an n-gram (n ≤ 6) starts repeating `max_repeats` times in a row."""
    if max_repeats < 2:
        return len(tokens)
    for i in range(protect, len(tokens)):
        for n in range(1, 7):
            end = i + n * max_repeats
            if end > len(tokens):
                break
            gram = tokens[i : i + n]
            if all(tokens[i + k * n : i + (k + 1) * n] == gram for k in range(1, max_repeats)):
                return i + n
    return len(tokens)
