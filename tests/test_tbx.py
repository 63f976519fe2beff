"""Glossary exchange: TBX (2019 and 2008 forms), DeepL/Google CSV and TSV, merging, hostile files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from zhen.document import Term, TermKind
from zhen.errors import GlossaryError
from zhen.formats.tbx import (
    KEEP_NOTE,
    MAX_FIELD,
    TBX_NS,
    import_terms,
    load_tbx,
    read_csv_glossary,
    read_tbx,
    write_csv_glossary,
    write_tbx,
)
from zhen.terminology.glossary import lint_glossary, load_glossary

DATA = Path(__file__).resolve().parent / "data"
REAL = Path(__file__).resolve().parent.parent / "glossary" / "terms.tsv"
NS = {"t": TBX_NS}


@pytest.fixture
def glossary(tmp_path: Path) -> Path:
    path = tmp_path / "terms.tsv"
    shutil.copy(REAL, path)
    return path


def test_reads_a_2008_martif_file_from_another_tool():
    terms, skipped = load_tbx(DATA / "other-tool.tbx")
    assert terms == [
        Term(
            "c1",
            "美日同盟",
            "US-Japan alliance",  # the preferred English term, not the first (deprecated) one
            ("日美同盟",),
            note="The security treaty relationship between the United States and Japan.",
        ),
        Term("c2", "稀土", "rare earths", note="Strategic minerals; plural in English."),
        Term("c3", "半導體", "semiconductor"),
        Term("apec", "APEC", "APEC", kind=TermKind.KEEP),
    ]
    assert len(skipped) == 1
    assert "other-tool.tbx:" in skipped[0] and "c4 has no Chinese term" in skipped[0]


@pytest.mark.parametrize("namespace", [TBX_NS, "urn:iso:std:iso:30042:ed:3.0"])
def test_reads_the_2019_form_with_either_namespace_and_language_codes(tmp_path, namespace):
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="{namespace}">
  <tbxHeader><fileDesc><sourceDesc><p>x</p></sourceDesc></fileDesc></tbxHeader>
  <text><body>
    <conceptEntry id="_4711">
      <langSec xml:lang="zh-Hant-TW"><termSec><term>新黃金時代</term></termSec></langSec>
      <langSec xml:lang="zh-Hans">
    <termSec><term>新黄金时代</term></termSec>
      </langSec>
      <langSec xml:lang="en-GB">
    <descrip type="definition">Slogan.</descrip>
    <termSec><term>New <hi type="italics">Golden</hi> Age</term></termSec>
      </langSec>
      <langSec xml:lang="fr"><termSec><term>nouvel âge d'or</term></termSec></langSec>
    </conceptEntry>
  </body></text>
</tbx>"""
    path = tmp_path / "2019.tbx"
    path.write_text(doc, encoding="utf-8")
    # A simplified section beats a traditional one for zh; an invalid id → slug of English.
    assert read_tbx(path) == [
        Term("new-golden-age", "新黄金时代", "New Golden Age", ("新黃金時代",), note="Slogan.")
    ]


def test_written_tbx_is_tbx_basic_2019(tmp_path):
    terms = load_glossary(REAL).terms + (Term("gdp", "GDP", "", kind=TermKind.KEEP),)
    path = tmp_path / "out.tbx"
    write_tbx(terms, path)
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{{{TBX_NS}}}tbx"
    assert (root.get("type"), root.get("style")) == ("TBX-Basic", "dca")
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert root.find("t:tbxHeader/t:fileDesc/t:sourceDesc/t:p", NS) is not None
    entries = root.findall("t:text/t:body/t:conceptEntry", NS)
    assert [e.get("id") for e in entries] == sorted(t.id for t in terms)
    alliance = root.find("t:text/t:body/t:conceptEntry[@id='us-japan-alliance']", NS)
    assert alliance.xpath(
        "t:langSec[@xml:lang='zh-CN']/t:termSec/t:term/text()", namespaces=NS
    ) == [
        "美日同盟",
        "日美同盟",
    ]
    gdp = root.find("t:text/t:body/t:conceptEntry[@id='gdp']", NS)
    assert gdp.xpath("t:note/text()", namespaces=NS) == [KEEP_NOTE]
    assert gdp.xpath("t:langSec[@xml:lang='en']/t:termSec/t:term/text()", namespaces=NS) == ["GDP"]


