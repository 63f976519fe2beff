"""Synthetic random-weight Argos packages (tiny size only: the base size is too slow here)."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from zhen.engines.synth import (
    DEFAULT_GLOSSARY,
    SPECIALS,
    SYNTH_SIZES,
    build_synthetic_package,
)
from zhen.errors import ModelError, OutputError

NAME = "translate-zh_en-synthetic-tiny"
SENTENCES = [
    "日本政府近日通过新版国家安全战略，提出大幅提高防卫预算。",
    "美日两国防长举行会谈，同意进一步强化美日同盟的威慑力。",
    "印太战略",
    "中方坚决反对任何形式的单边制裁，敦促美方停止在台湾问题上玩火，停止售台武器。",
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return build_synthetic_package(tmp_path_factory.mktemp("synth") / "tiny.argosmodel")


@pytest.fixture(scope="module")
def package_dir(archive: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(archive.parent)
    return archive.parent / NAME


@pytest.fixture(scope="module")
def sp(package_dir: Path):
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=str(package_dir / "sentencepiece.model"))


@pytest.fixture(scope="module")
def translator(package_dir: Path):
    import ctranslate2

    return ctranslate2.Translator(str(package_dir / "model"), compute_type="int8", intra_threads=1)


def test_archive_holds_one_package_folder(archive: Path):
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    assert {n.split("/")[0] for n in names} == {NAME}
    for member in (
        "metadata.json",
        "README.md",
        "sentencepiece.model",
        "model/model.bin",
        "model/config.json",
        "model/shared_vocabulary.json",
    ):
        assert f"{NAME}/{member}" in names


def test_metadata_and_readme_say_synthetic(package_dir: Path):
    meta = json.loads((package_dir / "metadata.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True
    assert (meta["from_code"], meta["to_code"], meta["type"]) == ("zh", "en", "translate")
    assert (meta["size"], meta["seed"], meta["code"]) == ("tiny", 0, NAME)
    assert meta["package_version"] and meta["argos_version"]
    assert meta["dimensions"]["vocab"] == SYNTH_SIZES["tiny"].vocab
    readme = (package_dir / "README.md").read_text(encoding="utf-8")
    assert "RANDOM WEIGHTS" in readme and "NOISE" in readme


def test_argostranslate_loads_the_package(package_dir: Path, tmp_path: Path, monkeypatch):
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "ARGOS_PACKAGES_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var))  # argostranslate makes its dirs on import
    from argostranslate.package import Package
    from argostranslate.tokenizer import SentencePieceTokenizer

    pkg = Package(package_dir)
    assert (pkg.from_code, pkg.to_code) == ("zh", "en")
    assert pkg.package_version.startswith("0.1.0.")  # seed and content in the version
    assert isinstance(pkg.tokenizer, SentencePieceTokenizer)
    assert pkg.target_prefix == ""
    assert pkg.tokenizer.decode(pkg.tokenizer.encode("Indo-Pacific")) == "Indo-Pacific"


def test_vocabulary_is_shared_and_matches_sentencepiece(package_dir: Path, sp):
    vocab = json.loads((package_dir / "model" / "shared_vocabulary.json").read_text("utf-8"))
    assert vocab == [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert len(vocab) == SYNTH_SIZES["tiny"].vocab == len(set(vocab))
    assert tuple(vocab[:4]) == SPECIALS
    config = json.loads((package_dir / "model" / "config.json").read_text("utf-8"))
    assert (config["unk_token"], config["bos_token"], config["eos_token"]) == (
        "<unk>",
        "<s>",
        "</s>",
    )
    assert config["decoder_start_token"] == "<s>" and not config["add_source_eos"]


def test_every_normal_piece_decodes_to_text(sp):
    x = sp.piece_to_id("x")
    for i in range(len(SPECIALS), sp.get_piece_size()):
        if not sp.is_byte(i):
            assert len(sp.decode([x, i])) > 1, sp.id_to_piece(i)  # "▁" alone decodes to ""


def test_translates_with_nbest_and_attention(translator, sp):
    # One sentence per call: CTranslate2 4.8.5 returns a wrong first attention row for
    # batches decoded with beam_size > 1 (it belongs to another batch item).
    for sentence in SENTENCES:
        src = sp.encode(sentence, out_type=str)
        assert 0 not in sp.encode(sentence)  # no <unk>
        (res,) = translator.translate_batch(
            [src], beam_size=2, num_hypotheses=2, return_attention=True, max_decoding_length=200
        )
        assert len(res.hypotheses) == 2 and len(res.attention) == 2
        for hyp, att in zip(res.hypotheses, res.attention):
            assert 0 < len(hyp) < 200  # non-empty, and ended by </s> before the cap
            assert len(att) == len(hyp) and all(len(row) == len(src) for row in att)
            assert all(abs(sum(row) - 1) < 1e-3 for row in att)
            assert all(sp.piece_to_id(p) >= len(SPECIALS) for p in hyp)  # real pieces
            text = sp.decode(hyp)
            assert text and text.isascii() and "\ufffd" not in text


def test_output_length_follows_source_length(translator, sp):
    source = [sp.encode(s, out_type=str) for s in SENTENCES]
    results = translator.translate_batch(source, beam_size=2, max_decoding_length=500)
    lengths = [len(r.hypotheses[0]) for r in results]
    for src, n in zip(source, lengths):
        assert 0.5 * len(src) <= n <= 2 * len(src) + 6, (len(src), n)
    by_source = sorted(zip(map(len, source), lengths))
    assert by_source[-1][1] > by_source[0][1]


@pytest.mark.parametrize("text", ["Indo-Pacific", "US-Japan alliance", "Sanae Takaichi"])
def test_renderings_round_trip_in_few_pieces(sp, text):
    pieces = sp.encode(text, out_type=str)
    assert sp.decode_pieces(pieces) == text
    assert len(pieces) <= 2 * len(text.split()) + 2


def test_every_glossary_rendering_round_trips(sp):
    with open(DEFAULT_GLOSSARY, encoding="utf-8", newline="") as fh:
        renderings = [r["en"] for r in csv.DictReader(fh, delimiter="\t") if r["en"]]
    assert renderings
    for text in renderings:
        assert sp.decode(sp.encode(text)) == text
        assert 0 not in sp.encode(text)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.text(st.characters(codec="utf-8", exclude_characters=" \u2581"), min_size=1)
    .map(lambda s: s.strip())
    .filter(bool)
    | st.lists(
        st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S"]), min_size=1),
        min_size=1,
    ).map(" ".join)
)
def test_any_text_round_trips(sp, text):
    ids = sp.encode(text)
    assert all(0 < i < sp.get_piece_size() for i in ids)
    assert sp.decode(ids) == text


def test_same_seed_gives_identical_bytes(tmp_path: Path, archive: Path):
    again = build_synthetic_package(tmp_path / "again.argosmodel", "tiny", 0)
    other = build_synthetic_package(tmp_path / "other.argosmodel", "tiny", 1)
    assert again.read_bytes() == archive.read_bytes()

    def member(path: Path, name: str) -> bytes:
        with zipfile.ZipFile(path) as zf:
            return zf.read(f"{NAME}/{name}")

    assert member(other, "model/model.bin") != member(archive, "model/model.bin")
    assert member(other, "sentencepiece.model") == member(archive, "sentencepiece.model")
    assert json.loads(member(other, "metadata.json"))["seed"] == 1
    versions = {json.loads(member(p, "metadata.json"))["package_version"] for p in (other, archive)}
    assert len(versions) == 2  # another model, another version (memory and make tell them apart)


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch):
    import zhen.engines.synth as synth

    out = tmp_path / "m.argosmodel"
    out.write_bytes(b"previous")

    def broken(zf, name, data, stored=False):
        if name.endswith("model.bin"):
            raise OSError(28, "No space left on device")
        return real(zf, name, data, stored)

    real = synth._zip_add
    monkeypatch.setattr(synth, "_zip_add", broken)
    with pytest.raises(OutputError, match="No space left"):
        build_synthetic_package(out)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["m.argosmodel"]


def test_build_leaves_only_the_archive(tmp_path: Path):
    out = build_synthetic_package(tmp_path / "new" / "m.argosmodel", seed=3)
    assert [p.name for p in out.parent.iterdir()] == ["m.argosmodel"]


def test_user_mistakes_raise_one_line_errors(tmp_path: Path):
    with pytest.raises(ModelError, match="tiny or base"):
        build_synthetic_package(tmp_path / "m.argosmodel", size="huge")
    with pytest.raises(ModelError, match="seed"):
        build_synthetic_package(tmp_path / "m.argosmodel", seed=-1)
    with pytest.raises(OutputError, match="folder"):
        build_synthetic_package(tmp_path)
