"""The request for one sentence (or a JSON array of several), built from a profile.

Order of the parts: people's translations of similar sentences (references), the
previous sentences (read-only context), the glossary terms matched in this sentence,
then the instruction with the sentence.  Only what the sentence has is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from zhen.engines.llm.profiles import Profile


@dataclass
class Request:
    """What goes to the server for one prompt: chat messages or a completion prompt."""

    messages: list[dict] | None = None
    prompt: str | None = None
    text: str = ""  # the prompt as one text (for logs and tests)
    stop: tuple[str, ...] = ()
    schema: dict | None = None  # JSON schema of the reply (batches)
    extra: dict = field(default_factory=dict)


def build_prompt(profile: Profile, source: str, *, terms=(), context=(), references=(),
                 stressed: bool = False) -> Request:
    """The request translating `source`: `terms` and `references` are (Chinese, English)
    pairs, `context` the previous sentences' Chinese, oldest first."""
    return _request(profile, _body(profile, source, terms, context, references, stressed,
                                   profile.instruction, profile.instruction_with_context))


def build_batch_prompt(profile: Profile, sources: list[str], *, terms=(), context=(),
                       references=()) -> Request:
    """The request translating `sources` as a JSON array of exactly len(sources) strings."""
    n = len(sources)
    array = json.dumps(sources, ensure_ascii=False)
    instruction = profile.batch_instruction.replace("{n}", str(n)).replace("{sources}", array)
    text = _body(profile, "", terms, context, references, False, instruction, instruction)
    req = _request(profile, text)
    req.schema = {"type": "array", "items": {"type": "string"}, "minItems": n, "maxItems": n}
    req.stop = tuple(s for s in req.stop if s != "\n")  # an array may be pretty-printed
    return req


def _fill(template: str, **values: str) -> str:
    # str.replace, not str.format: the Chinese, the glossary and people's English may
    # hold braces.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _body(profile: Profile, source: str, terms, context, references, stressed: bool,
          instruction: str, instruction_with_context: str) -> str:
    target = profile.target
    parts = []
    if references:
        lines = "\n".join(_fill(profile.reference_line, zh=zh, en=en, target=target)
                          for zh, en in references)
        parts.append(_fill(profile.references_block, references=lines))
    if context:
        parts.append(_fill(profile.context_block, context="\n".join(context)))
    if terms:
        lines = "\n".join(_fill(profile.term_line, zh=zh, en=en, target=target)
                          for zh, en in terms)
        block = profile.stressed_terms_block if stressed else profile.terms_block
        parts.append(_fill(block, terms=lines))
    chosen = instruction_with_context if context else instruction
    parts.append(_fill(chosen, source=source, target=target))
    return "".join(parts)


def _request(profile: Profile, text: str) -> Request:
    if profile.endpoint == "completion":
        return Request(prompt=text, text=text, stop=profile.stop)
    messages = []
    if profile.system:
        messages.append({"role": "system", "content": profile.system})
    messages.append({"role": "user", "content": text + profile.user_suffix})
    return Request(messages=messages, text=text + profile.user_suffix, stop=profile.stop)
