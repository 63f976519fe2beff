"""Glossaries from untrusted sources: a TBX file gets no entity expansion, no external
entity or DTD and no network access, and oversized fields are refused; a term made of XML
special characters and quotes comes out escaped (and intact once parsed) in every format:
TEI, TMX, VRT and the HTML view."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import textwrap
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import unescape

import pytest
from lxml import etree
from zhen.batch.runner import BatchTranslator
from zhen.errors import GlossaryError
from zhen.exports.parallel import export_tmx
from zhen.exports.vrt import export_vrt
from zhen.formats.tbx import MAX_FIELD, read_tbx
from zhen.settings import DecodingOptions
from zhen.tei.names import TEI_NS
from zhen.tei.read import read_tei
from zhen.ui.view import write_view

BODY = """<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">
<text><body><conceptEntry id="c1">
  <langSec xml:lang="zh"><termSec><term>印太</term></termSec></langSec>
  <langSec xml:lang="en"><termSec><term>Indo-Pacific{inject}</term></termSec></langSec>
</conceptEntry></body></text></tbx>"""
REFUSED = "refusing a file whose DOCTYPE declares entities"


def tbx(tmp_path: Path, doctype: str = "", inject: str = "") -> Path:
    path = tmp_path / "terms.tbx"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
                    + BODY.format(inject=inject), encoding="utf-8")
    return path


@pytest.fixture
def web():
    """A local HTTP server recording every request made to it."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY leak "LEAKED">')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_entity_expansion_is_refused_at_once(tmp_path):
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    path = tbx(tmp_path, f"<!DOCTYPE tbx [{laughs}]>", "&l9;")
    start = time.monotonic()
    with pytest.raises(GlossaryError, match=REFUSED):
        read_tbx(path)
    assert time.monotonic() - start < 2  # nothing was expanded


def test_external_file_entity_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    path = tbx(tmp_path, f'<!DOCTYPE tbx [<!ENTITY e SYSTEM "{secret.as_uri()}">]>', "&e;")
    with pytest.raises(GlossaryError, match=REFUSED) as info:
        read_tbx(path)
    assert "TOP SECRET" not in str(info.value)


@pytest.mark.parametrize("kind", ["external DTD", "parameter entity", "entity in DTD"])
def test_no_network_access(tmp_path, web, kind):
    url, requests = web
    doctype, inject = {
        "external DTD": (f'<!DOCTYPE tbx SYSTEM "{url}/tbx.dtd">', ""),
        "parameter entity": (f'<!DOCTYPE tbx [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>', ""),
        "entity in DTD": (f'<!DOCTYPE tbx SYSTEM "{url}/leak.dtd">', "&leak;"),
    }[kind]
    path = tbx(tmp_path, doctype, inject)
    try:
        terms = read_tbx(path)
    except GlossaryError:
        pass
    else:
        assert [(t.zh, t.en) for t in terms] == [("印太", "Indo-Pacific")]
    time.sleep(0.2)
    assert requests == []


def test_oversized_tbx_field_and_file_are_refused(tmp_path):
    path = tbx(tmp_path, inject="x" * MAX_FIELD)
    with pytest.raises(GlossaryError, match=f"longer than {MAX_FIELD} characters"):
        read_tbx(path)
    huge = tmp_path / "huge.tbx"
    with open(huge, "wb") as fh:  # sparse: no time or disk spent
        fh.truncate(65 * 1024 * 1024)
    with pytest.raises(GlossaryError, match="more than the .* a glossary may have"):
        read_tbx(huge)


HEADER = "id\tzh\ten\tkind\tvariants\tnote\n"


