"""The bilingual HTML view: pure rendering, and the page as a real headless browser sees it."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM
from lxml import html as lhtml
from zhen.document import (
    Document,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
    Term,
    TermKind,
    TermMatch,
    TermStatus,
)
from zhen.settings import DecodingOptions
from zhen.tei.body import tei_bytes
from zhen.tei.names import SYNTHETIC_WARNING
from zhen.ui.view import (
    BANNER_COLOUR,
    STATUS_COLOURS,
    mark_spans,
    render_html,
    status_counts,
    write_view,
)

EVIL_ZH = '注意<script>alert("x")</script>&amp;与 A&B 公司。'
EVIL_EN = 'Note <script>alert("x")</script>&amp; and A&B Co.'


def occ(zh: str, en: str | None, term_id: str, zh_form: str, en_form: str | None,
        status: TermStatus, nth: int = 0) -> TermMatch:
    """A TermMatch located by searching for the forms (their nth occurrences)."""
    start = nth_index(zh, zh_form, nth)
    en_start = nth_index(en, en_form, nth) if en is not None and en_form else None
    return TermMatch(term_id, start, start + len(zh_form), en_start,
                     None if en_start is None else en_start + len(en_form), status)


def nth_index(text: str, part: str, nth: int) -> int:
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return start


def sentence(sid: str, zh: str, en: str | None, *terms: tuple) -> Sentence:
    return Sentence(sid, zh, en, [occ(zh, en, *t) for t in terms])


def make_document(synthetic: bool = True) -> Document:
    """Four paragraphs, every term status, a repeated term, a KEEP term, markup in text."""
    terms = {
        "indo-pacific": Term("indo-pacific", "印太", "Indo-Pacific",
                             note='region <b>"Indian & Pacific"</b>'),
        "supply-chain": Term("supply-chain", "供应链", "supply chain"),
        "cptpp": Term("cptpp", "CPTPP", "", kind=TermKind.KEEP),
        "bri": Term("bri", "一带一路", "Belt and Road Initiative", note="official name"),
    }
    M, E, X, D = TermStatus.MODEL, TermStatus.ENFORCED, TermStatus.MISSED, TermStatus.EDITED
    z1 = "各方讨论了印太地区的供应链合作。"
    e1 = "The parties discussed supply chain cooperation in the Indo-Pacific region."
    z2, e2 = "中国已申请加入CPTPP。", "China has applied to join the CPTPP."
    z3, e3 = "各国应加强供应链韧性。", "All countries should make their supply lines more resilient."
    z4 = "一带一路倡议与印太战略，印太国家关注。"
    e4 = ("The Belt and Road Initiative and the Indo-Pacific strategy draw attention from "
          "Indo-Pacific states.")
    z5, e5 = "标题行", "Heading"
    paragraphs = [
        Paragraph("p1", [
            sentence("p1.s1", z1, e1, ("indo-pacific", "印太", "Indo-Pacific", E),
                     ("supply-chain", "供应链", "supply chain", M)),
            sentence("p1.s2", z2, e2, ("cptpp", "CPTPP", "CPTPP", M)),
        ]),
        Paragraph("p2", [sentence("p2.s1", z3, e3, ("supply-chain", "供应链", None, X))]),
        Paragraph("p3", [
            sentence("p3.s1", z4, e4, ("bri", "一带一路", "Belt and Road Initiative", D),
                     ("indo-pacific", "印太", "Indo-Pacific", M),
                     ("indo-pacific", "印太", "Indo-Pacific", E, 1)),
            sentence("p3.s2", EVIL_ZH, EVIL_EN),
        ]),
        Paragraph("p4", [sentence("p4.s1", z5, e5)]),
    ]
    return Document(
        id="view-sample",
        title="印太<经济>框架 & 合作",
        source=SourceInfo("view-sample.txt", "ab" * 32, "utf-8"),
        paragraphs=paragraphs,
        provenance=Provenance("translate-zh_en", "1.9", synthetic, "4.8.5",
                              "glossary/terms.tsv", "cd" * 32, "0.1.0", "2026-11-26", 2,
                              settings=DecodingOptions(beam_size=4,
                                                       compute_type="int8").to_record()),
        terms=terms,
    )


def expected_marks(doc: Document) -> list[tuple[list, list]]:
    """Per sentence: ([(zh text, status)], [(en text, status)]) expected, in reading order."""
    out = []
    for s in doc.sentences():
        zh = [(s.zh[o.start:o.end], o.status.value) for o in sorted(s.terms, key=lambda o: o.start)]
        en = [(s.en[o.en_start:o.en_end], o.status.value)
              for o in sorted(s.terms, key=lambda o: o.en_start or 0) if o.en_start is not None]
        out.append((zh, en))
    return out


def marks_of(cell) -> list[tuple[str, str]]:
    return [(m.text_content(), m.get("data-status")) for m in cell.xpath(".//mark")]


def rows(tree) -> list:
    return tree.xpath("//table[@class='aligned']//tr[@class='pair']")


# -- render_html, pure --------------------------------------------------------------------


def test_markup_and_ampersands_in_text_are_escaped():
    doc = make_document()
    page = render_html(doc)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;" in page
    assert "A&amp;B" in page and "A&B" not in page
    assert "&lt;b&gt;&quot;Indian &amp; Pacific&quot;&lt;/b&gt;" in page  # the note, in @title
    tree = lhtml.fromstring(page)
    assert len(tree.xpath("//script")) == 1  # only the page's own
    assert not tree.xpath("//td//b")
    evil = tree.xpath("//tr[@id='p3.s2']")[0]
    assert evil.xpath("td[@lang='zh']")[0].text_content() == EVIL_ZH
    assert evil.xpath("td[@lang='en']")[0].text_content() == EVIL_EN
    assert tree.xpath("//title")[0].text_content().startswith("印太<经济>框架 & 合作")


def test_every_sentence_pair_is_a_row_with_both_languages_in_order():
    doc = make_document()
    tree = lhtml.fromstring(render_html(doc))
    found = rows(tree)
    assert [r.get("id") for r in found] == [s.id for s in doc.sentences()]
    for r, s in zip(found, doc.sentences()):
        zh, en = r.xpath("td[@lang='zh']"), r.xpath("td[@lang='en']")
        assert len(zh) == len(en) == 1
        assert zh[0].text_content() == s.zh and en[0].text_content() == s.en
        assert r.xpath("td[@class='sid']")[0].text_content() == s.id
    bodies = tree.xpath("//table[@class='aligned']/tbody[@class='para']")
    assert [b.get("id") for b in bodies] == [p.id for p in doc.paragraphs]
    assert [len(b.xpath("tr")) for b in bodies] == [len(p.sentences) for p in doc.paragraphs]


def test_terms_are_marked_with_their_status_class_on_both_sides():
    doc = make_document()
    tree = lhtml.fromstring(render_html(doc))
    for r, (zh, en) in zip(rows(tree), expected_marks(doc)):
        assert marks_of(r.xpath("td[@lang='zh']")[0]) == zh
        assert marks_of(r.xpath("td[@lang='en']")[0]) == en
    for m in tree.xpath("//mark"):
        assert f"st-{m.get('data-status')}" in m.get("class").split()
    missed = tree.xpath("//mark[@data-status='missed']")
    assert [m.text_content() for m in missed] == ["供应链"]
    assert missed[0].xpath("ancestor::td/@lang") == ["zh"]


def test_partners_share_a_pair_key_and_the_hover_text_has_rendering_and_note():
    tree = lhtml.fromstring(render_html(make_document()))
    for r in rows(tree):
        zh = {m.get("data-pair"): m for m in r.xpath("td[@lang='zh']//mark")}
        en = {m.get("data-pair"): m for m in r.xpath("td[@lang='en']//mark")}
        assert set(en) <= set(zh)
        for key, m in en.items():
            assert m.get("data-term") == zh[key].get("data-term")
            assert m.get("title") == zh[key].get("title")
    bri = tree.xpath("//td[@lang='zh']//mark[@data-term='bri']")[0].get("title")
    assert "approved rendering: Belt and Road Initiative" in bri and "note: official name" in bri
    ip = tree.xpath("//mark[@data-term='indo-pacific']")[0].get("title")
    assert 'note: region <b>"Indian & Pacific"</b>' in ip
    keep = tree.xpath("//mark[@data-term='cptpp']")[0].get("title")
    assert "approved rendering: CPTPP" in keep


def test_summary_counts_terms_by_status_and_legend_covers_every_status():
    doc = make_document()
    assert status_counts(doc) == {"model": 3, "enforced": 2, "missed": 1, "edited": 1}
    tree = lhtml.fromstring(render_html(doc))
    got = {tr.get("data-status"): int(tr.xpath("td[@class='n']")[0].text)
           for tr in tree.xpath("//table[@class='summary']/tbody/tr")}
    assert got == status_counts(doc)
    legend = tree.xpath("//ul[@class='legend']/li/span/@class")
    assert legend == ["st-model", "st-enforced", "st-missed", "st-edited"]
    glossary = {tr.get("data-term"): [int(td.text) for td in tr.xpath("td[@class='n']")]
                for tr in tree.xpath("//table[@class='glossary']/tbody/tr")}
    assert glossary == {"bri": [0, 0, 0, 1], "cptpp": [1, 0, 0, 0],
                        "indo-pacific": [1, 2, 0, 0], "supply-chain": [1, 0, 1, 0]}


def test_header_shows_provenance_and_the_banner_only_for_synthetic_models():
    doc = make_document(synthetic=True)
    page = render_html(doc)
    for needle in ("view-sample.txt", "ab" * 32, "translate-zh_en 1.9", "4.8.5", "beam size 4",
                   "glossary/terms.tsv", "cd" * 32, "zhen 0.1.0", "2026-11-26",
                   "2 of 6 sentences"):
        assert needle in page
    banner = lhtml.fromstring(page).xpath("//div[@class='banner']")
    assert len(banner) == 1 and banner[0].text_content() == SYNTHETIC_WARNING
    real = lhtml.fromstring(render_html(make_document(synthetic=False)))
    assert not real.xpath("//div[@class='banner']")
    assert "SYNTHETIC" not in real.text_content()


def test_page_is_self_contained_html5_with_language_tags():
    page = render_html(make_document())
    assert page.startswith("<!DOCTYPE html>")
    tree = lhtml.fromstring(page)
    assert tree.xpath("//meta/@charset") == ["utf-8"]
    assert not tree.xpath("//link | //img | //iframe | //*[@src]")
    assert not [h for h in tree.xpath("//@href") if not h.startswith("#")]
    assert "url(" not in page and "@import" not in page
    assert "@media print" in page
    assert set(tree.xpath("//td[contains(@class,'zh')]/@lang")) == {"zh"}
    assert set(tree.xpath("//td[contains(@class,'en')]/@lang")) == {"en"}


def test_untranslated_sentence_and_unknown_status_are_shown():
    doc = make_document()
    s = doc.paragraphs[3].sentences[0]
    s.en = None
    s.terms = [TermMatch("unknown-term", 0, 2)]
    tree = lhtml.fromstring(render_html(doc))
    row = tree.xpath("//tr[@id='p4.s1']")[0]
    assert row.xpath("td[@lang='en']//*[@class='untranslated']")
    mark = row.xpath("td[@lang='zh']//mark")[0]
    assert mark.get("data-status") == "none" and "unknown-term" in mark.get("title")
    assert status_counts(doc)["none"] == 1


def test_overlapping_or_bad_spans_never_lose_text():
    text = "a<b>&c"
    out = mark_spans(text, [(0, 3, "<mark>"), (1, 2, "<mark>"), (5, 9, "<mark>"),
                            (4, 4, "<mark>")])
    assert out == "<mark>a&lt;b</mark>&gt;&amp;c"
    assert lhtml.fragment_fromstring(out, create_parent="p").text_content() == text


def test_write_view_reads_the_tei_back(tmp_path):
    doc = make_document()
    tei = tmp_path / "view-sample.tei.xml"
    tei.write_bytes(tei_bytes(doc))
    out = write_view(tei, tmp_path / "out" / "page.html")
    assert out == tmp_path / "out" / "page.html"
    tree = lhtml.fromstring(out.read_bytes().decode("utf-8"))
    assert len(rows(tree)) == len(doc.sentences())
    for r, (zh, en) in zip(rows(tree), expected_marks(doc)):
        assert marks_of(r.xpath("td[@lang='zh']")[0]) == zh
        assert marks_of(r.xpath("td[@lang='en']")[0]) == en
    assert tree.xpath("//div[@class='banner']")
    assert write_view(tei, tmp_path) == tmp_path / "view-sample.html"


# -- a real headless browser --------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install -y chromium) — browser test skipped")


def chromium(tmp_path: Path, *args: str) -> tuple[bytes, str]:
    """Run headless Chromium once with a throwaway profile: (stdout, stderr); 30 s at most.

    It runs in its own process group, so a hung run is killed with all its helpers.
    """
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("Chromium did not finish within 30 s")
    log = err.decode("utf-8", "replace")
    assert proc.returncode == 0, log
    return out, log


@pytest.fixture
def page(tmp_path) -> tuple[Document, Path]:
    doc = make_document()
    tei = tmp_path / "view-sample.tei.xml"
    tei.write_bytes(tei_bytes(doc))
    return doc, write_view(tei, tmp_path / "view-sample.html")


@needs_chromium
def test_browser_dom_has_every_pair_and_highlight_and_no_script_error(tmp_path, page):
    doc, html_path = page
    out, log = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom",
                        html_path.as_uri())
    assert [line for line in log.splitlines() if "Uncaught" in line] == []
    dom = lhtml.fromstring(out.decode("utf-8"))
    for qa_list in dom.xpath("//ul[@class='qa']"):  # QA findings under the English
        qa_list.drop_tree()
    n_zh = sum(len(s.terms) for s in doc.sentences())
    n_en = sum(o.en_start is not None for s in doc.sentences() for o in s.terms)
    assert (n_zh, n_en) == (7, 6)
    assert dom.xpath("//body/@data-ready") == [str(n_zh + n_en)]  # the script ran to its end
    found = rows(dom)
    assert len(found) == len(doc.sentences())
    assert len(dom.xpath("//tr[@class='pair']/td[@lang='zh']//mark")) == n_zh
    assert len(dom.xpath("//tr[@class='pair']/td[@lang='en']//mark")) == n_en
    for r, s, (zh, en) in zip(found, doc.sentences(), expected_marks(doc)):
        assert r.xpath("td[@lang='zh']")[0].text_content() == s.zh
        assert r.xpath("td[@lang='en']")[0].text_content() == s.en
        assert marks_of(r.xpath("td[@lang='zh']")[0]) == zh
        assert marks_of(r.xpath("td[@lang='en']")[0]) == en
    assert len(dom.xpath("//script")) == 1


def read_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit non-interlaced RGB/RGBA PNG into an (h, w, 3) array (zlib + numpy)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    w, h, depth, colour, _, _, interlace = ihdr
    assert depth == 8 and colour in (2, 6) and interlace == 0, ihdr
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, w * bpp + 1)
    out = np.empty((h, w * bpp), np.uint8)
    prior = np.zeros(w * bpp, np.uint8)
    for y in range(h):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: running sum along each channel
            cur = np.cumsum(line.reshape(w, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up
            cur = line + prior
        else:  # Average or Paeth: sequential, byte by byte
            cur_b, up = bytearray(line.tobytes()), prior.tolist()
            for i in range(len(cur_b)):
                a = cur_b[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur_b[i] = (cur_b[i] + ((a + b) >> 1)) & 255
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur_b[i] = (cur_b[i] + pred) & 255
            cur = np.frombuffer(bytes(cur_b), np.uint8)
        out[y] = cur
        prior = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def packed(img: np.ndarray) -> np.ndarray:
    """Each pixel as one 0xRRGGBB integer."""
    rgb = img.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def pixels_of(colours: np.ndarray, hex_colour: str) -> int:
    return int((colours == int(hex_colour[1:], 16)).sum())


@needs_chromium
def test_browser_screenshot_is_not_blank_and_shows_banner_and_status_colours(tmp_path, page):
    _, html_path = page
    png = tmp_path / "shot.png"
    chromium(tmp_path, "--hide-scrollbars", f"--screenshot={png}", "--window-size=1280,2000",
             html_path.as_uri())
    img = read_png(png.read_bytes())
    assert img.shape == (2000, 1280, 3)
    colours = packed(img)
    assert (colours != 0xFFFFFF).sum() > 0.02 * colours.size
    assert len(np.unique(colours)) > 50  # anti-aliased text, not a flat fill
    assert pixels_of(colours, BANNER_COLOUR) > 20_000  # the synthetic-model banner
    for status in ("model", "enforced", "missed", "edited"):
        assert pixels_of(colours, STATUS_COLOURS[status][0]) > 200, status
