"""zhen installs like any Python tool: the wheel built from this tree, installed into a
fresh virtual environment, translates and validates on its own, under the import name
`zhen` (no top-level `pipeline`), with every data file it needs.

The fresh environment gets zhen's dependencies from the test environment's site-packages
(a .pth line: the wheel's own files come first, and nothing else of this checkout), so no
download is needed; `pip install --no-deps` of the wheel is the install step under test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

ARTICLE = REPO / "tests" / "data" / "unseen-article.txt"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the files git tracks: setuptools writes build/ into the tree it builds.
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "-w", str(out), str(source)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    (found,) = out.glob("zhen-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                             "['purelib'])"], capture_output=True, text=True,
                            check=True).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(target, "test-dependencies.pth").write_text(deps + "\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                          "--no-deps", "--no-index", str(wheel)],
                         capture_output=True, text=True, timeout=600)
    if res.returncode and "no such option: --python" in res.stderr:  # pip < 22.3
        res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                              "--target", target, str(wheel)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return root


def run(venv: Path, *args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / args[0]), *map(str, args[1:])], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_the_zhen_package_and_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "zhen/__init__.py" in names and "zhen/__main__.py" in names
    assert not any(n.startswith("pipeline/") for n in names)
    for data in ("zhen/ui/review/static/index.html", "zhen/ui/review/static/review.js",
                 "zhen/ui/review/static/review.css"):
        assert data in names
    assert any(n.startswith("zhen/engines/") for n in names)
    assert any(n.startswith("zhen/readers/") for n in names)


def test_installed_wheel_translates_and_validates(venv, tmp_path, zhen_env, tei_validator):
    env = dict(zhen_env)
    env.pop("PYTHONPATH", None)
    work = tmp_path / "elsewhere"  # not the checkout: nothing of it on the path
    work.mkdir()
    version = run(venv, "zhen", "--version", cwd=work, env=env)
    assert version.returncode == 0, version.stderr
    module = run(venv, "python", "-m", "zhen", "--version", cwd=work, env=env)
    assert module.stdout == version.stdout and "zhen" in version.stdout
    imported = run(venv, "python", "-c", "import zhen, sys; print(zhen.__version__, "
                   "zhen.__file__)", cwd=work, env=env)
    assert imported.returncode == 0, imported.stderr
    assert str(venv) in imported.stdout  # the wheel's copy, not the checkout
    assert imported.stdout.split()[0] in version.stdout
    no_pipeline = run(venv, "python", "-c", "import pipeline", cwd=work, env=env)
    assert no_pipeline.returncode != 0 and "No module named 'pipeline'" in no_pipeline.stderr

    model = work / "m.argosmodel"
    synth = run(venv, "zhen", "model", "synth", model, cwd=work, env=env)
    assert synth.returncode == 0, synth.stderr
    res = run(venv, "zhen", "translate", ARTICLE, "-o", work / "out", "--model", model,
              "--glossary", REPO / "glossary" / "terms.tsv", "--no-memory", cwd=work, env=env)
    assert res.returncode == 0, res.stderr
    out = work / "out" / "unseen-article.tei.xml"
    tei_validator(out)
    checked = run(venv, "zhen", "validate", out, cwd=work, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert version.stdout.split()[-1] in out.read_text(encoding="utf-8")  # version in header
