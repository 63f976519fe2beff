"""The model kinds, and finding, loading and installing models of any of them.

A kind is one module of zhen.engines with a `KIND` (a `ModelKind`), listed in
`model_kinds`; `resolve_model` finds the model meant by --model.
"""


from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from zhen.engines.base import ModelInfo, ModelKind
from zhen.env import value
from zhen.errors import ModelError


def model_kinds() -> dict[str, ModelKind]:
    """The kinds, in the order folders are tried."""
    from zhen.engines import argos, llm, nllb, opus_mt

    return {k.name: k for k in (argos.KIND, opus_mt.KIND, nllb.KIND, llm.KIND)}


def kind_label(kind: str) -> str:
    """What a kind is called, for people ("Argos Translate package"); "model" if unknown."""
    kinds = model_kinds()
    return kinds[kind].label if kind in kinds else "model"


def models_dir() -> Path:
    """Where `zhen model install` puts models that are not Argos packages
    (ZHEN_MODELS_DIR, else zhen's user data folder)."""
    env = value("ZHEN_MODELS_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("zhen")) / "models"


def load_model(path: str | os.PathLike, label: str | os.PathLike | None = None) -> ModelInfo:
    """The model in a folder, of whichever kind recognises it."""
    path = Path(path)
    for kind in model_kinds().values():
        if kind.recognise(path):
            return kind.load(path, label)
    kinds = ", ".join(k.label for k in model_kinds().values())
    raise ModelError(
        f"{label or path}: not a model zhen knows ({kinds}); give an .argosmodel file, an "
        "Argos package folder, or a CTranslate2 conversion of OPUS-MT, NLLB-200 or M2M-100"
    )


def installed_models() -> list[ModelInfo]:
    """Every loadable zh→en model installed: Argos packages, then zhen's models folder."""
    from zhen.engines.argos import argos_packages_dir

    found = []
    for root in (argos_packages_dir(), models_dir()):
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                try:
                    found.append(load_model(child))
                except ModelError:
                    continue
    return found


def resolve_model(spec: str | os.PathLike | None) -> ModelInfo:
    """The model meant by --model: a folder, an .argosmodel file, or an installed name.

    With no spec, ZHEN_MODEL is used, else the installed zh→en model (the Argos package
    first)."""
    from zhen.engines.argos import unpack_cached

    spec = spec or value("ZHEN_MODEL")
    if spec is None:
        models = installed_models()
        if not models:
            raise ModelError(
                "no zh→en model installed: run `zhen model install translate-zh_en` "
                "(needs the network once) or `zhen model install FILE.argosmodel|FOLDER`, "
                "or pass --model / set ZHEN_MODEL"
            )
        return models[0]
    for kind in model_kinds().values():  # a model that is no folder: a server's URL or name
        resolve = getattr(kind, "resolve", None)
        found = resolve(str(spec)) if resolve else None
        if found is not None:
            return found
    path = Path(spec)
    if path.is_dir():
        return load_model(path)
    if path.is_file():
        return load_model(unpack_cached(path), label=path)
    for info in installed_models():
        if str(spec) in (info.name, info.path.name):
            return info
    if path.suffix == ".argosmodel":
        raise ModelError(f"--model {spec}: no such file")
    if os.sep in str(spec):
        raise ModelError(f"--model {spec}: no such file or folder")
    raise ModelError(
        f"--model {spec}: no installed model of that name; see `zhen model list`, "
        f"or install it with `zhen model install {spec}`"
    )


def install_model(spec: str) -> ModelInfo:
    """Install an .argosmodel file (offline), a package from the argospm index (online),
    or a model folder of any kind (copied into `models_dir`, atomically)."""
    from zhen.engines.argos import install_package

    path = Path(spec)
    if not path.is_dir():
        return install_package(spec)
    info = load_model(path)
    if info.kind == "argos":
        from zhen.engines.argos import argos_packages_dir

        root = argos_packages_dir()
    else:
        root = models_dir()
    target = root / path.resolve().name
    if target.exists():
        raise ModelError(f"{target}: already installed; remove it first to replace it")
    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".install-", dir=root))
        shutil.copytree(path, tmp / "m")
        os.rename(tmp / "m", target)
    except OSError as exc:
        raise ModelError(f"{root}: cannot install the model here ({exc.strerror or exc}); "
                         "set ZHEN_MODELS_DIR (or ARGOS_PACKAGES_DIR) to a writable folder") \
            from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return load_model(target)


def load_engine(info: ModelInfo, options):
    """The CTranslate2 engine for a model (imports CTranslate2, loads the weights)."""
    from zhen.engines.engine import CTranslate2Engine

    return CTranslate2Engine(info, options)
