"""The batch runner's decoder for a model on a server (`engines.decoder.Decoder`, beside
`LocalDecoder` and `ClusterDecoder`).  As a cluster's, its chunks are decoded elsewhere
(the server), while the runner reads the next window and writes the last: `decode` sends a
chunk's requests (concurrently, `concurrency` at a time) and returns; `deliver` hands each
finished group of sentences to its callback, in this thread, as soon as it is back (the
memory stores it at once), so Ctrl-C or a fault loses only the requests in flight."""

from __future__ import annotations

import weakref
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait

from zhen.document import Sentence, Term
from zhen.engines.llm.client import ServerError, Stopped
from zhen.engines.llm.translator import LlmTranslator

_KEEP = 20_000  # sentences whose context is remembered until decoded (bounded)
_DOCS = 1_000  # documents whose last sentences are remembered between windows


class LlmDecoder:
    capacity = 2  # chunks worth sending ahead: the next one's requests queue behind these

    def __init__(self, model, options, memory=None):
        self.model = model
        self.options = options  # the run's: glossary enforcement on or off
        self.memory = memory  # people's translations there are references
        self.handed = 0  # sentences handed back finished (the memory stores them)
        self._translator: LlmTranslator | None = None
        self._context: OrderedDict[int, tuple[Sentence, tuple[Sentence, ...]]] = OrderedDict()
        self._tails: OrderedDict[int, tuple[Callable, deque]] = OrderedDict()
        self._human = None
        # requests sent: their group, the callback, and the chunk they belong to
        self._jobs: dict[Future, tuple[list[Sentence], Callable, int]] = {}
        self._left: Counter[int] = Counter()  # groups not yet back, by chunk
        self._chunks = 0
        self._fault: BaseException | None = None

    @property
    def in_flight(self) -> int:
        """Chunks with requests not yet back."""
        return len(self._left)

    @property
    def started(self) -> bool:
        return self._translator is not None

    @property
    def decoder_calls(self) -> int:
        return self._translator.decoder_calls if self._translator else 0

    @property
    def chunks_by_worker(self) -> dict[str, int]:
        return {}

    @property
    def translator(self) -> LlmTranslator:
        if self._translator is None:
            client = self.model.client()
            self._translator = LlmTranslator(self.model, client, self.model.parallel(client),
                                             self.options.enforce_terms)
        return self._translator

    def start(self) -> None:
        _ = self.translator

    # -- the seam ------------------------------------------------------------------------

    def read(self, document, sentences: list[Sentence]) -> None:
        """The sentences of one document in reading order, before they are filled: each
        one's previous sentences are its context."""
        k = self.model.options.context_sentences
        if not k:
            return
        key = id(document)
        entry = self._tails.pop(key, None)
        # the same id may be another document's once the first is gone: the ref tells
        tail = entry[1] if entry is not None and entry[0]() is document else deque(maxlen=k)
        self._tails[key] = (_ref(document), tail)
        while len(self._tails) > _DOCS:
            self._tails.popitem(last=False)
        for s in sentences:
            self._context[id(s)] = (s, tuple(tail))
            tail.append(s)
        while len(self._context) > _KEEP:
            self._context.popitem(last=False)

    def decode(self, chunk: list[Sentence], terms: dict[str, Term], finished: Callable) -> None:
        """Send the chunk's requests; `finished` gets its sentences from `deliver`."""
        if self._fault is not None:  # an earlier chunk's: say it now
            self.deliver()
        refs = self._references(chunk)
        try:
            jobs = self.translator.submit(chunk, terms, self._context_of,
                                          lambda s: refs.get(id(s), []))
        finally:
            for s in chunk:
                self._context.pop(id(s), None)
        self._chunks += 1
        for future, group in jobs:
            self._jobs[future] = (group, finished, self._chunks)
            self._left[self._chunks] += 1

    def deliver(self, until: Callable[[], bool] = lambda: False) -> None:
        """Hand the groups that are back to their callbacks, waiting for more until
        `until()` holds or nothing is in flight.  A fault (the server gone, say): the
        requests not yet sent are not sent, those in flight are waited for and handed
        over, then the fault is raised, saying what the memory kept."""
        try:
            while self._jobs:
                self._take(block=False)
                if not self._jobs or (self._fault is None and until()):
                    break
                self._take(block=True)
        except BaseException:  # Ctrl-C: nothing more is sent; replies in flight are lost
            self._cancel()
            raise
        if self._fault is not None and not self._jobs:
            fault, self._fault = self._fault, None
            if isinstance(fault, Stopped):
                raise KeyboardInterrupt
            if isinstance(fault, ServerError):
                raise ServerError(f"{fault}; {self._kept()}") from None
            raise fault

    def _take(self, block: bool) -> None:
        done, _ = wait(list(self._jobs), timeout=0.2 if block else 0,
                       return_when=FIRST_COMPLETED)
        for future in done:
            group, finished, chunk = self._jobs.pop(future)
            self._left[chunk] -= 1
            if not self._left[chunk]:
                del self._left[chunk]
            if future.cancelled():
                continue
            exc = future.exception()
            if exc is None:
                finished(group)
                self.handed += len(group)
            elif self._fault is None:
                self._fault = exc
                for other in self._jobs:  # requests not yet sent are not sent
                    other.cancel()

    def _cancel(self) -> None:
        if self._translator is not None:
            self._translator.client.stop.set()
        for future in self._jobs:
            future.cancel()
        self._jobs.clear()
        self._left.clear()

    def close(self) -> None:
        if self._translator is not None:
            self._translator.close()

    # -- what goes into the prompts ------------------------------------------------------

    def _context_of(self, s: Sentence) -> tuple[list[str], list[tuple[str, str]]]:
        """(the previous sentences' Chinese, (Chinese, English) of those a person
        translated).  Machine English of earlier sentences is not given: with requests
        running concurrently it would depend on which finished first, and the same
        document must give the same prompts on every run."""
        entry = self._context.get(id(s))
        if entry is None or entry[0] is not s:
            return [], []
        previous = entry[1]
        return ([p.zh for p in previous],
                [(p.zh, p.en) for p in previous if p.human and p.en])

    def _references(self, chunk: list[Sentence]) -> dict[int, list[tuple[str, str]]]:
        """People's translations of similar sentences, by sentence: the memory's fuzzy
        matcher (the one behind XLIFF's alt-trans), best first."""
        o = self.model.options
        if not o.references:
            return {}
        human = self._human_translations()
        if not human:
            return {}
        from zhen.memory.fuzzy import suggest_translations

        probes = [Sentence(id=str(i), zh=s.zh) for i, s in enumerate(chunk)]
        found = suggest_translations(probes, human, o.reference_min_score, o.references)
        return {id(chunk[int(i)]): [(g.source, g.target) for g in items]
                for i, items in found.items()}

    def _human_translations(self):
        """The memory's human translations, read once, at the first chunk (after the run
        has put the edits of the outputs it rewrites there)."""
        if self._human is None:
            self._human = self.memory.human_entries() if self.memory is not None else []
        return self._human

    def _kept(self) -> str:
        if self.memory is None:
            return "nothing translated was kept (--no-memory)"
        return (f"{self.handed} translated sentence(s) are in the memory; a rerun continues "
                "from there")


def _ref(obj) -> Callable:
    """A weak reference to `obj` where it takes one, else a strong one (a callable either way)."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj
