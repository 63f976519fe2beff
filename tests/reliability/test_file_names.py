"""File names with spaces, Unicode or a leading dash; inputs given as symlinks or pipes; an
output folder inside the input folder; two inputs that would share an output file."""

from __future__ import annotations

import hashlib
import os
import threading

from zhen.tei.read import read_tei

from reliability.conftest import comparable, summary, write_corpus


def one_error(res) -> str:
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    (line,) = [ln for ln in res.stderr.splitlines() if ln.lower().startswith("zhen: error")]
    return line


def test_spaces_unicode_and_leading_dashes(zhen, tmp_path, tei_validator):
    folder = tmp_path / "in"
    names = ["-x.txt", "--help.txt", "with space.txt", "中文 名字·（草稿）.txt", "ü ñ é.txt"]
    for source, name in zip(write_corpus(folder, len(names)), names):
        source.rename(folder / name)
    res = zhen.run("translate", "-o", tmp_path / "out", "--model", zhen.model, "--", *names,
                   cwd=folder)
    assert res.returncode == 0, res.stderr
    assert summary(res.stderr)["files"] == len(names)
    outputs = [tmp_path / "out" / name.replace(".txt", ".tei.xml") for name in names]
    for name, tei in zip(names, outputs):
        assert read_tei(tei).source.filename == name
    tei_validator(*outputs)


def test_symlinked_inputs_and_output_folder(zhen, tmp_path, tei_validator):
    real = write_corpus(tmp_path / "elsewhere", 1)[0]
    links = tmp_path / "in"
    links.mkdir()
    (links / "article.txt").symlink_to(real)
    (links / "gone.txt").symlink_to(tmp_path / "deleted.txt")
    (tmp_path / "real-out").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real-out")

    res = zhen.translate(links / "article.txt", out=tmp_path / "out")
    assert res.returncode == 0, res.stderr
    tei = tmp_path / "real-out" / "article.tei.xml"  # named after the link, as given
    doc = read_tei(tei)
    assert doc.source.filename == "article.txt"
    assert doc.source.sha256 == hashlib.sha256(real.read_bytes()).hexdigest()
    assert (tmp_path / "out").is_symlink()  # written through it, not replaced
    tei_validator(tei)

    res = zhen.translate(links / "gone.txt", out=tmp_path / "out")
    assert one_error(res) == f"zhen: error: {links / 'gone.txt'}: no such file; check the path"


def test_output_folder_inside_the_input_folder(zhen, tmp_path, tei_validator):
    folder = tmp_path / "in"
    inputs = write_corpus(folder, 3)
    out = folder / "out"
    res = zhen.translate(*inputs, out=out)
    assert res.returncode == 0, res.stderr
    first = {p.name: p.read_bytes() for p in out.iterdir()}

    # A glob over the input folder now also names the output folder: refused, the rest done.
    everything = sorted(folder.iterdir())
    res = zhen.translate(*everything, out=out, extra=["--keep-going"])
    assert one_error(res).startswith(f"zhen: ERROR: {out}: is a folder with no input file "
                                     "in it; give .docx, .htm, .html")
    assert summary(res.stderr)["files"] == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(first)  # nothing else in there
    tei_validator(*out.iterdir())


def test_two_inputs_for_one_output_are_refused_and_one_file_twice_is_read_once(
    zhen, tmp_path
):
    first = write_corpus(tmp_path / "a", 1)[0]
    second = write_corpus(tmp_path / "b", 1, seed=1)[0]  # also doc000.txt, other content
    out = tmp_path / "out"
    res = zhen.translate(first, second, out=out)
    assert one_error(res) == (
        f"zhen: error: {first} and {second} would both be written to {out / 'doc000.tei.xml'}; "
        "rename one or translate them into different folders")
    assert not out.exists()  # refused before any work

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / first.name).symlink_to(first)  # the same file by another path
    res = zhen.translate(first, first, tmp_path / "c" / first.name, out=out)
    assert res.returncode == 0, res.stderr
    assert summary(res.stderr)["files"] == 1


def test_a_named_pipe_is_read_once(zhen, tmp_path, tei_validator):
    """Input from a pipe (as with `zhen translate <(iconv …)`) cannot be read twice: it is
    read whole, like before streaming, and gives the same TEI as the file itself."""
    source = write_corpus(tmp_path / "in", 1)[0]
    fifo = tmp_path / "pipe" / source.name
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    proc = zhen.start(*zhen.translate_args(fifo, out=tmp_path / "from-pipe"))
    data = source.read_bytes()
    writer = threading.Thread(target=fifo.write_bytes, args=(data,), daemon=True)
    writer.start()  # blocks until zhen opens the pipe
    _, stderr = proc.communicate(timeout=120)
    if writer.is_alive():  # zhen never opened it: release the writer
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(timeout=10)
    assert proc.returncode == 0, stderr
    res = zhen.translate(source, out=tmp_path / "from-file")
    assert res.returncode == 0, res.stderr
    piped = tmp_path / "from-pipe" / "doc000.tei.xml"
    assert comparable(piped.read_bytes()) == comparable(
        (tmp_path / "from-file" / "doc000.tei.xml").read_bytes())
    tei_validator(piped)
