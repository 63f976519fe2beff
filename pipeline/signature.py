"""The run signature: what decides a run's translations, besides each source sentence.

Like sacrebleu's `Signature`, one object names everything a result depends on, so that
whatever compares results compares the same thing:
- `--update` (and so `make`) keeps an output whose header gives the same signature;
- the translation memory's keys start from `context()` (model and output settings: the
  glossary enters each sentence's key through the entries matched in it, not as a whole);
- a Dask cluster's model plugin is named after it (with the settings workers load with);
- the TEI header records it (`str`), next to the full provenance it is made from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from zhen.document import Provenance
from zhen.settings import DecodingOptions


def model_id(kind: str, name: str, version: str, fingerprint: str) -> str:
    """What identifies a model's behaviour: kind, name, version and files."""
    return f"{kind}:{name}@{version}#{fingerprint[:16]}"


@dataclass(frozen=True)
class RunSignature:
    model: str  # model_id(...)
    settings: str  # DecodingOptions.output_key(): only the settings that change the output
    glossary: str  # the glossary file's sha256
    version: str  # zhen's

    @classmethod
    def of(cls, provenance: Provenance) -> RunSignature:
        """The signature a TEI header's provenance gives (settings that do not read back
        count as none)."""
        try:
            settings = (DecodingOptions.from_record(provenance.settings).output_key()
                        if provenance.settings else "")
        except (ValueError, TypeError):
            settings = ""
        return cls(model_id(provenance.model_kind, provenance.package_name,
                            provenance.package_version, provenance.model_fingerprint),
                   settings, provenance.glossary_sha256, provenance.pipeline_version)

    def context(self) -> str:
        """What every memory key of the run shares: the model and the output settings."""
        return json.dumps([self.model, self.settings])

    def __str__(self) -> str:
        settings = hashlib.sha256(self.settings.encode()).hexdigest()[:12]
        return (f"model:{self.model}|settings:{settings}|glossary:{self.glossary[:12]}"
                f"|zhen:{self.version}")
