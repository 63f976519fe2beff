"""The decoding settings: one home for their defaults, their help, and their key.

`DecodingOptions` is the one object that the CLI takes its `zhen translate` options and
defaults from (`cli_options`), that the translation memory and `--update` key on
(`output_key`: only what changes the output), and that the TEI header records as
structured data which reads back exactly (`to_record` / `from_record`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = ("auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                 "float16", "bfloat16", "float32")
# The compute type chosen for a device when the user leaves it at "auto".
DEFAULT_COMPUTE_TYPE = {"cpu": "int8", "cuda": "int8_float16"}


def _setting(default, help: str, output: bool, **cli):
    """A field with its CLI help and whether it changes the output (part of the key)."""
    return field(default=default, metadata={"help": help, "output": output, **cli})


@dataclass(frozen=True)
class DecodingOptions:
    """Everything that changes what the decoder outputs, plus how it runs."""

    beam_size: int = _setting(2, "Beam size.", True, min=1, max=16)
    # n-best size searched for glossary renderings; the beam's own hypotheses by default,
    # so sentences with terms cost no wider search (and keep the declared beam size).
    num_hypotheses: int = _setting(
        2, "n-best hypotheses searched for glossary renderings (above the beam size it "
        "widens the beam of sentences with terms).", True, min=1, max=16)
    max_length_ratio: float = _setting(
        1.5, "Cap on output tokens relative to input tokens.", True, min=0.1)
    max_length_extra: int = _setting(10, "Output tokens allowed beyond the ratio.", True,
                                     min=0, cli=False)
    max_repeats: int = _setting(
        3, "An n-gram repeated this often in a row is cut (runaway guard).", True, min=2,
        cli=False)
    length_penalty: float = _setting(
        1.0, "Beam search length penalty (Argos Translate uses 0.2 for its packages).", True,
        min=0.0)
    enforce_terms: bool = _setting(True, "Enforce glossary renderings.", True,
                                   flag="--no-enforce",
                                   flag_help="Do not enforce glossary renderings.")
    compute_type: str = _setting(
        "auto", "CTranslate2 compute type (auto: int8 on a CPU, int8_float16 on a GPU).",
        True, choices=COMPUTE_TYPES)
    # How it runs: does not change the output, so not part of the key.
    batch_size: int = _setting(
        512, "Source tokens (or sentences with --batch-type examples) per decoder batch.",
        False, min=1)
    batch_type: str = _setting("tokens", "Batch by tokens or by sentences.", False,
                               choices=("tokens", "examples"))
    threads: int = _setting(0, "CPU threads for decoding (0: all cores).", False, min=0)
    device: str = _setting("auto", "Where to decode (auto: a GPU when CTranslate2 sees one).",
                           False, choices=DEVICES)
    device_index: int = _setting(0, "Which GPU (with --device cuda).", False, min=0)

    def resolved(self, device: str) -> DecodingOptions:
        """These options on `device` ("cpu" or "cuda"): the compute type chosen if auto."""
        compute = DEFAULT_COMPUTE_TYPE[device] if self.compute_type == "auto" else \
            self.compute_type
        return replace(self, device=device, compute_type=compute)

    def output_settings(self) -> dict:
        """The settings that change the output (threads, batches and device do not; the
        compute type does, so resolve it first)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["output"]}

    def output_key(self) -> str:
        """The settings that change the output, as a stable string."""
        return json.dumps(self.output_settings(), sort_keys=True)

    def to_record(self) -> str:
        """All settings as JSON, for the TEI header."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_record(cls, text: str) -> DecodingOptions:
        """Settings read back from `to_record` (unknown keys ignored, missing ones default)."""
        data = json.loads(text)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def enforcement_summary(self) -> str:
        """How glossary renderings are enforced, for the TEI header."""
        if not self.enforce_terms:
            return "off"
        n = max(1, self.num_hypotheses)
        return (f"{n}-best list (beam {max(self.beam_size, n)}) searched, "
                "else the rendering forced as a target prefix")

    def length_cap_summary(self) -> str:
        """The output length cap, for the TEI header."""
        return f"{self.max_length_ratio:g} x source tokens + {self.max_length_extra}"


def cli_fields():
    """The fields `zhen translate` offers as options, with their metadata."""
    return [f for f in fields(DecodingOptions) if f.metadata.get("cli", True)]


@dataclass(frozen=True)
class LlmOptions:
    """How zhen drives a model on an OpenAI-compatible server (model kind `llm`); `zhen
    model add --set NAME=VALUE` keeps other values with the endpoint.  The fields marked
    as changing the output are part of the memory key."""

    context_sentences: int = _setting(
        2, "Previous sentences of the document given as read-only context (0: none).", True,
        min=0, max=20)
    references: int = _setting(
        3, "People's translations of similar sentences (fuzzy matches in the memory) given "
        "as references (0: none).", True, min=0, max=10)
    reference_min_score: float = _setting(
        75.0, "Least fuzzy-match score (0-100) of a reference.", True, min=0.0, max=100.0)
    batch_sentences: int = _setting(
        1, "Sentences per request, as a JSON array (1: one request per sentence).", True,
        min=1, max=64)
    temperature: float = _setting(0.0, "Sampling temperature (0: greedy).", True, min=0.0)
    seed: int = _setting(42, "Sampling seed.", True)
    max_tokens_ratio: float = _setting(
        2.0, "Cap on generated tokens per source character.", True, min=0.1)
    max_tokens_extra: int = _setting(32, "Tokens allowed beyond the ratio.", True, min=0)
    reply_retries: int = _setting(
        2, "Retries of a reply that is empty, holds Chinese or is far outside the length "
        "ratio (each with another seed); then it is kept and flagged.", True, min=0, max=5)
    concurrency: int = _setting(
        0, "Requests at once (0: the server's parallel slots where it says, else 4).",
        False, min=0)
    timeout: float = _setting(120.0, "Seconds to wait for one reply.", False, min=0.1)
    http_retries: int = _setting(
        4, "Retries of a refused or reset connection, a timeout, HTTP 429 or 5xx.", False,
        min=0, max=10)
    backoff: float = _setting(1.0, "First retry's delay in seconds (doubled each time).",
                              False, min=0.0)

    def output_settings(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["output"]}

    def to_record(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_mapping(cls, data: dict) -> LlmOptions:
        """Options from NAME=VALUE strings or values (types from the fields); ValueError
        naming the bad one."""
        values = {}
        known = {f.name: f for f in fields(cls)}
        for name, raw in data.items():
            f = known.get(name.replace("-", "_"))
            if f is None:
                raise ValueError(f"{name}: no such setting (settings: {', '.join(known)})")
            kind = type(f.default)
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{name}={raw}: not a {kind.__name__}") from None
            lo, hi = f.metadata.get("min"), f.metadata.get("max")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ValueError(f"{name}={raw}: out of range "
                                 f"({lo if lo is not None else '-'}..{hi if hi is not None else '-'})")
            values[f.name] = value
        return cls(**values)
