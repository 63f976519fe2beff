"""Translating sentences on a model server: the requests, their checks and retries.

One request per sentence by default (or a JSON array of `batch_sentences`, falling back on
a wrong count or shape: the same again with another seed, then halves, then single
sentences), so every English sentence belongs to exactly one Chinese sentence.  A reply
is cleaned (`hygiene`); one still empty, holding Chinese or far outside the length ratio is
asked again a bounded number of times (another seed, some temperature), then kept as it
is for QA to flag.  Glossary terms matched in the sentence are in the prompt; the
existing term check (`renderings`) verifies the reply, a miss is asked once more with the
terms stressed (ENFORCED when that reply has them), then left MISSED.  Requests run
concurrently (`submit`); the decoder hands each group back as soon as it is finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from zhen.document import Sentence, Term, TermKind, TermStatus
from zhen.engines.llm.client import Client, Refused, ServerError
from zhen.engines.llm.hygiene import clean_reply, mean_logprob_score, parse_array, reply_problems
from zhen.engines.llm.prompt import Request, build_batch_prompt, build_prompt
from zhen.terminology.renderings import allocate_renderings, has_all_renderings, locate_renderings

log = logging.getLogger("zhen")

RETRY_TEMPERATURE = 0.7  # a reply asked again must be able to differ (greedy would repeat it)


@dataclass
class _Outcome:
    english: str
    problems: list[str]
    score: float | None


class LlmTranslator:
    """Sentences → English on one server, with one profile and one set of options."""

    def __init__(self, model, client: Client, concurrency: int, enforce: bool = True):
        self.model = model
        self.enforce = enforce  # a missed rendering is asked for once more, stressed
        self.profile = model.profile
        self.options = model.options
        self.client = client
        self.concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="zhen-llm")
        self._batches_refused = False  # the server refused a batch request: singles from now

    @property
    def decoder_calls(self) -> int:
        return self.client.requests

    def close(self) -> None:
        """Stop: requests not sent are not sent, retries stop, and a request in flight is
        abandoned (its connection closed), so that Ctrl-C or a fault never waits for a
        slow reply."""
        self.client.stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    # -- a chunk --------------------------------------------------------------------------

    def submit(self, sentences: list[Sentence], terms: dict[str, Term],
               context_of: Callable[[Sentence], tuple[list[str], list[tuple[str, str]]]],
               references_of: Callable[[Sentence], list[tuple[str, str]]]
               ) -> list[tuple[Future, list[Sentence]]]:
        """Send the sentences' requests (`batch_sentences` a group): (future, group) for
        each group; a future's result is its group filled (en, term statuses, score).
        What the prompts need is read here, in the calling thread."""
        n = self.options.batch_sentences
        jobs = []
        for i in range(0, len(sentences), n):
            group = sentences[i:i + n]
            inputs = [(s, context_of(s), references_of(s)) for s in group]
            jobs.append((self._pool.submit(self._group, inputs, terms), group))
        return jobs

    # -- one group (one request, or one per sentence) -----------------------------------

    def _group(self, inputs, terms: dict[str, Term]) -> None:
        if len(inputs) == 1 or self._batches_refused:
            for one in inputs:
                self._single(*one, terms)
            return
        self._batch(inputs, terms, tries=2)

    def _batch(self, inputs, terms, tries: int) -> None:
        sentences = [s for s, _, _ in inputs]
        context = inputs[0][1]
        pairs = []
        for _, _, refs in inputs:
            pairs += [r for r in refs if r not in pairs]
        term_pairs = []
        for s in sentences:
            term_pairs += [p for p in _term_pairs(s, terms) if p not in term_pairs]
        req = build_batch_prompt(self.profile, [s.zh for s in sentences], terms=term_pairs,
                                 context=context[0], references=pairs + context[1])
        limit = sum(self._max_tokens(s) for s in sentences) + 8 * len(sentences)
        items = None
        score = None
        for attempt in range(tries):
            try:
                reply = self._send(req, limit, attempt)
            except Refused as exc:  # e.g. no JSON schema here: one sentence per request
                log.debug("a batch request was refused (%s): single sentences", exc)
                self._batches_refused = True
                for one in inputs:
                    self._single(*one, terms)
                return
            items = parse_array(reply.text, len(sentences))
            if items is not None:
                score = mean_logprob_score(reply.logprobs or [])
                break
        if items is None:  # halves, then single sentences
            if len(inputs) == 1:
                self._single(*inputs[0], terms)
                return
            half = (len(inputs) + 1) // 2
            for part in (inputs[:half], inputs[half:]):
                if len(part) == 1:
                    self._single(*part[0], terms)
                else:
                    self._batch(part, terms, tries=1)
            return
        for (s, ctx, refs), text in zip(inputs, items):
            english = clean_reply(text, s.zh)
            if reply_problems(english, s.zh, _keep_forms(s, terms)) or \
                    (s.terms and self.enforce and not has_all_renderings(english, s, terms)):
                self._single(s, ctx, refs, terms)  # this one asked alone
                continue
            s.en = english
            s.score = score
            locate_renderings(s, terms, TermStatus.MODEL)

    def _single(self, s: Sentence, context, references, terms: dict[str, Term]) -> None:
        term_pairs = _term_pairs(s, terms)
        req = build_prompt(self.profile, s.zh, terms=term_pairs, context=context[0],
                           references=list(references) + list(context[1]))
        first = self._ask(req, s, terms)
        if not s.terms or not self.enforce or has_all_renderings(first.english, s, terms):
            self._fill(s, first, terms, TermStatus.MODEL)
            return
        stressed_req = build_prompt(self.profile, s.zh, terms=term_pairs, context=context[0],
                                    references=list(references) + list(context[1]),
                                    stressed=True)
        second = self._ask(stressed_req, s, terms)
        found = [_found(o.english, s, terms) for o in (first, second)]
        if not second.problems and found[1] >= found[0]:
            self._fill(s, second, terms, TermStatus.ENFORCED, model_text=first.english)
        else:
            self._fill(s, first, terms, TermStatus.MODEL)

    def _ask(self, req: Request, s: Sentence, terms) -> _Outcome:
        """A cleaned reply, asked again (bounded) while it is empty, holds Chinese or is
        far outside the length ratio; the last one is kept whatever it is."""
        keep = _keep_forms(s, terms)
        outcome = None
        for attempt in range(self.options.reply_retries + 1):
            reply = self._send(req, self._max_tokens(s), attempt)
            english = clean_reply(reply.text, s.zh)
            problems = reply_problems(english, s.zh, keep)
            if reply.finish_reason == "length":
                problems.append("length")
            outcome = _Outcome(english, problems, mean_logprob_score(reply.logprobs or []))
            if not problems:
                break
            log.debug("%s: reply %d: %s", s.id, attempt + 1, ", ".join(problems))
        return outcome

    @staticmethod
    def _fill(s: Sentence, outcome: _Outcome, terms, status: TermStatus,
              model_text: str | None = None) -> None:
        s.en = outcome.english
        s.score = outcome.score
        locate_renderings(s, terms, status, model_text)

    def _max_tokens(self, s: Sentence) -> int:
        return max_tokens_for(s.zh, self.options)

    def _send(self, req: Request, max_tokens: int, attempt: int):
        body = request_body(self.model.served_id, self.profile, self.options, req,
                            max_tokens, attempt)
        return self.client.generate(self.profile.endpoint, body)


def max_tokens_for(zh: str, options) -> int:
    """A request's max_tokens: from the source's length, as CTranslate2's length cap."""
    return int(len(zh) * options.max_tokens_ratio) + options.max_tokens_extra


