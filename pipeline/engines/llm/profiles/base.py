"""What a prompt profile is: the data one model family's module gives."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


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
