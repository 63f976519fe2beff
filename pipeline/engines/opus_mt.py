"""CTranslate2 conversions of OPUS-MT / Tatoeba-Challenge Marian models (zho-eng).

A folder with the converted model (model.bin, config.json, vocabulary) and Marian's two
SentencePiece models, source.spm and target.spm (`ct2-transformers-converter --model
Helsinki-NLP/opus-mt-zh-en --copy_files source.spm target.spm`, or `ct2-opus-mt-converter`
on an OPUS-MT release).  Marian ends every source sentence with `</s>`: the transformers
conversion expects it in the input (Hugging Face's tokenizer appends it), the OPUS-MT
converter sets `add_source_eos` in config.json so that CTranslate2 appends it.  Outputs
have no prefix; they are decoded with target.spm.  An optional zhen-model.json gives
name, version and `"synthetic": true` (zhen's synthetic models).
"""

from __future__ import annotations

import os
from pathlib import Path

from zhen.engines.base import (
    Conventions,
    ModelInfo,
    check_spm_language,
    converted_model,
    model_config,
    read_vocabulary,
)
from zhen.errors import ModelError

ZH_SAMPLE = "中华人民共和国外交部发言人今天表示，双方将加强经济合作。"
EN_SAMPLE = "The foreign ministry spokesperson said that both sides will strengthen trade."


class OpusMtKind:
    name = "opus-mt"
    label = "OPUS-MT (Marian) conversion"

    def recognise(self, path: Path) -> bool:
        return (path / "model.bin").is_file() and (
            (path / "source.spm").is_file() or (path / "target.spm").is_file())

    def load(self, path: Path, label: str | os.PathLike | None = None) -> ModelInfo:
        path, where = Path(path), label or path
        source, target = path / "source.spm", path / "target.spm"
        for spm in (source, target):
            if not spm.is_file():
                raise ModelError(f"{where}: {spm.name} is missing; copy Marian's source.spm "
                                 "and target.spm into the converted model's folder")
        config = model_config(path)
        vocab_source, _ = read_vocabulary(path)
        if "</s>" not in vocab_source:
            raise ModelError(f"{where}: the vocabulary has no </s>: not a Marian model")
        check_spm_language(source, ZH_SAMPLE, "Chinese", where)
        check_spm_language(target, EN_SAMPLE, "English", where)
        # Marian's end of sentence: given by zhen unless CTranslate2 adds it (config).
        suffix = () if config.get("add_source_eos") else ("</s>",)
        return converted_model(self.name, path, where,
                               Conventions(source, target, source_suffix=suffix))


KIND = OpusMtKind()
