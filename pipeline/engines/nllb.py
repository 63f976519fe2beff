"""CTranslate2 conversions of NLLB-200 and M2M-100 (multilingual; zhen uses zh→en).

A folder with the converted model and the SentencePiece model of the Hugging Face
checkpoint, sentencepiece.bpe.model (`ct2-transformers-converter --model
facebook/nllb-200-distilled-1.3B --copy_files sentencepiece.bpe.model`).  As their
tokenizers do (CTranslate2's NLLB guide): the source is the language token, the pieces
and `</s>` (NLLB `zho_Hans`, M2M-100 `__zh__`); the target starts with the English token
(`eng_Latn`, `__en__`) given as target prefix, which is removed from the output.
"""

from __future__ import annotations

import os
from pathlib import Path

from zhen.engines.base import Conventions, ModelInfo, converted_model, read_vocabulary
from zhen.errors import ModelError

SPM_NAME = "sentencepiece.bpe.model"
# (source language token, target language token) of each family
FAMILIES = {"nllb": ("zho_Hans", "eng_Latn"), "m2m100": ("__zh__", "__en__")}


class NllbKind:
    name = "nllb"
    label = "NLLB-200 or M2M-100 conversion"

    def recognise(self, path: Path) -> bool:
        return (path / "model.bin").is_file() and (path / SPM_NAME).is_file()

    def load(self, path: Path, label: str | os.PathLike | None = None) -> ModelInfo:
        path, where = Path(path), label or path
        spm = path / SPM_NAME
        vocab, target_vocab = read_vocabulary(path)
        tokens = set(vocab) | set(target_vocab)
        family = next((f for f, pair in FAMILIES.items() if set(pair) <= tokens), None)
        if family is None:
            raise ModelError(
                f"{where}: a multilingual model without the language tokens zhen needs "
                "(zho_Hans and eng_Latn for NLLB-200, __zh__ and __en__ for M2M-100): it "
                "cannot translate Chinese into English"
            )
        source_lang, target_lang = FAMILIES[family]
        return converted_model(self.name, path, where, Conventions(
            spm, spm, source_prefix=(source_lang,), source_suffix=("</s>",),
            target_prefix=(target_lang,)))


KIND = NllbKind()
