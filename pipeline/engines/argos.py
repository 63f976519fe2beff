"""Argos Translate packages: the default model kind.

A package is a folder with metadata.json, a CTranslate2 model in model/ and one
sentencepiece.model shared by source and target; an `.argosmodel` is its zip.  zhen reads
the metadata itself (as argostranslate's `Package` does), so nothing of argostranslate is
needed to translate; only `zhen model install NAME`, which looks the name up in the
argospm index, uses it.  A `.argosmodel` given directly is unpacked once into zhen's cache,
keyed by its sha256.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from zhen.digests import file_sha256
from zhen.engines.base import Conventions, ModelInfo, fingerprint, model_files
from zhen.env import value
from zhen.errors import ModelError
from zhen.paths import cache_dir

DEFAULT_PACKAGE_NAME = "translate-zh_en"
REINSTALL = f"install it again (e.g. `zhen model install {DEFAULT_PACKAGE_NAME}`)"


def argos_packages_dir() -> Path:
    """Where Argos Translate keeps installed packages (ARGOS_PACKAGES_DIR or the XDG
    default), shared with argostranslate itself."""
    env = value("ARGOS_PACKAGES_DIR")
    if env:
        return Path(env)
    data_home = value("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "argos-translate" / "packages"


class ArgosKind:
    name = "argos"
    label = "Argos Translate package"

    def recognise(self, path: Path) -> bool:
        return (path / "metadata.json").is_file()

    def load(self, path: Path, label: str | os.PathLike | None = None) -> ModelInfo:
        """Load and check an unpacked package folder; ModelError saying what is wrong.

        Messages name `label` (the .argosmodel being unpacked) if given, else `path`."""
        path = Path(path)
        where = label or path
        meta_path = path / "metadata.json"
        if not meta_path.is_file():
            raise ModelError(
                f"{where}: not an Argos package (no metadata.json); give an .argosmodel "
                "file, an unpacked package folder or an installed package name"
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{where}: unreadable package metadata (metadata.json: {exc}); {REINSTALL}"
            ) from None
        if not isinstance(meta, dict):
            raise ModelError(f"{where}: package metadata is not a JSON object; {REINSTALL}")
        from_code, to_code = meta.get("from_code"), meta.get("to_code")
        if (from_code, to_code) != ("zh", "en"):
            raise ModelError(
                f"{where}: package translates {from_code}→{to_code}, zhen needs zh→en; "
                f"install one with `zhen model install {DEFAULT_PACKAGE_NAME}`"
            )
        model_dir = path / "model"
        if not (model_dir / "model.bin").is_file():
            raise ModelError(
                f"{where}: package has no CTranslate2 model (model/model.bin missing); "
                f"{REINSTALL}"
            )
        spm = path / "sentencepiece.model"
        if not spm.is_file():
            raise ModelError(
                f"{where}: package has no sentencepiece.model; zhen supports SentencePiece "
                f"packages (all current zh→en Argos packages are): {REINSTALL}"
            )
        version = meta.get("package_version") or meta.get("version") or "unknown"
        prefix = str(meta.get("target_prefix") or "")
        try:
            mark = fingerprint(model_files(model_dir, spm))
        except OSError as exc:
            raise ModelError(f"{where}: cannot read the package ({exc}); {REINSTALL}") \
                from None
        return ModelInfo(
            kind=self.name,
            path=path,
            name=str(meta.get("code") or meta.get("package_name")
                     or f"translate-{from_code}_{to_code}"),
            version=str(version),
            synthetic=bool(meta.get("synthetic", False)),
            model_dir=model_dir,
            conventions=Conventions(spm, spm, target_prefix=(prefix,) if prefix else ()),
            fingerprint=mark,
        )


KIND = ArgosKind()


def _safe_extract(archive: zipfile.ZipFile, dest: Path) -> Path:
    """Extract a package zip into dest, refusing absolute or '..' member names."""
    tops = set()
    for info in archive.infolist():
        name = Path(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise ModelError(
                f"unsafe path {info.filename!r} in the archive (it would be written outside "
                "the package folder); refusing it: this is not a genuine Argos package"
            )
        if name.parts:
            tops.add(name.parts[0])
    if len(tops) != 1:
        raise ModelError("an .argosmodel must hold exactly one top-level folder; this is not "
                         "an Argos package")
    archive.extractall(dest)
    return dest / tops.pop()


def _unpack(archive_path: Path, dest_parent: Path) -> Path:
    """Unpack an .argosmodel into dest_parent atomically; return the package directory."""
    if not zipfile.is_zipfile(archive_path):
        raise ModelError(
            f"{archive_path}: not an .argosmodel (not a zip archive, or a truncated "
            f"download); {REINSTALL}"
        )
    try:
        dest_parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest_parent))
    except OSError as exc:
        raise ModelError(f"{dest_parent}: cannot unpack the package here ({exc.strerror}); "
                         "set ZHEN_CACHE_DIR to a writable folder") from None
    try:
        with zipfile.ZipFile(archive_path) as archive:
            try:
                inner = _safe_extract(archive, tmp)
            except ModelError as exc:
                raise ModelError(f"{archive_path}: {exc}") from None
        KIND.load(inner, label=archive_path)  # refuse a broken package before it is installed
        final = dest_parent / inner.name
        try:
            os.rename(inner, final)
        except OSError:
            if not (final / "metadata.json").is_file():  # not a concurrent twin: a real failure
                raise
        return final
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelError(f"{archive_path}: corrupt .argosmodel ({exc}); {REINSTALL}") from None
    except OSError as exc:
        raise ModelError(f"{archive_path}: cannot unpack into {dest_parent} ({exc.strerror}); "
                         "free some space or set ZHEN_CACHE_DIR to another folder") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unpack_cached(path: Path) -> Path:
    """The folder of an .argosmodel file, unpacked once into zhen's cache."""
    unpack_root = cache_dir() / "packages" / file_sha256(path)[:20]
    existing = [d for d in unpack_root.glob("*") if (d / "metadata.json").is_file()]
    return existing[0] if existing else _unpack(path, unpack_root)


