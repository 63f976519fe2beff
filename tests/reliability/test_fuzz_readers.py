"""A fuzzing pass over every reader of input zhen takes from elsewhere: documents (text,
Markdown, web pages, Word files), their metadata (manifest, sidecar JSON, front matter),
and the exchange formats (TBX, TMX, XLIFF).

Hypothesis starts from a valid file of each kind and damages it: truncated, a part
repeated (oversized, nested deeper), random bytes put inside it (inside the Word file's
zip members too), the text in another encoding spliced in.  Whatever comes out, reading it
ends in its blocks or terms, or in one ZhenError line naming the file: never another
exception, never more than a few seconds, never a large amount of memory.

Fast by default (HYPOTHESIS_PROFILE unset: 20 examples per reader, besides the worst
known case of each kind, which every profile tries); HYPOTHESIS_PROFILE=zhen-ci (400) or
zhen-dev (2000) for many more, or the suite's own profile when it loads one.
"""

from __future__ import annotations

import io
import itertools
import os
import resource
import struct
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from zhen.errors import ZhenError

DATA = Path(__file__).resolve().parents[1] / "data"
SECONDS = 15.0  # one example, read (on a loaded machine)
MEGABYTES = 600  # growth of the process's peak memory over a whole reader's pass

settings.register_profile("zhen-fast", max_examples=20, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("zhen-ci", max_examples=400, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("zhen-dev", max_examples=2000, deadline=None,
                          suppress_health_check=list(HealthCheck))
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "")
if _PROFILE.startswith("zhen-"):
    FUZZ = settings.get_profile(_PROFILE)
elif _PROFILE:  # the suite's own profile (loaded by conftest) decides how many examples
    FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck))
else:
    FUZZ = settings.get_profile("zhen-fast")

ARTICLE = ("日美同盟的新变化\n\n近年来，日美同盟的合作范围明显扩大。日本政府多次表示，将在“印太”框架下"
           "承担更多责任。\n\n一、合作范围扩大\n\n双方在导弹防御、网络安全和太空领域的协调日益密切。\n")


def _docx() -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "日美同盟"
    document.add_heading("日美同盟的新变化", 1)
    for line in ARTICLE.splitlines()[2:]:
        if line:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


SEEDS = {
    "txt": ARTICLE.encode("utf-8"),
    "md": ("---\ntitle: 日美同盟\ndate: 2025-03-04\nauthor: [张三, 李四]\n---\n\n# 日美同盟的新变化\n\n"
           "> 近年来，日美同盟的合作范围**明显**扩大。\n\n- 日本政府多次表示\n- [印太](http://x)\n\n"
           "| 一 | 二 |\n|---|---|\n| 双方 | 协调 |\n").encode(),
    "html": (DATA / "documents" / "news-page.html").read_bytes(),
    "json": '{"title": "日美同盟", "date": "2025-03-04", "author": ["张三", {"x": 1}]}'.encode(),
    "csv": "file,title,date,author\ndoc.txt,日美同盟,2025-03-04,张三\n".encode(),
    "tbx": (DATA / "other-tool.tbx").read_bytes(),
    "tmx": ('<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="zh" '
            'datatype="plaintext" segtype="sentence" adminlang="en" o-tmf="x" creationtool="t" '
            'creationtoolversion="1"/><body><tu><tuv xml:lang="zh"><seg>日美同盟</seg></tuv>'
            '<tuv xml:lang="en"><seg>the <bpt i="1">&lt;b&gt;</bpt>alliance<ept i="1">'
            '&lt;/b&gt;</ept></seg></tuv></tu></body></tmx>\n').encode(),
    "xlf": ('<?xml version="1.0" encoding="UTF-8"?>\n<xliff version="1.2" '
            'xmlns="urn:oasis:names:tc:xliff:document:1.2"><file original="doc.tei.xml" '
            'source-language="zh-CN" target-language="en" datatype="plaintext"><body>'
            '<group id="p1"><trans-unit id="p1.s1"><source>日美同盟</source><target '
            'state="translated">The alliance</target></trans-unit></group></body></file>'
            '</xliff>\n').encode(),
}


# -- damage -------------------------------------------------------------------------------

def _at(data: bytes, where: float) -> int:
    return int(where * len(data))


