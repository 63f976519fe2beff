"""Translate sentences on an engine, honouring the glossary.

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

Every sentence gets the score of the hypothesis it keeps (`Sentence.score`, zhen.scores):
exact for a hypothesis the model decoded alone (step 1 or 2); after prefix forcing, the
continuation's tokens as decoded plus the kept part of the earlier hypothesis at that
hypothesis's mean (the forced rendering's tokens are not the model's choice and are not
counted); a long sentence translated clause by clause, its clauses' tokens together.

It works against the engine interface only (engines.engine.CTranslate2Engine: pieces,
token spans, detokenizing, batched decoding with prefixes and attention peaks), so it is
the same for every model kind and device.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from zhen.document import Sentence, Term, TermMatch, TermStatus
from zhen.engines.engine import CTranslate2Engine, Hypothesis
from zhen.scores import LogProb, combine
from zhen.terminology.renderings import find_renderings, has_all_renderings, locate_renderings

_CLAUSE_END = re.compile(r"(?<=[，、：；,;:])")
MAX_SOURCE_PIECES = 250  # longer sentences are translated clause by clause


@dataclass
class _Enforcing:
    """One sentence's state during enforcement."""

    sentence: Sentence
    source: list[str]
    hyps: list[Hypothesis] = field(default_factory=list)
    best: Hypothesis | None = None
    forced: int = 0  # length of the token prefix already fixed
    allowance: int = 0  # pieces of the renderings forced so far (added to the length cap)
    ends: list[int] = field(default_factory=list)  # token positions where a forced rendering ends
    logprob: LogProb = LogProb()  # of the model's own tokens in `best` (scores.LogProb)


class Translator:
    """Glossary-aware sentence translation on a loaded engine."""

    def __init__(self, engine: CTranslate2Engine):
        self.engine = engine
        self.options = engine.options

    @property
    def decoder_calls(self) -> int:
        return self.engine.decoder_calls

    # -- sentences ----------------------------------------------------------------------

    def translate(
        self,
        sentences: list[Sentence],
        terms: dict[str, Term],
        done: Callable[[list[Sentence]], None] | None = None,
    ) -> None:
        """Fill `en` and the English side of every term occurrence of `sentences`.

        `done` is called with sentences as soon as they are finished: a batch of sentences
        without terms as it comes back from the decoder, sentences with terms once their
        enforcement is over."""
        done = done or (lambda finished: None)
        encoded = {id(s): self.engine.pieces(s.zh) for s in sentences}
        long = [s for s in sentences if len(encoded[id(s)]) > MAX_SOURCE_PIECES]
        short = [s for s in sentences if len(encoded[id(s)]) <= MAX_SOURCE_PIECES]
        enforce = self.options.enforce_terms
        plain = [s for s in short if not (s.terms and enforce)]
        if plain:
            def finish(indices: list[int], decoded: list[list[Hypothesis]]) -> None:
                batch = [plain[i] for i in indices]
                for s, hyps in zip(batch, decoded):
                    s.en = self.engine.detokenize(hyps[0].tokens)
                    s.score = hyps[0].score
                    locate_renderings(s, terms, TermStatus.MODEL)
                done(batch)

            self.engine.decode([encoded[id(s)] for s in plain], on_batch=finish)
        with_terms = [s for s in short if s.terms and enforce]
        if with_terms:
            self._translate_enforced(with_terms, terms, done)
        if long:
            self._translate_long(long, terms, done)

    def _translate_long(
        self,
        sentences: list[Sentence],
        terms: dict[str, Term],
        done: Callable[[list[Sentence]], None],
    ) -> None:
        """Translate over-long sentences clause by clause, joined; terms found, not enforced."""
        chunks = [split_long(s.zh, self.engine.pieces, MAX_SOURCE_PIECES) for s in sentences]
        flat = [self.engine.pieces(c) for parts in chunks for c in parts]
        decoded = iter(self.engine.decode(flat))
        for s, parts in zip(sentences, chunks):
            best = [next(decoded)[0] for _ in parts]
            s.en = " ".join(self.engine.detokenize(h.tokens) for h in best)
            s.score = combine(h.logprob for h in best)
            locate_renderings(s, terms, TermStatus.MODEL)
            done([s])

    def _translate_enforced(
        self,
        sentences: list[Sentence],
        terms: dict[str, Term],
        done: Callable[[list[Sentence]], None],
    ) -> None:
        jobs = []
        for s in sentences:
            jobs.append(_Enforcing(s, self.engine.pieces(s.zh)))
        n = max(1, self.options.num_hypotheses)
        first_pass = self.engine.decode([j.source for j in jobs], None, n, True)
        for job, hyps in zip(jobs, first_pass):
            job.hyps = hyps
        pending = []
        for job in jobs:
            texts = [self.engine.detokenize(h.tokens) for h in job.hyps]
            chosen = next((i for i, t in enumerate(texts) if has_all_renderings(t, job.sentence, terms)), None)
            if chosen is not None:
                job.sentence.en = texts[chosen]
                job.sentence.score = job.hyps[chosen].score
                status = TermStatus.MODEL if chosen == 0 else TermStatus.ENFORCED
                locate_renderings(job.sentence, terms, status)
            else:
                job.best = job.hyps[0]
                job.logprob = job.best.logprob
                pending.append(job)
        done([j.sentence for j in jobs if j not in pending])
        # Prefix forcing, one term occurrence per round, batched across sentences.
        for round_no in range(max((len(j.sentence.terms) for j in pending), default=0)):
            todo = [j for j in pending if round_no < len(j.sentence.terms)]
            prefixes = [self._forced_prefix(j, j.sentence.terms[round_no], terms) for j in todo]
            redo = [(j, p) for j, p in zip(todo, prefixes) if p is not None]
            if not redo:
                continue
            decoded = self.engine.decode(
                [j.source for j, _ in redo], [p for _, p in redo], 1, True,
                allowances=[j.allowance for j, _ in redo],
            )
            for (job, prefix), hyps in zip(redo, decoded):
                # the prefix's own tokens (all but the renderings forced so far) at the mean
                # of the hypothesis they come from, then the continuation as decoded
                job.logprob = job.logprob.part(len(prefix) - job.allowance) + hyps[0].logprob
                job.best = hyps[0]
                job.forced = len(prefix)
                job.ends.append(len(prefix))
        for job in pending:
            job.sentence.en = self.engine.detokenize_segments(job.best.tokens, job.ends)
            job.sentence.score = job.logprob.score
            model_text = self.engine.detokenize(job.hyps[0].tokens)
            locate_renderings(job.sentence, terms, TermStatus.ENFORCED, model_text)
        if pending:
            done([j.sentence for j in pending])

    def _forced_prefix(self, job: _Enforcing, occ: TermMatch, terms: dict[str, Term]) -> list[str] | None:
        """Best hypothesis up to where `occ` belongs, then its rendering; None if not needed.

        Adds the rendering's pieces to the job's length allowance.
        """
        rendering = terms[occ.term_id].rendering
        best = job.best
        current = self.engine.detokenize(best.tokens[: job.forced])
        needed = sum(1 for t in job.sentence.terms if t.term_id == occ.term_id and t.start <= occ.start)
        if len(find_renderings(current, rendering)) >= needed:
            return None  # already fixed by an earlier round
        src = self.engine.token_span(job.sentence.zh, occ.start, occ.end)
        pos = _aligned_position(best, src, len(job.source))
        pos = min(max(pos, job.forced), len(best.tokens))
        if pos == 0:
            rendering = rendering[:1].upper() + rendering[1:]
        forced = self.engine.target_pieces(rendering)
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