def request_body(served_id: str, profile, options, req: Request, max_tokens: int,
                 attempt: int = 0) -> dict:
    """The JSON body of one request (attempt > 0: a retry, with another seed and some
    temperature, so that it can differ)."""
    o = options
    body = {"model": served_id, "max_tokens": max_tokens,
            "temperature": o.temperature if attempt == 0 else max(o.temperature,
                                                                  RETRY_TEMPERATURE),
            "seed": o.seed + attempt, "cache_prompt": False}
    body.update(profile.sampling)
    if req.stop:
        body["stop"] = list(req.stop)
    if req.messages is not None:
        body["messages"] = req.messages
        body["logprobs"] = True
        body["top_logprobs"] = 1  # llama-cpp-python gives none without it
        body.update(profile.extra_body)
    else:
        body["prompt"] = req.prompt
        body["logprobs"] = 1
    if req.schema is not None:
        body["response_format"] = {"type": "json_object", "schema": req.schema}
    return body


def _term_pairs(s: Sentence, terms: dict[str, Term]) -> list[tuple[str, str]]:
    """(Chinese form as written in the sentence, approved rendering) of each term matched
    in it, once each, in order."""
    pairs = []
    for occ in s.terms:
        pair = (s.zh[occ.start:occ.end], terms[occ.term_id].rendering)
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _keep_forms(s: Sentence, terms: dict[str, Term]) -> tuple[str, ...]:
    return tuple(terms[o.term_id].rendering for o in s.terms
                 if terms[o.term_id].kind is TermKind.KEEP)


def _found(english: str, s: Sentence, terms) -> int:
    return sum(1 for span in allocate_renderings(english, s.terms, terms) if span is not None)


__all__ = ["LlmTranslator", "ServerError"]