@st.composite
def damaged(draw, seed: bytes) -> bytes:
    """`seed` after a few random damages."""
    data = seed
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "insert", "repeat", "flip", "encoding",
                                     "nest"]))
        where = draw(st.floats(0, 1))
        if kind == "truncate":
            data = data[:_at(data, where)]
        elif kind == "insert":
            data = data[:_at(data, where)] + draw(st.binary(max_size=64)) + \
                data[_at(data, where):]
        elif kind == "repeat":  # oversized: a slice many times over
            start = _at(data, where)
            piece = data[start:start + draw(st.integers(1, 200))]
            data = data[:start] + piece * draw(st.integers(2, 2000)) + data[start:]
        elif kind == "flip" and data:
            i = min(_at(data, where), len(data) - 1)
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
        elif kind == "encoding":  # the Chinese text in another encoding, spliced in
            codec = draw(st.sampled_from(["gb18030", "big5", "utf-16", "utf-16-be",
                                          "shift_jis", "latin-1"]))
            text = ARTICLE.encode(codec, "replace")
            data = data[:_at(data, where)] + text + data[_at(data, where):]
        elif kind == "nest":  # the deepest nesting the format knows, many times over
            opening, closing = draw(st.sampled_from(
                [(b"<div>", b"</div>"), (b"<g>", b"</g>"), (b"[", b"]"), (b"{\"a\":", b"}"),
                 (b"> ", b""), (b"- ", b""), (b"a: &a [*a", b"]"), (b"*", b"*")]))
            n = draw(st.integers(10, 5000))
            i = _at(data, where)
            data = data[:i] + opening * n + data[i:i + 20] + closing * n + data[i + 20:]
    return data