def install_package(spec: str) -> ModelInfo:
    """Install an .argosmodel file (offline) or a package from the argospm index (online)."""
    path = Path(spec)
    if path.is_file():
        return KIND.load(_unpack(path, argos_packages_dir()))
    if path.suffix == ".argosmodel":
        raise ModelError(f"{spec}: no such file")
    return KIND.load(_unpack(_download_from_index(spec), argos_packages_dir()))


def _download_from_index(name: str) -> Path:
    """Download a package named in the argospm index; the only network access in zhen."""
    import socket
    import urllib.error
    import urllib.request

    try:
        from argostranslate import package as argos_package
        from argostranslate import settings as argos_settings
    except ImportError:
        raise ModelError(
            f"{name}: installing by name looks it up in the argospm index, which needs "
            "argostranslate: `pip install --no-deps argostranslate` (or download the "
            ".argosmodel file and run `zhen model install FILE.argosmodel`)"
        ) from None

    socket.setdefaulttimeout(60)  # argostranslate's own urlopen has no timeout
    try:
        # Fetched here, not with argos_package.update_package_index(): offline, that one
        # logs the error and get_available_packages() then recurses until RecursionError.
        with urllib.request.urlopen(argos_settings.remote_package_index, timeout=60) as resp:
            data = resp.read()
        Path(argos_settings.local_package_index).write_bytes(data)
        available = argos_package.get_available_packages()
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise ModelError(
            f"cannot reach the argospm package index ({exc}): download the "
            ".argosmodel file elsewhere and run `zhen model install FILE.argosmodel`"
        ) from None
    for candidate in available:
        code = f"translate-{candidate.from_code}_{candidate.to_code}"
        if name in (code, getattr(candidate, "code", None)):
            try:
                return Path(candidate.download())
            except Exception as exc:
                raise ModelError(f"download of {name} failed ({exc})") from None
    raise ModelError(f"{name}: not in the argospm index (try {DEFAULT_PACKAGE_NAME})")
