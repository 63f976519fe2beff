"""The keys of machine translations in the memory: everything that determines the output.

A key covers the run's context (`signature.RunSignature.context`: the model and the
decoding settings that change the output), the normalised source sentence and the glossary entries that match in it (not the whole glossary: an
entry added, edited or removed invalidates only the sentences where it matches, or where
its matching changes another match).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from zhen.digests import normalise_sentence
from zhen.document import Sentence, Term


def sentence_key(context: str, sentence: Sentence, terms: Mapping[str, Term]) -> str:
    """Key of one sentence's machine translation: the context, the normalised source and
    the content of the glossary entries matched in it (forms, rendering, kind)."""
    entries = sorted({(t.zh, t.variants, t.rendering, t.kind.value)
                      for t in (terms[o.term_id] for o in sentence.terms)})
    text = json.dumps([context, normalise_sentence(sentence.zh), entries], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
