"""A very large input file is streamed: peak memory does not grow with its size, and the
progress bar moves while it is translated.

Measured by hand at 20 MB (19.9 MB of UTF-8, 216,720 sentences, every one taken from the
translation memory so that only reading, segmenting, term matching and writing are timed):
peak RSS 103 MB and 9 s, against 103 MB for a 240 KB file.  Before streaming (whole
document gathered, then one lxml tree and one bytes string) the same 20 MB file took
1.6 GB and 18 s, with byte-identical output.

The test uses 0.4 MB and 4 MB (10×) with the same sentences, all from the memory too
(decoding 37,000 sentences with even the tiny model would take minutes): the zhen process's
peak RSS is read with getrusage(RUSAGE_CHILDREN) in a wrapper process per run.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import textwrap
import threading

from lxml import etree
from zhen.tei.names import TEI_NS

from reliability.conftest import source_sentences, summary

MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    status = subprocess.run(sys.argv[1:]).returncode
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
    sys.exit(status)
""")


def peak_rss(zhen, args, stderr=None) -> tuple[int, subprocess.CompletedProcess]:
    """Run zhen with args; return (its peak RSS in bytes, the wrapper's completed process)."""
    res = subprocess.run([sys.executable, "-c", MEASURE, *zhen.command(*args)], env=zhen.env,
                         cwd=zhen.root, stdout=subprocess.PIPE,
                         stderr=stderr if stderr is not None else subprocess.PIPE, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    return int(res.stdout.split()[-1]) * 1024, res


def counts(tei) -> tuple[int, int, int]:
    """Chinese s, English s and link elements of a (large) TEI file, parsed incrementally."""
    found = {"zh": 0, "en": 0, "link": 0}
    for _, el in etree.iterparse(str(tei), tag=(f"{{{TEI_NS}}}s", f"{{{TEI_NS}}}link")):
        if el.tag.endswith("link"):
            found["link"] += 1
        else:
            found["zh" if el.get("{http://www.w3.org/XML/1998/namespace}id")[:2] == "zh"
                  else "en"] += 1
        el.clear()
    return found["zh"], found["en"], found["link"]


def test_memory_stays_bounded_and_progress_is_shown(zhen, tmp_path, tei_validator):
    sentences = source_sentences()
    unit = "\n".join("".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)) + "\n"
    files = {}
    for name, size in (("small", 400_000), ("large", 4_000_000)):
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text(unit * (size // len(unit.encode())), encoding="utf-8")
    warm = tmp_path / "unit.txt"
    warm.write_text(unit, encoding="utf-8")
    out = tmp_path / "out"
    assert zhen.translate(warm, out=out).returncode == 0  # every sentence now in the memory

    small_rss, small = peak_rss(zhen, zhen.translate_args(files["small"], out=out))
    master, slave = pty.openpty()  # a terminal, so the progress bar is drawn …
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # … 100 wide
    shown: list[bytes] = []
    reader = threading.Thread(target=lambda: _drain(master, shown), daemon=True)
    reader.start()
    try:
        large_rss, large = peak_rss(zhen, zhen.translate_args(files["large"], out=out),
                                    stderr=slave)
    finally:
        os.close(slave)
        reader.join(timeout=30)
        os.close(master)

    extra_input = files["large"].stat().st_size - files["small"].stat().st_size
    # Holding the document would cost several times its size (before: ~75 bytes per byte).
    assert large_rss - small_rss < extra_input / 2, (small_rss, large_rss)

    terminal = b"".join(shown).decode("utf-8", "replace")
    numbers = summary(terminal)
    assert numbers["decoded"] == 0
    done = [int(m) for m in re.findall(r"translating:.*?(\d+)/\d+", terminal)]
    assert len(done) >= 3 and done == sorted(done) and done[-1] <= numbers["sentences"]

    assert counts(out / "large.tei.xml") == (numbers["sentences"],) * 3
    tei_validator(out / "small.tei.xml")
    assert summary(small.stderr)["sentences"] * 10 <= numbers["sentences"]


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO once the last writer has closed the terminal
            return
        if not data:
            return
        into.append(data)