@st.composite
def damaged_docx(draw) -> bytes:
    """A Word file damaged inside its zip members, or as a zip."""
    seed = _DOCX
    if draw(st.booleans()):
        return draw(damaged(seed))
    with zipfile.ZipFile(io.BytesIO(seed)) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    name = draw(st.sampled_from(sorted(members)))
    members[name] = draw(damaged(members[name]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    return out.getvalue()


_DOCX = _docx()
_names = itertools.count()


def _corrupt_deflate() -> bytes:
    """The Word file with garbage at the start of word/document.xml's compressed bytes: the
    package's directory is sound, inflating the member fails (zlib.error; found by the
    fuzzing below)."""
    with zipfile.ZipFile(io.BytesIO(_DOCX)) as z:
        offset = z.getinfo("word/document.xml").header_offset
    name_len, extra_len = struct.unpack("<HH", _DOCX[offset + 26:offset + 30])
    start = offset + 30 + name_len + extra_len
    return _DOCX[:start] + b"\xff" * 8 + _DOCX[start + 8:]


# -- readers ------------------------------------------------------------------------------

def _document(suffix: str):
    def read(path: Path):
        from zhen.readers import read_document

        return read_document(path)
    return read


def _sidecar(path: Path):
    from zhen.readers.metadata import external_fields

    target = path.with_name(path.name.removesuffix(".meta.json") + ".txt")
    target.write_text("近年来。", encoding="utf-8")
    return external_fields(target)


def _manifest(path: Path):
    from zhen.readers.metadata import external_fields

    return external_fields(path.parent / "doc.txt")


def _tbx(path: Path):
    from zhen.formats.tbx import load_tbx

    return load_tbx(path)


def _tmx(path: Path):
    from zhen.formats.tmx import read_tmx

    return read_tmx(path)


def _xlf(path: Path):
    from zhen.formats.xliff import read_xliff

    return read_xliff(path)


READERS = {  # kind: (file name, reader)
    "txt": ("doc.txt", _document(".txt")),
    "md": ("doc.md", _document(".md")),
    "html": ("doc.html", _document(".html")),
    "docx": ("doc.docx", _document(".docx")),
    "json": ("doc.meta.json", _sidecar),
    "csv": ("metadata.csv", _manifest),
    "tbx": ("terms.tbx", _tbx),
    "tmx": ("memory.tmx", _tmx),
    "xlf": ("doc.xlf", _xlf),
}


def ends_well(kind: str, data: bytes, root: Path) -> None:
    """Reading `data` as `kind` gives a result or one ZhenError line, in bounded time."""
    name, read = READERS[kind]
    folder = root / f"{kind}-{next(_names)}"
    folder.mkdir()
    path = folder / name
    path.write_bytes(data)
    if kind == "csv":
        (folder / "doc.txt").write_text("近年来。", encoding="utf-8")
    start = time.monotonic()
    try:
        read(path)
    except ZhenError as exc:
        message = str(exc)
        assert message and "\n" not in message, message
        assert "Traceback" not in message
    took = time.monotonic() - start
    assert took < SECONDS, f"{kind}: {took:.1f} s on {len(data)} bytes"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _laughs() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    return ("---\n" + "\n".join(lines) + "\n---\n\n近年来。\n").encode()


def _xml_laughs(seed: bytes) -> bytes:
    root = seed.split(b"<", 3)[2].split(b" ", 1)[0].split(b">", 1)[0]
    return (b'<?xml version="1.0"?><!DOCTYPE ' + root + b' [<!ENTITY a "lol">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + seed.split(b"?>", 1)[-1])


# The known worst case of each kind, tried by every profile (hypothesis's examples).
WORST = {
    "txt": [b"\xff\xfe" + "近年来".encode("utf-16-le") * 10_000 + b"\x00" * 7],
    "md": [_laughs(), b"[" * 50_000, b"> " * 100_000 + "近年来".encode()],
    "html": [b"<div>" * 100_000 + "<p>近年来。</p>".encode(), b"<" * 1_000_000],
    "json": [b"[" * 100_000 + b"]" * 100_000, b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}"],
    "csv": [b'file,title\ndoc.txt,"' + b"x" * 200_000 + b'"\n', b"," * 1_000_000],
    "tbx": [_xml_laughs(SEEDS["tbx"]), b"<martif>" + b"<g>" * 100_000],
    "tmx": [_xml_laughs(SEEDS["tmx"]), b"<tmx>" + b"<g>" * 100_000],
    "xlf": [_xml_laughs(SEEDS["xlf"]), b"<xliff>" + b"<g>" * 100_000],
}


def _with_worst(kind: str, test):
    for data in WORST.get(kind, ()):
        test = example(data=data)(test)
    return test


@pytest.mark.parametrize("kind", [k for k in READERS if k != "docx"])
def test_damaged_input_ends_in_a_result_or_one_line(kind, root):
    before = _peak_mb()

    @FUZZ
    @given(data=damaged(SEEDS[kind]))
    def check(data):
        ends_well(kind, data, root)

    _with_worst(kind, check)()
    assert _peak_mb() - before < MEGABYTES


def test_damaged_word_file_ends_in_a_result_or_one_line(root):
    before = _peak_mb()

    @FUZZ
    @given(data=damaged_docx())
    @example(data=_corrupt_deflate())
    def check(data):
        ends_well("docx", data, root)

    check()
    assert _peak_mb() - before < MEGABYTES


@pytest.mark.parametrize("kind", sorted(READERS))
def test_random_bytes_end_in_a_result_or_one_line(kind, root):
    @FUZZ
    @given(data=st.binary(max_size=4096))
    def check(data):
        ends_well(kind, data, root)

    check()


def test_damaged_documents_end_in_a_tei_or_one_line(tmp_path, tiny_model, zhen_env):
    """The same damage, through `zhen translate --keep-going` on one folder: each input
    ends in a valid TEI or in one error line naming it; the others go on."""
    import random

    from conftest import run_zhen
    from lxml import etree
    from zhen.tei.validate import check_invariants

    rng = random.Random(22)
    seeds = {"txt": SEEDS["txt"], "md": SEEDS["md"], "html": SEEDS["html"], "docx": _DOCX}
    folder = tmp_path / "in"
    folder.mkdir()
    inputs = {}
    for kind, seed in seeds.items():
        for n in range(3):
            data = seed
            i = rng.randrange(len(data))
            if n == 0:  # truncated
                data = data[:i]
            elif n == 1:  # random bytes inside
                data = data[:i] + rng.randbytes(rng.randrange(1, 64)) + data[i:]
            else:  # the worst known case of the kind, or a slice repeated
                worst = WORST.get(kind)
                data = worst[0] if worst else data[:i] + data[i:i + 50] * 500 + data[i:]
            path = folder / f"{kind}{n}.{kind}"
            path.write_bytes(data)
            inputs[path.name] = path
    start = time.monotonic()
    res = run_zhen(["translate", folder, "-o", tmp_path / "out", "--model", tiny_model,
                    "--beam-size", "1", "--keep-going"], zhen_env, timeout=300)
    assert time.monotonic() - start < 120
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.splitlines()
    errors = [line for line in lines if line.lower().startswith("zhen: error:")]
    assert all(any(str(p) in line for p in inputs.values()) for line in errors), errors
    for name, path in inputs.items():
        out = tmp_path / "out" / f"{path.stem}.tei.xml"
        mine = [line for line in errors if str(path) in line]
        if out.exists():
            assert mine == [], mine
            assert check_invariants(out, etree.parse(str(out))) == [], name
        else:
            assert len(mine) == 1, (name, res.stderr)
