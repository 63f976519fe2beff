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
