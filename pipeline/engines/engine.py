"""The CTranslate2 engine: one model of any kind loaded once, decoding token batches.

It holds the model's tokenizers and applies its kind's conventions (tokens around the
source, a target prefix removed from the outputs, attention columns shifted back), so
that its callers see plain pieces in and plain pieces out whatever the kind.  It chooses
the device (`--device auto`: a GPU when CTranslate2 sees one) and a compute type per
device, and turns every CTranslate2 failure into one ModelError line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zhen.engines.base import ModelInfo
from zhen.errors import ModelError
from zhen.readers.text import strip_xml_forbidden
from zhen.scores import LogProb, from_ctranslate2
from zhen.settings import DecodingOptions

SPACE_MARK = "\u2581"  # SentencePiece's word-start mark
UNKNOWN_TOKENS = {"<unk>", "\u2047"}  # never written into the English


def resolve_device(options: DecodingOptions) -> DecodingOptions:
    """The options with the device and the compute type chosen and checked: auto is a
    CUDA GPU when CTranslate2 sees one, else the CPU."""
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    device = options.device
    if device == "auto":
        device = "cuda" if gpus else "cpu"
    if device == "cuda" and gpus == 0:
        raise ModelError("--device cuda: CTranslate2 sees no CUDA GPU on this machine (or no "
                         "CUDA driver); use --device cpu or --device auto")
    if device == "cuda" and options.device_index >= gpus:
        raise ModelError(f"--device-index {options.device_index}: this machine has {gpus} "
                         f"GPU(s), numbered from 0")
    resolved = options.resolved(device)
    supported = ctranslate2.get_supported_compute_types(device, options.device_index)
    if resolved.compute_type not in supported:
        raise ModelError(
            f"--compute-type {resolved.compute_type}: not supported on this {device} "
            f"(supported: {', '.join(sorted(supported))}); choose one of those or auto"
        )
    return resolved


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
    """A SentencePiece model, with character spans for each piece."""

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
        """Text of target pieces.  A piece this model does not know (a source piece that
        CTranslate2 copied for an unknown word, replace_unknowns) is written as itself,
        never as SentencePiece's ⁇; `<unk>` itself is dropped."""
        # Not argostranslate's decode: it turns every "_" into a space.  Characters XML
        # forbids (a model can emit control-character pieces) are dropped.
        out, run = [], []

        def flush() -> None:
            if run:
                text = self.processor.decode_pieces(run)
                lead = " " if out and run[0].startswith(SPACE_MARK) else ""
                out.append(lead + text)
                run.clear()

        for piece in pieces:
            if piece in UNKNOWN_TOKENS:
                continue
            if self.processor.piece_to_id(piece) == self.processor.unk_id():
                flush()
                out.append(piece.replace(SPACE_MARK, " ") if out else
                           piece.lstrip(SPACE_MARK).replace(SPACE_MARK, " "))
            else:
                run.append(piece)
        flush()
        return strip_xml_forbidden("".join(out))[0]

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
    # The log-probabilities of the tokens the model chose (a forced prefix's are not), the
    # end token included; over the tokens as decoded, before a runaway repetition is cut.
    logprob: LogProb = LogProb()

    @property
    def score(self) -> float | None:
        """The model's confidence in this hypothesis: exp(mean token log-probability)."""
        return self.logprob.score


def attention_peaks(attention: Sequence[Sequence[float]]) -> list[int]:
    """The argmax of each attention row (-1 for an empty row)."""
    return [max(range(len(row)), key=row.__getitem__) if row else -1 for row in attention]


