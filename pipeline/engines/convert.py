"""`zhen model convert`: a local Hugging Face checkpoint into a CTranslate2 model folder.

Uses CTranslate2's own converter (`ctranslate2.converters.TransformersConverter`), which
needs transformers and torch: the optional extra `zhen[convert]`, never in the default
install.  The tokenizer files each kind needs are copied beside the model, and the result
is checked by loading it as a model of its kind.  Nothing is downloaded: the checkpoint
must be a local folder, and the Hugging Face hub is kept offline.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from zhen.engines.base import ModelInfo
from zhen.engines.registry import load_model
from zhen.errors import ModelError

# Tokenizer files of the checkpoint that the model kinds read, by kind.
TOKENIZER_FILES = {"opus-mt": ("source.spm", "target.spm"),
                   "nllb": ("sentencepiece.bpe.model",)}


def convert_checkpoint(source: Path, out: Path, quantization: str = "int8") -> ModelInfo:
    """Convert `source` (a Hugging Face checkpoint folder) into `out`; return the model."""
    source, out = Path(source), Path(out)
    if not (source / "config.json").is_file():
        raise ModelError(f"{source}: not a Hugging Face checkpoint (no config.json); give the "
                         "local folder of an OPUS-MT, NLLB-200 or M2M-100 model")
    if out.exists():
        raise ModelError(f"{out}: already exists; give a new folder")
    kind = next((k for k, names in TOKENIZER_FILES.items()
                 if all((source / n).is_file() for n in names)), None)
    if kind is None:
        raise ModelError(f"{source}: no source.spm/target.spm (OPUS-MT) or "
                         "sentencepiece.bpe.model (NLLB-200, M2M-100) in it: zhen cannot "
                         "tokenize for this model")
    try:
        import transformers  # noqa: F401
        from ctranslate2.converters import TransformersConverter
    except ImportError:
        raise ModelError(
            "zhen model convert needs transformers and torch: `pip install 'zhen[convert]'` "
            "(several GB), or convert elsewhere with ct2-transformers-converter --copy_files "
            f"{' '.join(TOKENIZER_FILES[kind])} and `zhen model install` the folder"
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if out.parent.exists()
                                else None))
    try:
        converter = TransformersConverter(str(source), copy_files=list(TOKENIZER_FILES[kind]))
        converter.convert(str(tmp / "model"), quantization=quantization)
        os.replace(tmp / "model", out)
    except (OSError, ValueError, RuntimeError, NotImplementedError) as exc:
        raise ModelError(f"{source}: conversion failed ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load_model(out)
