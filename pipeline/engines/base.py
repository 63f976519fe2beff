"""What a zh→en model is (`ModelInfo`, its token `Conventions`, the `ModelKind`
protocol) and the helpers the kinds share."""


from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from zhen.errors import ModelError


@dataclass(frozen=True)
class Conventions:
    """How text becomes a model's tokens and back, as the kind's real models expect."""

    source_spm: Path
    target_spm: Path
    source_prefix: tuple[str, ...] = ()  # e.g. NLLB's ("zho_Hans",)
    source_suffix: tuple[str, ...] = ()  # e.g. ("</s>",) where the model wants it given
    target_prefix: tuple[str, ...] = ()  # e.g. NLLB's ("eng_Latn",); removed from outputs


@dataclass(frozen=True)
class ModelInfo:
    """A zh→en model on disk: what it is, and how to feed it."""

    kind: str  # a key of MODEL_KINDS
    path: Path  # the model's folder
    name: str
    version: str
    synthetic: bool  # random weights: its English is noise
    model_dir: Path  # the CTranslate2 model (model.bin, config.json, vocabulary)
    conventions: Conventions
    fingerprint: str  # of the model's files (see `fingerprint`)

    @property
    def model_id(self) -> str:
        """What identifies the model's behaviour (memory and --update key part)."""
        from zhen.signature import model_id

        return model_id(self.kind, self.name, self.version, self.fingerprint)

    def record(self) -> dict:
        """The identity as plain data, for the TEI header."""
        return {"kind": self.kind, "name": self.name, "version": self.version,
                "fingerprint": self.fingerprint, "synthetic": self.synthetic}

    # What the batch runner asks of a model (a model on a server answers otherwise, and
    # brings its own decoder: engines.llm.model.ServerModel).

    def output_key(self, options) -> str:
        """The decoding settings that change this model's output, as a key part."""
        return options.output_key()

    def provenance(self, options, engine: bool = True) -> dict:
        """The header's account of the model and its settings (Provenance fields);
        engine=False leaves out the CTranslate2 version, which takes importing it."""
        version = ""
        if engine:
            import ctranslate2

            version = ctranslate2.__version__
        return {"package_name": self.name, "package_version": self.version,
                "package_synthetic": self.synthetic, "ctranslate2_version": version,
                "model_kind": self.kind, "model_fingerprint": self.fingerprint,
                "device": options.device, "settings": options.to_record()}


class ModelKind(Protocol):
    """What a model-kind module provides."""

    name: str
    label: str  # for people: "Argos Translate package"

    def recognise(self, path: Path) -> bool:
        """Whether the folder looks like a model of this kind (its files are there)."""

    def load(self, path: Path, label: str | os.PathLike | None = None) -> ModelInfo:
        """Check the folder and describe it; ModelError saying what is wrong."""


_SAMPLE = 1 << 20


def fingerprint(files: list[Path]) -> str:
    """sha256 over the files' names and sizes, and the whole of each small file or the
    first and last MiB of a large one (model.bin): cheap on a 1 GB model, and it changes
    when the weights, vocabulary or tokenizer change."""
    digest = hashlib.sha256()
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with open(path, "rb") as fh:
            if size <= 2 * _SAMPLE:
                digest.update(fh.read())
            else:
                digest.update(fh.read(_SAMPLE))
                fh.seek(-_SAMPLE, os.SEEK_END)
                digest.update(fh.read(_SAMPLE))
    return digest.hexdigest()


def read_vocabulary(model_dir: Path) -> tuple[list[str], list[str]]:
    """(source, target) vocabulary of a CTranslate2 model folder (JSON or text files)."""

    def read(stem: str) -> list[str] | None:
        for suffix in (".json", ".txt"):
            path = model_dir / f"{stem}{suffix}"
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                return json.loads(text) if suffix == ".json" else text.splitlines()
        return None

    shared = read("shared_vocabulary")
    if shared is not None:
        return shared, shared
    source, target = read("source_vocabulary"), read("target_vocabulary")
    if source is None or target is None:
        raise ModelError(f"{model_dir}: no vocabulary files (shared_vocabulary.json or "
                         "source_/target_vocabulary.json): not a complete CTranslate2 model")
    return source, target


def converted_model(kind: str, path: Path, where, conventions: Conventions) -> ModelInfo:
    """The ModelInfo of a CTranslate2 conversion folder (opus-mt, nllb): name, version and
    synthetic flag from its optional zhen-model.json, else the folder's name."""
    path = Path(path)
    meta = zhen_metadata(path, where)
    return ModelInfo(
        kind=kind, path=path,
        name=str(meta.get("name") or path.resolve().name),
        version=str(meta.get("version") or "0"),
        synthetic=bool(meta.get("synthetic", False)),
        model_dir=path,
        conventions=conventions,
        fingerprint=fingerprint(model_files(path)),
    )


def zhen_metadata(path: Path, where) -> dict:
    """zhen-model.json of a model folder ({} when absent)."""
    meta = path / "zhen-model.json"
    if not meta.is_file():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{where}: unreadable zhen-model.json ({exc})") from None
    return data if isinstance(data, dict) else {}


def model_config(model_dir: Path) -> dict:
    """A CTranslate2 model's config.json ({} when absent)."""
    path = model_dir / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable ({exc}); convert the model again") from None


def model_files(model_dir: Path, *tokenizers: Path) -> list[Path]:
    """The files a fingerprint covers: the CTranslate2 model's and the tokenizers."""
    return sorted(p for p in model_dir.iterdir() if p.is_file()) + list(tokenizers)


def check_spm_language(spm: Path, sample: str, language: str, label) -> None:
    """Refuse a tokenizer that cannot write `language`: most of `sample`'s characters
    falling to unknown pieces means the model is for another language pair."""
    import sentencepiece

    try:
        processor = sentencepiece.SentencePieceProcessor(model_file=str(spm))
    except (OSError, RuntimeError) as exc:
        raise ModelError(f"{label}: {spm.name} is not a SentencePiece model ({exc})") from None
    # Character by character: SentencePiece folds a run of unknown characters into one
    # unknown piece, which would hide how much of the text it cannot write.
    chars = [c for c in sample if c.isalpha()]
    unknown = sum(1 for c in chars if any(processor.is_unknown(i) for i in processor.encode(c)))
    if chars and unknown > len(chars) / 2:
        raise ModelError(f"{label}: its tokenizer {spm.name} does not know {language} "
                         f"({unknown} of {len(chars)} letters unknown): this model is for "
                         "another language pair; zhen needs zh→en")
