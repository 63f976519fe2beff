"""Argos Translate packages: find, install, list and load zh→en packages.

argostranslate reads a package's metadata and tokenizer; installing is done here because
`argostranslate.package.install_from_path` imports `argostranslate.translate` (stanza, torch).
A `.argosmodel` given directly is unpacked once into zhen's cache, keyed by its sha256.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .digests import file_sha256
from .errors import ModelError
from .paths import cache_dir

DEFAULT_PACKAGE_NAME = "translate-zh_en"


@dataclass(frozen=True)
class ArgosPackage:
    """An unpacked zh→en Argos package on disk."""

    path: Path
    name: str
    version: str
    from_code: str
    to_code: str
    synthetic: bool
    target_prefix: str

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def sentencepiece_model(self) -> Path:
        return self.path / "sentencepiece.model"

    @property
    def package_id(self) -> str:
        """What identifies the model's behaviour (translation-memory key part)."""
        return f"{self.name}@{self.version}"


def argos_packages_dir() -> Path:
    """Where argostranslate keeps installed packages (ARGOS_PACKAGES_DIR or the XDG default)."""
    env = os.environ.get("ARGOS_PACKAGES_DIR")
    if env:
        return Path(env)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "argos-translate" / "packages"


REINSTALL = f"install it again (e.g. `zhen model install {DEFAULT_PACKAGE_NAME}`)"


def load_package(path: Path, label: str | os.PathLike | None = None) -> ArgosPackage:
    """Load and check an unpacked package directory; raise ModelError saying what is wrong.

    Messages name `label` (the .argosmodel being unpacked) if given, else `path`.
    """
    path = Path(path)
    where = label or path
    meta_path = path / "metadata.json"
    if not meta_path.is_file():
        raise ModelError(
            f"{where}: not an Argos package (no metadata.json); give an .argosmodel file, "
            "an unpacked package folder or an installed package name"
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
    if not (path / "model" / "model.bin").is_file():
        raise ModelError(
            f"{where}: package has no CTranslate2 model (model/model.bin missing); {REINSTALL}"
        )
    if not (path / "sentencepiece.model").is_file():
        raise ModelError(
            f"{where}: package has no sentencepiece.model; zhen supports SentencePiece "
            f"packages (all current zh→en Argos packages are): {REINSTALL}"
        )
    # argostranslate parses the metadata the way Argos itself does (and checks it loads).
    from argostranslate.package import Package

    try:
        pkg = Package(path)
    except Exception as exc:  # argostranslate raises bare Exceptions
        raise ModelError(
            f"{where}: argostranslate cannot read this package ({exc}); {REINSTALL}"
        ) from None
    return ArgosPackage(
        path=path,
        name=str(meta.get("code") or meta.get("package_name") or f"translate-{from_code}_{to_code}"),
        version=str(pkg.package_version or meta.get("package_version") or "unknown"),
        from_code=from_code,
        to_code=to_code,
        synthetic=bool(meta.get("synthetic", False)),
        target_prefix=str(getattr(pkg, "target_prefix", "") or ""),
    )


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
        load_package(inner, label=archive_path)  # refuse a broken package before it is installed
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


def installed_packages() -> list[ArgosPackage]:
    """All zh→en packages in argostranslate's package folder (others are skipped)."""
    root = argos_packages_dir()
    found = []
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if (child / "metadata.json").is_file():
                try:
                    found.append(load_package(child))
                except ModelError:
                    continue
    return found


def resolve_package(spec: str | os.PathLike | None) -> ArgosPackage:
    """Find the package meant by --model: an .argosmodel file, a package folder, or a name.

    With no spec, ZHEN_MODEL is used, else the one installed zh→en package.
    """
    spec = spec or os.environ.get("ZHEN_MODEL") or None
    if spec is None:
        pkgs = installed_packages()
        if not pkgs:
            raise ModelError(
                "no zh→en model installed: run `zhen model install translate-zh_en` "
                "(needs the network once) or `zhen model install FILE.argosmodel`, "
                "or pass --model / set ZHEN_MODEL"
            )
        return pkgs[0]
    path = Path(spec)
    if path.is_dir():
        return load_package(path)
    if path.is_file():
        unpack_root = cache_dir() / "packages" / file_sha256(path)[:20]
        existing = [d for d in unpack_root.glob("*") if (d / "metadata.json").is_file()]
        if existing:
            return load_package(existing[0])
        return load_package(_unpack(path, unpack_root))
    for pkg in installed_packages():
        if str(spec) in (pkg.name, pkg.path.name):
            return pkg
    if path.suffix == ".argosmodel" or os.sep in str(spec):
        raise ModelError(f"--model {spec}: no such file")
    raise ModelError(
        f"--model {spec}: no installed package of that name; see `zhen model list`, "
        f"or install it with `zhen model install {spec}`"
    )


def install_package(spec: str) -> ArgosPackage:
    """Install an .argosmodel file (offline) or a package from the argospm index (online)."""
    path = Path(spec)
    if path.is_file():
        return load_package(_unpack(path, argos_packages_dir()))
    if path.suffix == ".argosmodel":
        raise ModelError(f"{spec}: no such file")
    return load_package(_unpack(_download_from_index(spec), argos_packages_dir()))


def _download_from_index(name: str) -> Path:
    """Download a package named in the argospm index; the only network access in zhen."""
    import socket
    import urllib.error
    import urllib.request

    from argostranslate import package as argos_package
    from argostranslate import settings as argos_settings

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
