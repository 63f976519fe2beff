"""Where each sentence's English comes from: a person, the memory, this run, the decoder.

`SentenceResolver.submit` fills a list of sentences in that order of precedence:
1. a person's translation: edited in an output about to be overwritten, or in the
   memory's human translations, or marked human in such an output (its renderings
   re-located: EDITED, or MISSED where the person's English lacks one);
2. the memory's machine translation for the same key (model, settings, source and the
   glossary entries matched in it), or, without a memory, this run's own;
3. the decoder, each distinct sentence once: its repetitions, in this window or a later
   one while it is still being decoded, take its result.
Decoded sentences are stored as soon as a chunk is finished, so an interrupted run loses
only the work in flight.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from zhen.digests import normalise_sentence
from zhen.document import Origin, Sentence, Term, TermStatus
from zhen.engines.decoder import Decoder
from zhen.engines.engine import thread_split
from zhen.memory.base import HumanTranslation, Memory
from zhen.memory.keys import sentence_key
from zhen.settings import DecodingOptions
from zhen.signature import RunSignature
from zhen.tei.edits import ExistingOutput
from zhen.terminology.renderings import locate_renderings

Pair = tuple[str, str]  # (key, Chinese sentence): what is decoded once


class SentenceResolver:
    """Fills sentences for one run: people first, then the memory, then the decoder."""

    RUN_CACHE_SIZE = 100_000

    def __init__(self, terms: dict[str, Term], signature: RunSignature,
                 options: DecodingOptions, decoder: Decoder, memory: Memory | None = None):
        self.terms = terms
        self.model_id = signature.model
        self.options = options
        self.decoder = decoder
        self.memory = memory
        self.context = signature.context()
        # People's translations found in outputs about to be overwritten, by normalised
        # source: those edited in the file win over the memory, those marked human before
        # serve where the memory has none (it may be off, or another file).
        self._edited: dict[str, HumanTranslation] = {}
        self._carried: dict[str, HumanTranslation] = {}
        # Without a memory, this run's own translations by key, so that no sentence is
        # decoded twice in one run either (bounded: the oldest are forgotten first).
        self._run_cache: OrderedDict[str, Sentence] = OrderedDict()
        # Distinct sentences being decoded, with their repetitions; and sentences of later
        # windows waiting for them (as they would have come from the memory had the
        # earlier window been finished).  Empty between windows when decoding here.
        self.in_flight: dict[Pair, list[Sentence]] = {}
        self.joined: dict[Pair, list[Sentence]] = {}
        self.saved = 0  # decoded sentences already stored (what an interrupted run keeps)

    def keep_edits(self, existing: ExistingOutput, glossary_sha256: str) -> int:
        """Put the human sentences of an output about to be overwritten into the memory
        and in reach of this run; return how many the memory gained or updated."""
        edited, carried = existing.translations(glossary_sha256)
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
        """Give each sentence that has a person's translation that translation; return
        the others."""
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

    def translate(self, sentences: list[Sentence], progress=None) -> int:
        """Fill the English side of `sentences` and wait for the decoder; return how many
        distinct sentences went through it."""
        decoded, _ = self.submit(sentences, progress)
        self.decoder.deliver()
        return decoded

    def submit(self, sentences: list[Sentence],
               progress: Callable[[int], None] | None = None) -> tuple[int, list[Pair]]:
        """`translate` without waiting for the decoder: the sentences are filled once none
        of the pairs returned is in flight any more (at once when decoding here).  Returns
        (distinct sentences decoded, those pairs).  `progress(n)`: n more sentences done."""
        progress = progress or (lambda n: None)
        rest = self.apply_human(sentences)
        keyed = [(sentence_key(self.context, s, self.terms), s) for s in rest]
        todo = self.memory.lookup(keyed) if self.memory else self._from_run_cache(keyed)
        progress(len(sentences) - len(todo))
        groups: dict[Pair, list[Sentence]] = {}
        waits = []
        for key, s in todo:
            if (key, s.zh) in self.in_flight:  # an earlier window's, still being decoded
                if (key, s.zh) not in self.joined:
                    waits.append((key, s.zh))
                self.joined.setdefault((key, s.zh), []).append(s)
            else:
                groups.setdefault((key, s.zh), []).append(s)
        distinct = [(key, copies[0]) for (key, _), copies in groups.items()]
        waits += groups
        self.in_flight.update(groups)
        finished = self._finisher({id(s): key for key, s in distinct}, progress)
        # Chunks bound how long a sentence with terms waits for its enforcement rounds
        # (and so what an interrupt can lose); sentences without terms are stored batch by
        # batch.  The same sentences make the same chunks wherever they are decoded.
        try:
            for chunk in _chunks([s for _, s in distinct], self.chunk_sentences):
                self.decoder.decode(chunk, self.terms, finished)
        except BaseException:
            for pair in groups:  # nothing waits for them any more
                self.in_flight.pop(pair, None)
                self.joined.pop(pair, None)
            raise
        return len(distinct), waits

    def waiting(self, pairs: list[Pair]) -> bool:
        """Whether any of `pairs` is still being decoded."""
        return any(pair in self.in_flight for pair in pairs)

    def _finisher(self, key_of: dict[int, str], progress: Callable[[int], None]):
        def finished(done: list[Sentence]) -> None:
            """Decoded sentences: copied to their repetitions, stored at once."""
            keyed_done = [(key_of[id(s)], s) for s in done]
            copies = 0
            for key, first in keyed_done:
                group = self.in_flight.pop((key, first.zh))
                for copy in group[1:]:
                    copy.take_translation(first)
                for copy in self.joined.pop((key, first.zh), ()):
                    copy.take_translation(first)
                    if self.memory:  # what the memory would have given it
                        copy.origin = Origin.MEMORY
                    copies += 1
                copies += len(group)
            if self.memory:
                self.memory.store(self.model_id, keyed_done)
            else:
                self._to_run_cache(keyed_done)
            self.saved += len(done)
            progress(copies)

        return finished

    @property
    def chunk_sentences(self) -> int:
        """Sentences decoded (and stored) together: about four batches per worker."""
        inter, _ = thread_split(self.options.threads, self.options.batch_type)
        per_batch = (self.options.batch_size // 32 if self.options.batch_type == "tokens"
                     else self.options.batch_size)
        return max(16, 4 * inter * per_batch)

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


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