def test_export_then_import_gives_back_the_glossary(tmp_path):
    terms = sorted(load_glossary(REAL).terms, key=lambda t: t.id)
    path = tmp_path / "out.tbx"
    write_tbx(terms, path)
    assert read_tbx(path) == terms


def test_export_of_nothing_is_refused(tmp_path):
    with pytest.raises(GlossaryError, match="no entries"):
        write_tbx([], tmp_path / "x.tbx")


_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_LATIN = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
_PHRASE = st.lists(st.text(_LATIN, min_size=1, max_size=8), min_size=1, max_size=4).map(" ".join)


@st.composite
def glossaries(draw):
    ids = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    out = []
    for term_id in ids:
        forms = draw(
            st.lists(st.text(_CJK, min_size=1, max_size=6), min_size=1, max_size=3, unique=True)
        )
        kind = draw(st.sampled_from(TermKind))
        note = draw(st.one_of(st.just(""), _PHRASE))
        out.append(Term(term_id, forms[0], draw(_PHRASE), tuple(forms[1:]), kind, note))
    return sorted(out, key=lambda t: t.id)


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(terms=glossaries())
def test_tbx_round_trip_property(tmp_path, terms):
    path = tmp_path / "round.tbx"
    write_tbx(terms, path)
    assert read_tbx(path) == terms


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE martif [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<martif type="TBX"><text><body><termEntry><langSet xml:lang="zh"><tig><term>&lol3;</term></tig>
</langSet><langSet xml:lang="en"><tig><term>x</term></tig></langSet></termEntry></body></text></martif>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE martif [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<martif type="TBX"><text><body><termEntry><langSet xml:lang="zh"><tig><term>&xxe;</term></tig>
</langSet><langSet xml:lang="en"><tig><term>x</term></tig></langSet></termEntry></body></text></martif>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE martif [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<martif type="TBX"><text><body/></text></martif>
"""


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (BILLION_LAUGHS, "utf-8"),
        (XXE, "utf-8"),
        (PARAMETER_ENTITY, "utf-8"),
        (XXE.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'), "utf-16"),
    ],
    ids=["billion-laughs", "xxe", "parameter-entity", "xxe-utf16"],
)
def test_entity_declarations_are_refused(tmp_path, content, encoding):
    path = tmp_path / "evil.tbx"
    path.write_bytes(content.encode(encoding))
    with pytest.raises(
        GlossaryError, match="refusing a file whose DOCTYPE declares entities"
    ) as exc:
        read_tbx(path)
    assert "root:" not in str(exc.value)


def test_oversized_field_is_refused(tmp_path):
    path = tmp_path / "big.tbx"
    path.write_text(
        '<martif type="TBX"><text><body><termEntry><langSet xml:lang="zh"><tig><term>'
        + "长" * (MAX_FIELD + 1)
        + '</term></tig></langSet><langSet xml:lang="en"><tig><term>long</term></tig></langSet>'
        "</termEntry></body></text></martif>",
        encoding="utf-8",
    )
    with pytest.raises(GlossaryError, match=r"big.tbx:1: term is longer than 1000 characters"):
        read_tbx(path)


def test_broken_and_foreign_xml_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.tbx"
    broken.write_text("<martif>\n<text>\n<body>\n</martif>", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"broken.tbx:4: not well-formed XML"):
        read_tbx(broken)
    html = tmp_path / "page.tbx"
    html.write_text("<html><body/></html>", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"not a TBX file \(root element <html>\)"):
        read_tbx(html)
    with pytest.raises(GlossaryError, match="file not found"):
        read_tbx(tmp_path / "missing.tbx")


def test_external_dtd_is_neither_loaded_nor_refused(tmp_path):
    path = tmp_path / "dtd.tbx"
    path.write_text(
        '<!DOCTYPE martif SYSTEM "http://127.0.0.1:9/TBXcoreStructV02.dtd">\n'
        '<martif type="TBX"><text><body><termEntry><langSet xml:lang="zh"><tig><term>稀土</term>'
        '</tig></langSet><langSet xml:lang="en"><tig><term>rare earths</term></tig></langSet>'
        "</termEntry></body></text></martif>",
        encoding="utf-8",
    )
    assert read_tbx(path) == [Term("rare-earths", "稀土", "rare earths")]


# ---------------------------------------------------------------- CSV / TSV


def test_deepl_tsv_without_header(tmp_path):
    path = tmp_path / "deepl.tsv"
    path.write_text(
        "美日同盟\tUS-Japan alliance\n日美同盟\tUS-Japan alliance\n\nGDP\tGDP\n", encoding="utf-8"
    )
    assert read_csv_glossary(path) == [
        Term("us-japan-alliance", "美日同盟", "US-Japan alliance", ("日美同盟",)),
        Term("gdp", "GDP", "GDP", kind=TermKind.KEEP),
    ]


def test_csv_header_sets_the_direction_and_quotes_work(tmp_path):
    path = tmp_path / "google.csv"
    path.write_text(
        'en-US,zh-CN\n"Hegseth, Pete",赫格塞思\nrare earths,稀土\n', encoding="utf-8-sig"
    )
    assert read_csv_glossary(path) == [
        Term("hegseth-pete", "赫格塞思", "Hegseth, Pete"),
        Term("rare-earths", "稀土", "rare earths"),
    ]


def test_deepl_csv_with_language_columns(tmp_path):
    path = tmp_path / "deepl.csv"
    path.write_text("稀土,rare earths,zh,en\nTrump,特朗普,EN,ZH\n", encoding="utf-8")
    assert read_csv_glossary(path) == [
        Term("rare-earths", "稀土", "rare earths"),
        Term("trump", "特朗普", "Trump"),
    ]
    path.write_text("Haus,house,de,en\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"deepl.csv:1: language pair de→en"):
        read_csv_glossary(path)


def test_malformed_csv_rows_name_the_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("稀土\trare earths\n只有一列\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"bad.tsv:2: expected two columns"):
        read_csv_glossary(path)
    with pytest.raises(GlossaryError, match=r"expected a \.csv or \.tsv"):
        read_csv_glossary(tmp_path / "terms.txt")


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_csv_round_trip_keeps_forms_renderings_and_kinds(tmp_path, suffix):
    terms = sorted(load_glossary(REAL).terms, key=lambda t: t.id)
    path = tmp_path / f"out{suffix}"
    write_csv_glossary(terms, path)
    if suffix == ".tsv":
        assert "美日同盟\tUS-Japan alliance\n日美同盟\tUS-Japan alliance\n" in path.read_text(
            "utf-8"
        )
    back = read_csv_glossary(path)
    assert [(t.zh, t.en, t.variants, t.kind) for t in back] == [
        (t.zh, t.en, t.variants, t.kind) for t in terms
    ]


# ---------------------------------------------------------------- merging


def test_import_merges_new_entries_and_skips_known_ones(glossary):
    added, skipped = import_terms(glossary, read_tbx(DATA / "other-tool.tbx"))
    assert added == [
        Term("semiconductor", "半導體", "semiconductor"),
        Term("apec", "APEC", "APEC", kind=TermKind.KEEP),
    ]
    assert len(skipped) == 2
    assert "already in the glossary as us-japan-alliance" in skipped[0]
    assert "already in the glossary as rare-earths" in skipped[1]
    loaded = load_glossary(glossary)
    assert {"semiconductor", "apec"} <= {t.id for t in loaded.terms}
    assert [m for m in lint_glossary(glossary) if m.level == "error"] == []
    assert [t.id for t in loaded.terms] == sorted(t.id for t in loaded.terms)


def test_import_refuses_conflicts_and_writes_nothing(glossary):
    before = glossary.read_bytes()
    terms = [
        Term("x", "稀土", "rare-earth elements"),
        Term("y", "全新术语", "brand-new term"),
        Term("z", "印太", "Asia-Pacific"),
    ]
    with pytest.raises(
        GlossaryError,
        match=r"import refused, 2 conflicting entries: '稀土' is "
        r"'rare earths' in the glossary \(rare-earths\)",
    ):
        import_terms(glossary, terms)
    assert glossary.read_bytes() == before


def test_import_handles_duplicates_inside_the_import_and_id_clashes(glossary):
    terms = [
        Term("trump", "川普", "Trump"),  # id taken by another Chinese form: made unique
        Term("c7", "台积电", "TSMC"),
        Term("c8", "台積電", "TSMC"),  # the same form in traditional script
        Term("bad", "坏", ""),
    ]
    added, skipped = import_terms(glossary, terms)
    assert [t.id for t in added] == ["trump-2", "tsmc"]
    assert "already in the import as tsmc" in skipped[0]
    assert "empty English" in skipped[1]
