"""TEI building and reading back, without a model."""

from __future__ import annotations

from lxml import etree
from zhen.digests import chinese_digest
from zhen.document import (
    Document,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
    Term,
    TermMatch,
    TermStatus,
)
from zhen.settings import DecodingOptions
from zhen.tei.body import tei_bytes
from zhen.tei.names import TEI_NS, XML_ID
from zhen.tei.read import parse_tei, read_tei, read_tei_header

NS = {"t": TEI_NS}


def sample_document() -> Document:
    terms = {
        "indo-pacific": Term("indo-pacific", "印太", "Indo-Pacific", note="region"),
        "us-japan-alliance": Term("us-japan-alliance", "美日同盟", "US-Japan alliance",
                                  variants=("日美同盟",)),
    }
    s1 = Sentence("p1.s1", "日美同盟与印太。", en="The US-Japan alliance and the Indo-Pacific.",
                  terms=[TermMatch("us-japan-alliance", 0, 4, 4, 21, TermStatus.ENFORCED),
                         TermMatch("indo-pacific", 5, 7, 30, 42, TermStatus.MODEL)])
    s2 = Sentence("p1.s2", "“印太”<&>很重要！", en="Noise & <things>.",
                  terms=[TermMatch("indo-pacific", 1, 3, None, None, TermStatus.MISSED)])
    s3 = Sentence("p2.s1", "标题行", en="Heading")
    return Document(
        id="sample",
        title="标题行",
        source=SourceInfo("sample.txt", "ab" * 32, "gb18030", dropped_chars=2),
        paragraphs=[Paragraph("p1", [s1, s2]), Paragraph("p2", [s3])],
        provenance=Provenance("translate-zh_en", "1.9", True, "4.8.5", "terms.tsv", "cd" * 32,
                              "0.1.0", "2026-11-26", 1, model_kind="argos", device="cpu",
                              settings=DecodingOptions(compute_type="int8").to_record()),
        terms=terms,
    )


def test_chinese_side_is_lossless_and_terms_marked():
    root = etree.fromstring(tei_bytes(sample_document()))
    zh = root.xpath("//t:div[@xml:lang='zh']//t:s", namespaces=NS)
    assert ["".join(s.itertext()) for s in zh] == ["日美同盟与印太。", "“印太”<&>很重要！", "标题行"]
    p1 = root.xpath("//t:div[@xml:lang='zh']/t:p", namespaces=NS)[0]
    assert "".join(p1.itertext()) == "日美同盟与印太。“印太”<&>很重要！"
    terms = root.xpath("//t:div[@xml:lang='zh']//t:term", namespaces=NS)
    assert [t.text for t in terms] == ["日美同盟", "印太", "印太"]
    assert terms[2].get("ana") == "#status.missed"


def test_english_terms_point_to_chinese_terms_and_categories():
    root = etree.fromstring(tei_bytes(sample_document()))
    ids = {el.get(XML_ID) for el in root.iter() if el.get(XML_ID)}
    en_terms = root.xpath("//t:div[@xml:lang='en']//t:term", namespaces=NS)
    assert [t.text for t in en_terms] == ["US-Japan alliance", "Indo-Pacific"]
    for t in en_terms:
        assert t.get("corresp")[1:] in ids and t.get("ref")[1:] in ids and t.get("ana")[1:] in ids


def test_one_english_partner_and_one_link_per_sentence():
    root = etree.fromstring(tei_bytes(sample_document()))
    zh_ids = root.xpath("//t:div[@xml:lang='zh']//t:s/@xml:id", namespaces=NS)
    corresp = root.xpath("//t:div[@xml:lang='en']//t:s/@corresp", namespaces=NS)
    links = root.xpath("//t:linkGrp[@type='translation']/t:link/@target", namespaces=NS)
    assert [c[1:] for c in corresp] == zh_ids
    assert links == [f"#{z} #en{z[2:]}" for z in zh_ids]


def test_header_has_provenance_and_synthetic_warning():
    xml = tei_bytes(sample_document()).decode()
    for needle in ("sha256", "ab" * 32, "cd" * 32, "4.8.5", "beam size 2", "SYNTHETIC",
                   "1 of 3 sentences", "2 characters that XML 1.0 forbids"):
        assert needle in xml


def test_read_back_gives_the_same_document_and_the_same_tei(tmp_path):
    doc = sample_document()
    first = tei_bytes(doc)
    path = tmp_path / "sample.tei.xml"
    path.write_bytes(first)
    back = read_tei(path)
    assert [s.zh for s in back.sentences()] == [s.zh for s in doc.sentences()]
    assert [s.en for s in back.sentences()] == [s.en for s in doc.sentences()]
    assert [s.terms for s in back.sentences()] == [s.terms for s in doc.sentences()]
    assert back.terms == doc.terms
    assert back.provenance == doc.provenance
    assert tei_bytes(back) == first


def test_edited_english_is_read_back():
    root = etree.fromstring(tei_bytes(sample_document()))
    en_s = root.xpath("//t:s[@xml:id='en.p2.s1']", namespaces=NS)[0]
    en_s.text = "A corrected heading"
    doc = parse_tei(root, "sample.tei.xml")
    assert doc.sentences()[2].en == "A corrected heading"


def test_header_alone_reads_back_like_the_whole_file(tmp_path):
    doc = sample_document()
    path = tmp_path / "sample.tei.xml"
    path.write_bytes(tei_bytes(doc))
    header = read_tei_header(path)
    whole = read_tei(path)
    assert header.source.text_sha256 == chinese_digest([p.zh for p in doc.paragraphs])
    assert (header.source, header.provenance, header.terms, header.title) == (
        whole.source, whole.provenance, whole.terms, whole.title)
    assert header.provenance == doc.provenance
    assert header.paragraphs == []


def test_header_counts_are_data_and_older_files_still_read():
    """The counts are in the provenance record (xenoData); a file from zhen 0.2.0, which
    gave them only in its notes' prose, reads back the same."""
    import json

    from zhen.document import Origin
    from zhen.signature import RunSignature

    doc = sample_document()
    doc.provenance.signature = str(RunSignature.of(doc.provenance))
    doc.paragraphs[0].sentences[0].origin = Origin.HUMAN
    doc.paragraphs[0].sentences[0].translator = "Li"
    root = etree.fromstring(tei_bytes(doc))
    xeno = root.find(f".//{{{TEI_NS}}}xenoData")
    record = json.loads(xeno.text)
    assert record["counts"] == {"sentences": 3, "human": 1, "from_memory": 1,
                                "dropped_characters": 2}
    assert record["signature"] == doc.provenance.signature
    back = parse_tei(root, "sample.tei.xml")
    assert back.provenance.signature == doc.provenance.signature
    assert (back.provenance.sentences_human, back.provenance.sentences_from_memory,
            back.source.dropped_chars) == (1, 1, 2)
    del record["counts"]
    xeno.text = json.dumps(record)
    older = parse_tei(root, "sample.tei.xml")
    assert (older.provenance.sentences_human, older.provenance.sentences_from_memory,
            older.source.dropped_chars) == (1, 1, 2)
