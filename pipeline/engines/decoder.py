"""Where chunks of sentences are decoded: the one seam between the batch runner and a model.

A `Decoder` takes chunks of distinct sentences and fills their English (and the English
side of their term occurrences).  `decode(chunk, terms, finished)` calls `finished` with
the chunk once it is done: at once for a decoder that works in this thread, later, from
`deliver`, for one that works elsewhere (a Dask cluster).  `deliver(until)` hands over the
chunks done elsewhere, waiting until `until()` or none is in flight.  `in_flight` and
`capacity` say how many chunks are out and how many are worth sending ahead.  A decoder
loads its model (or connects) at the first chunk, or at `start()`, so a run with nothing
to decode loads nothing.

`open_decoder` picks the decoder for a model and the run's settings; each decoder owns
what it decodes with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from zhen.document import Sentence, Term
from zhen.engines.base import ModelInfo
from zhen.engines.registry import load_engine
from zhen.settings import DecodingOptions
from zhen.signature import RunSignature

Finished = Callable[[list[Sentence]], None]


class Decoder(Protocol):
    """What the batch runner decodes through (see the module's docstring)."""

    in_flight: int
    capacity: int

    @property
    def started(self) -> bool:
        """Whether the model was loaded (or the cluster reached)."""

    @property
    def decoder_calls(self) -> int:
        """Calls into the model so far."""

    @property
    def chunks_by_worker(self) -> dict[str, int]:
        """Chunks decoded by each worker ({} when decoding here)."""

    def start(self) -> None:
        """Load the model (or connect) now rather than at the first chunk."""

    def decode(self, chunk: list[Sentence], terms: dict[str, Term], finished: Finished) -> None:
        """Decode a chunk; `finished(chunk)` once done (see the module's docstring)."""

    def deliver(self, until: Callable[[], bool] = lambda: False) -> None:
        """Hand over the chunks done elsewhere until `until()` or none is in flight."""

    def read(self, document: object, sentences: list[Sentence]) -> None:
        """A document's next sentences in reading order, before any is filled (a decoder
        that gives the model the previous sentences as context keeps them)."""

    def close(self) -> None:
        """Release what the decoder holds."""


class LocalDecoder:
    """Decodes here, one chunk after another, on the model it loads at the first chunk."""

    in_flight = 0
    capacity = 1

    def __init__(self, model: ModelInfo, options: DecodingOptions):
        self.model = model
        self.options = options
        self._translator = None

    @property
    def translator(self):
        """The glossary-aware translator on the loaded engine (loads it the first time)."""
        if self._translator is None:
            from zhen.engines.translator import Translator

            self._translator = Translator(load_engine(self.model, self.options))
        return self._translator

    @property
    def started(self) -> bool:
        return self._translator is not None

    @property
    def decoder_calls(self) -> int:
        return self._translator.decoder_calls if self._translator is not None else 0

    @property
    def chunks_by_worker(self) -> dict[str, int]:
        return {}

    def start(self) -> None:
        _ = self.translator

    def decode(self, chunk: list[Sentence], terms: dict[str, Term], finished: Finished) -> None:
        self.translator.translate(chunk, terms, finished)

    def deliver(self, until: Callable[[], bool] = lambda: False) -> None:
        """Nothing is ever in flight here."""

    def read(self, document: object, sentences: list[Sentence]) -> None:
        """Nothing: sentences are decoded on their own."""

    def close(self) -> None:
        pass


def decoding_options(options: DecodingOptions, cluster: str | None) -> DecodingOptions:
    """The settings a run decodes with: the device and compute type chosen here, or, on a
    cluster, as the cluster's client states them (each worker resolves its own device)."""
    if cluster:
        from zhen.engines.cluster import client_options

        return client_options(options)
    from zhen.engines.engine import resolve_device

    return resolve_device(options)


def open_decoder(model: ModelInfo, options: DecodingOptions, signature: RunSignature,
                 cluster: str | None = None, requested_device: str = "auto",
                 memory=None) -> Decoder:
    """The decoder for `model` with the run's resolved `options`: here, or on the Dask
    cluster `cluster` (tcp://HOST:PORT or local:N; `requested_device` is what each worker
    resolves; the run's `signature` names what the workers load), or the model's own (a
    model on a server: `open_decoder(options, cluster, memory)`, which may read people's
    translations in the run's `memory`)."""
    own = getattr(model, "open_decoder", None)
    if own is not None:
        return own(options, cluster, memory)
    if cluster:
        from zhen.engines.cluster import ClusterDecoder

        return ClusterDecoder(cluster, model, options, requested_device, signature)
    return LocalDecoder(model, options)
