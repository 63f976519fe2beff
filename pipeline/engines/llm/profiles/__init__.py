"""Prompt profiles, one module per model family, as data.

A profile says how to ask one family of models for a zh→en translation: the endpoint
(chat or plain completion), the prompt's parts (instruction, how glossary terms, the
previous sentences and people's reference translations are given, and the stressed form
of the terms for the one retry), stop strings, extra sampling fields, and how thinking is
switched off.  `choose_profile` picks one from the served model's id; `--profile` /
`zhen model add --profile` overrides it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from zhen.errors import ModelError


@dataclass(frozen=True)
class Profile:
    name: str
    description: str  # for people (`zhen model list`, the TEI header)
    matches: tuple[str, ...]  # regular expressions on the served model's id (lower case)
    endpoint: str  # "chat" (/chat/completions) or "completion" (/completions)
    # The prompt, assembled by prompt.build_prompt from these parts; {source} is the
    # sentence, {target} the target language's name in the template's language.
    instruction: str  # the request with {source}
    instruction_with_context: str  # the same after a context block
    context_block: str  # {context}: the previous sentences, one a line
    terms_block: str  # {terms}: the term lines
    term_line: str  # {zh} {en}
    stressed_terms_block: str  # the terms block of the retry that stresses them
    references_block: str  # {references}: people's translations of similar sentences
    reference_line: str  # {zh} {en}
    batch_instruction: str  # several sentences: {n} and {sources} (a JSON array)
    target: str = "English"
    system: str = ""  # a system message (chat), "" for none
    user_suffix: str = ""  # appended to the user message (Qwen3's "/no_think")
    stop: tuple[str, ...] = ()
    sampling: dict = field(default_factory=dict)  # extra request fields: top_k, …
    extra_body: dict = field(default_factory=dict)  # e.g. chat_template_kwargs

    def digest(self) -> str:
        """sha256 of everything that shapes a request: part of the memory key."""
        data = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()


def profiles() -> dict[str, Profile]:
    """Every profile by name, the most specific first (generic chat last but one)."""
    from zhen.engines.llm.profiles import completion, generic, hunyuan, qwen

    return {p.name: p for p in (hunyuan.PROFILE, qwen.PROFILE, completion.PROFILE,
                                generic.PROFILE)}


DEFAULT = "chat"


def get_profile(name: str) -> Profile:
    found = profiles().get(name)
    if found is None:
        raise ModelError(f"--profile {name}: no such profile; choose one of "
                         f"{', '.join(profiles())}")
    return found


def choose_profile(served_id: str) -> Profile:
    """The profile whose patterns match the served model's id, else the generic chat one."""
    ident = served_id.lower()
    for profile in profiles().values():
        if any(re.search(p, ident) for p in profile.matches):
            return profile
    return profiles()[DEFAULT]