class CTranslate2Engine:
    """A model loaded into CTranslate2 with its tokenizers; load once per process."""

    def __init__(self, info: ModelInfo, options: DecodingOptions | None = None):
        import ctranslate2

        self.info = info
        self.options = resolve_device(options or DecodingOptions())
        opts = self.options
        inter, intra = thread_split(opts.threads, opts.batch_type)
        if opts.device == "cuda":  # threads are the CPU's; one batch at a time per GPU
            inter, intra = 1, 1
        try:
            self._ct2 = ctranslate2.Translator(
                str(info.model_dir),
                device=opts.device,
                device_index=opts.device_index,
                compute_type=opts.compute_type,
                inter_threads=inter,
                intra_threads=intra,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(
                f"{info.path}: CTranslate2 {ctranslate2.__version__} cannot load this model "
                f"({exc}); reinstall or convert it again, or install a matching ctranslate2"
            ) from None
        conv = info.conventions
        self.source = SentencePieceTokenizer(str(conv.source_spm))
        self.target = (self.source if conv.target_spm == conv.source_spm
                       else SentencePieceTokenizer(str(conv.target_spm)))
        self.ctranslate2_version = ctranslate2.__version__
        self.decoder_calls = 0  # translate_batch calls made, for logs and tests
        self._before = list(conv.source_prefix)
        self._after = list(conv.source_suffix)
        self._prefix = list(conv.target_prefix)

    # -- text <-> pieces ----------------------------------------------------------------

    def pieces(self, text: str) -> list[str]:
        """The source pieces of `text` (without the kind's added tokens)."""
        return self.source.pieces(text)

    def token_span(self, text: str, start: int, end: int) -> list[int]:
        return self.source.token_span(text, start, end)

    def target_pieces(self, text: str) -> list[str]:
        return self.target.pieces(text)

    def detokenize(self, pieces: Sequence[str]) -> str:
        return self.target.decode(pieces)

    def detokenize_segments(self, pieces: Sequence[str], ends: Sequence[int]) -> str:
        return self.target.decode_segments(pieces, ends)

    # -- decoding -----------------------------------------------------------------------

    def decode(
        self,
        sources: list[list[str]],
        prefixes: list[list[str]] | None = None,
        num_hypotheses: int = 1,
        attention: bool = False,
        allowances: list[int] | None = None,
        on_batch: Callable[[list[int], list[list[Hypothesis]]], None] | None = None,
    ) -> list[list[Hypothesis]]:
        """Decode token lists in length-sorted batches, each with its own length cap.

        The cap holds for the whole output, forced prefix included: max_length_ratio × the
        longest source of the batch + max_length_extra, plus the largest of the batch's
        `allowances` (the pieces of renderings forced into a prefix, which may be longer
        than the model's own words).  `on_batch` is called with the indices of each batch's
        sources and their hypotheses as soon as the batch is read back.  Every batch is submitted at once (asynchronously), so that the
        translator's inter_threads workers decode that many batches in parallel; results
        are read back in order.
        """
        opts = self.options
        order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
        results: list[list[Hypothesis]] = [[] for _ in sources]
        submitted = []
        for batch in _batches(order, sources, opts.batch_size, opts.batch_type):
            src = [self._before + sources[i] + self._after for i in batch]
            pre = [self._prefix + (prefixes[i] if prefixes else []) for i in batch]
            longest_prefix = max(len(p) for p in pre)
            cap = int(max(len(s) for s in src) * opts.max_length_ratio) + opts.max_length_extra
            cap += max(allowances[i] for i in batch) if allowances else 0
            max_length = max(cap, longest_prefix + 1)
            self.decoder_calls += 1
            pending = self._call_decoder(
                src,
                target_prefix=pre if longest_prefix else None,
                beam_size=max(opts.beam_size, num_hypotheses),
                num_hypotheses=num_hypotheses,
                max_decoding_length=max_length,
                max_input_length=0,
                length_penalty=opts.length_penalty,
                replace_unknowns=True,
                return_attention=attention,
                return_scores=True,
                asynchronous=True,
            )
            submitted.append((batch, pending, max_length))
        for batch, pending, max_length in submitted:
            out = [self._result(p) for p in pending]
            for i, res in zip(batch, out):
                att = res.attention if attention else [None] * len(res.hypotheses)
                forced = len(self._prefix) + (len(prefixes[i]) if prefixes else 0)
                hyps = []
                for toks, a, score in zip(res.hypotheses, att, res.scores):
                    toks = list(toks)
                    logprob = from_ctranslate2(score, len(toks), forced, max_length,
                                               opts.length_penalty)
                    if self._prefix and toks[: len(self._prefix)] == self._prefix:
                        toks = toks[len(self._prefix) :]
                        a = a[len(self._prefix) :] if a is not None else None
                    keep = len(prefixes[i]) if prefixes else 0
                    cut = trim_repetition(toks, keep, opts.max_repeats)
                    peaks = attention_peaks(a[:cut]) if a is not None else None
                    if peaks and self._before:  # columns of the plain source pieces
                        peaks = [p - len(self._before) for p in peaks]
                    hyps.append(Hypothesis(toks[:cut], peaks, logprob))
                results[i] = hyps
            if on_batch:
                on_batch(batch, [results[i] for i in batch])
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
            f"{self.info.path}: the model fails when translating ({exc}); the model is "
            "damaged or incompatible: reinstall it with `zhen model install`"
        )



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