def test_oversized_glossary_field_is_refused_quickly(tmp_path):
    path = tmp_path / "terms.tsv"
    path.write_text(HEADER + f"long\t{'中' * (MAX_FIELD + 1)}\tlong\tterm\t\t\n",
                    encoding="utf-8")
    code = textwrap.dedent(f"""
        from zhen.errors import GlossaryError
        from zhen.terminology.glossary import load_glossary
        try:
            load_glossary({str(path)!r})
        except GlossaryError as exc:
            print("refused:", exc)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=20)
    assert res.stdout.startswith("refused:") and "longer than" in res.stdout


# -- special characters in every output format ------------------------------------------------

KEEP = 'R&D<"x">'  # kind keep: rendered as itself
RENDERING = "R&D <\"new\"> 'model'"
NOTE = "note with <&> \"quotes\" 'too'"
SPECIALS = (KEEP, RENDERING)


@pytest.fixture(scope="module")
def special_tei(tmp_path_factory, package_dir):
    folder = tmp_path_factory.mktemp("specials")
    glossary = folder / "terms.tsv"
    glossary.write_text(HEADER + f"new-rd\t新型“研发”\t{RENDERING}\tterm\t\t{NOTE}\n"
                        + f"rnd\t{KEEP}\t\tkeep\t\t\n", encoding="utf-8")
    source = folder / "specials.txt"
    source.write_text(f"研发投入\n我们加大{KEEP}投入，推动新型“研发”模式。\n", encoding="utf-8")
    batch = BatchTranslator(glossary, str(package_dir),
                            DecodingOptions(beam_size=1, num_hypotheses=1, threads=1))
    (result,) = batch.run([source], folder / "out", show_progress=False).files
    assert result.error is None
    return result.output


def test_tei_escapes_them_and_reads_them_back_intact(special_tei, tei_validator):
    raw = special_tei.read_text(encoding="utf-8")
    for text in SPECIALS:
        assert text not in raw
    assert 'R&amp;D&lt;"x"&gt;' in raw
    tree = etree.parse(str(special_tei))
    terms = {"".join(t.itertext()) for t in tree.iter(f"{{{TEI_NS}}}term")}
    assert {KEEP, RENDERING} <= terms  # both sides and the header's taxonomy
    doc = read_tei(special_tei)
    english = doc.sentences()[1]
    assert all(o.en_start is not None for o in english.terms)  # enforced into the English
    assert doc.terms["new-rd"].note == NOTE
    tei_validator(special_tei)


def test_tmx_escapes_them(special_tei, tmp_path):
    (tmx,) = export_tmx([special_tei], tmp_path / "out.tmx")
    raw = tmx.read_text(encoding="utf-8")
    for text in SPECIALS:
        assert text not in raw
    segs = [seg.text for seg in etree.parse(str(tmx)).iter("seg")]
    assert any(KEEP in s and "新型“研发”" in s for s in segs)  # Chinese
    assert any(KEEP in s and RENDERING in s for s in segs)  # English


def test_vrt_escapes_them(special_tei, tmp_path):
    files = export_vrt([special_tei], tmp_path / "vrt", "specials")
    for vrt in (f for f in files if f.suffix == ".vrt"):
        raw = vrt.read_text(encoding="utf-8")
        for text in SPECIALS:
            assert text not in raw
        etree.fromstring(f"<vrt>{raw}</vrt>".encode())  # markup and tokens: well-formed XML
        tokens = [line for line in raw.splitlines() if line and not line.startswith("<")]
        for line in tokens:  # no markup character left unescaped in a token line
            assert not re.search(r"[<>]|&(?!(amp|lt|gt|quot);)", line), line
        by_term: dict[str, str] = {}
        for line in tokens:  # a term's tokens, unescaped and joined, give the term back
            columns = [unescape(col, {"&quot;": '"'}) for col in line.split("\t")]
            by_term[columns[-2]] = by_term.get(columns[-2], "") + columns[0]
        assert by_term["rnd"] == KEEP
        if vrt.name.endswith(".en.vrt"):
            assert by_term["new-rd"] == RENDERING.replace(" ", "")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.titles: list[str] = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self.titles += [v for k, v in attrs if k == "title" and v]


def test_html_view_escapes_them(special_tei, tmp_path):
    page = write_view(special_tei, tmp_path / "view.html")
    raw = page.read_text(encoding="utf-8")
    for text in SPECIALS:
        assert text not in raw
    parsed = _Collect()
    parsed.feed(raw)
    text = "".join(parsed.text)
    assert KEEP in text and RENDERING in text
    assert any(RENDERING in title and NOTE in title for title in parsed.titles)
