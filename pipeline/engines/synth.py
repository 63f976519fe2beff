"""Synthetic zh→en models with random weights, for tests and benchmarks: Argos packages,
and CTranslate2 conversions laid out as OPUS-MT and NLLB-200 ones.

A synthetic package is a genuine `.argosmodel`: metadata.json (`"synthetic": true`), a
CTranslate2 Transformer in model/, a trained sentencepiece.model and a README.  The weights
are random, so the English is noise; the tokenizer, the shapes and hence the speed are real.

Vocabulary (shared by source and target): SentencePiece ids equal CTranslate2 ids, with
0 `<unk>`, 1 `<blank>` (padding), 2 `<s>` (decoder start), 3 `</s>`, as in OpenNMT-py
models; no target prefix is needed.  SentencePiece uses byte fallback and the identity
normalizer, so decode(encode(text)) == text for any text without leading, trailing or double
spaces.  The training text supports about 1,300 pieces; the rest of the vocabulary is
pseudo-English pieces appended to the SentencePiece model itself, so every id decodes to
text and every encoded id is in the model's vocabulary.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import random
import re
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

from zhen.errors import GlossaryError, ModelError, OutputError


class SynthSize(NamedTuple):
    """Dimensions of a synthetic Transformer, and its output-length calibration."""

    encoder_layers: int
    decoder_layers: int
    d_model: int
    heads: int
    ffn: int
    vocab: int  # SentencePiece = CTranslate2 vocabulary size
    eos_slope: float  # how sharply `</s>` takes over once the output is long enough
    length_ratio: float  # typical output pieces per source piece
    encoder_spread: float  # calibrated (~ encoder output spread) so length_ratio holds


SYNTH_SIZES: dict[str, SynthSize] = {
    # For tests: builds in well under a second, about 2 MB.
    "tiny": SynthSize(2, 2, 64, 4, 256, 2000, 32.0, 1.2, 2.3),
    # The shape of a typical zh→en OPUS-MT / Argos model, for honest timings.
    "base": SynthSize(6, 6, 512, 8, 2048, 32000, 64.0, 1.2, 3.2),
}

# The checkout's glossary (its terms train the tokenizer); an installed wheel has none.
DEFAULT_GLOSSARY = Path(__file__).resolve().parents[2] / "glossary" / "terms.tsv"
SPECIALS = ("<unk>", "<blank>", "<s>", "</s>")
MAX_POSITIONS = 5000  # rows of the position-encoding table, as OpenNMT-py

_ZH = """\
国务院新闻办公室今天举行新闻发布会，介绍今年上半年国民经济运行情况。
外交部发言人在例行记者会上表示，中方坚决反对任何形式的单边制裁。
日本政府近日通过新版国家安全战略，提出大幅提高防卫预算。
分析人士指出，日本正在加快摆脱战后体制的步伐，试图成为所谓“正常国家”。
美国国会参众两院通过了新财年国防授权法案，总额超过八千亿美元。
美日两国防长举行会谈，同意进一步强化同盟的威慑力和应对能力。
报道称，自卫队将在二〇二五年度设立统合作战指挥机构。
专家认为，拥有反击能力将从根本上改变日本战后长期坚持的防卫政策。
中国人民银行决定下调金融机构存款准备金率零点五个百分点。
国家统计局数据显示，十月份全国居民消费价格同比上涨百分之零点二。
商务部新闻发言人就稀土出口管制措施答记者问。
多国专家在论坛上围绕供应链安全与产业合作展开深入讨论。
日本首相在国会发表施政演说，强调要推动修改和平宪法。
韩国、澳大利亚和菲律宾等国官员出席了此次安全对话会议。
该战略文件将中国定位为“前所未有的最大战略挑战”。
外交部长在联合国大会一般性辩论中发表讲话，呼吁加强多边合作。
近年来，全球南方国家在国际事务中的影响力不断上升。
二〇二四年第三季度，国内生产总值同比增长百分之四点六。
美方应当停止在台湾问题上玩火，停止售台武器。
东盟各国领导人就地区和平稳定与经济一体化交换意见。
会议审议通过了关于进一步全面深化改革的决定。
新能源汽车产量和销量连续多年位居世界第一。
据共同社报道，日本防卫省计划在西南诸岛部署远程导弹。
美国总统签署行政令，宣布对进口钢铁和铝产品加征关税。
小型模块化反应堆被视为未来核能发展的重要方向之一。
北约秘书长表示，将继续加强与亚太伙伴的协调与合作。
历史教训表明，军国主义复活将给地区和平带来严重威胁。
中方愿同各方一道，维护以联合国为核心的国际体系。
在记者会上，发言人回答了有关朝鲜半岛局势的提问。
各地区各部门要切实做好防汛抗旱和防灾减灾工作。
政府工作报告提出，今年经济增长预期目标为百分之五左右。
外国投资者对中国市场的信心持续增强，实际使用外资稳中有进。
第一，坚持独立自主的和平外交政策；第二，推动构建人类命运共同体。
美国防长首次出访亚洲，先后访问日本、菲律宾和新加坡。
“三海联动”的提法引起了周边国家的高度关注。
日本国内舆论对大幅增加军费存在明显分歧。
据悉，双方将于明年一月在东京举行新一轮磋商。
欧盟委员会发布报告，评估关键原材料供应风险。
中国将继续扩大高水平对外开放，稳步推进制度型开放。
今年以来，全国铁路完成固定资产投资五千多亿元。
"""

_EN = """\
The State Council Information Office held a press conference on Tuesday.
The foreign ministry spokesperson said China firmly opposes unilateral sanctions.
Japan adopted a new National Security Strategy and sharply raised its defense budget.
Analysts say Tokyo is moving away from its post-war security posture.
Congress passed the annual defense bill, authorizing more than $800 billion.
The two defense ministers agreed to strengthen deterrence and response capabilities.
According to the report, the new command will be set up in fiscal 2025.
Experts believe the change will fundamentally alter Japan's long-standing policy.
The central bank cut the reserve requirement ratio by 0.5 percentage points.
Consumer prices rose 0.2% year on year in October, official data showed.
The commerce ministry answered questions on export controls for critical minerals.
Officials from South Korea, Australia and the Philippines attended the dialogue.
The prime minister called for revising the constitution in a policy speech.
The document describes China as "the greatest strategic challenge" it has ever faced.
Gross domestic product grew 4.6% in the third quarter of 2024.
Leaders of ASEAN exchanged views on regional peace, stability and integration.
The president signed an executive order imposing tariffs on steel and aluminum imports.
NATO's secretary-general pledged closer coordination with partners in the Asia-Pacific.
History shows that a revival of militarism would seriously threaten regional peace.
China is ready to work with all parties to uphold the UN-centered international system.
The government set a growth target of around 5% for this year (see Table 1).
Foreign investors remain confident in the Chinese market; investment is steady.
First, pursue an independent foreign policy of peace; second, build a shared future.
The U.S. defense secretary visited Japan, the Philippines and Singapore.
Public opinion in Japan is divided over the sharp increase in military spending.
The two sides will hold a new round of talks in Tokyo next January.
The European Commission assessed supply risks for critical raw materials.
Investment in railways exceeded 500 billion yuan (about $70 billion) this year.
Q&A: What does the new strategy mean for allies? Why now? Who pays -- and how much?
Contact: press@example.org; tel. +81-3-1234-5678; see p. 12, para. 3/4, item #7 [a]*.
"""

_ONSETS = "b c d f g h k l m n p r s t v w st tr pr gr ch sh th pl cl br".split() + [""]
_VOWELS = "a e i o u ea ou io ai".split()
_CODAS = [""] + "n r s t l m nd st ct ng rt ss".split()


def _corpus(glossary: Path | None) -> list[str]:
    """SentencePiece training text: news sentences, glossary forms and renderings, ASCII."""
    zh_terms: list[str] = []
    renderings: list[str] = []
    if glossary is not None and glossary.is_file():
        try:
            with open(glossary, encoding="utf-8", newline="") as fh:
                lines = (line for line in fh if not line.startswith("#"))  # comments
                rows = list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
        except (OSError, UnicodeDecodeError) as exc:
            raise GlossaryError(f"{glossary}: cannot read the glossary ({exc})") from None
        for row in rows:
            forms = f"{row.get('zh') or ''} {row.get('variants') or ''}"
            zh_terms += re.split(r"[|;,，、\s]+", forms)
            renderings.append((row.get("en") or "").strip())
    renderings = [r for r in renderings if r]
    words = [w for r in renderings for w in r.split()]
    # Every rotation of the rendering words: varied contexts make whole words pieces.
    rotations = [" ".join(words[i:] + words[:i]) for i in range(len(words))]
    ascii_line = "".join(chr(c) for c in range(33, 127))
    return (
        _ZH.splitlines() * 3
        + [z for z in zh_terms if z] * 3
        + _EN.splitlines() * 3
        + renderings * 3
        + rotations
        + [ascii_line] * 2
    )


def _train_sentencepiece(lines: list[str], vocab_size: int) -> bytes:
    """A unigram SentencePiece model of at most vocab_size pieces, serialized."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        byte_fallback=True,
        normalization_rule_name="identity",
        split_digits=True,
        unk_id=0,
        pad_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=SPECIALS[1],
        num_threads=1,
        minloglevel=2,
    )
    return buf.getvalue()


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _pad_sentencepiece(model: bytes, vocab_size: int) -> bytes:
    """Append pseudo-English pieces to a serialized SentencePiece model up to vocab_size.

    Serialized protobuf messages concatenate, so appending `pieces` entries (field 1: piece,
    score) extends the vocabulary.  They score below every trained piece.
    """
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model)
    known = {sp.id_to_piece(i) for i in range(sp.get_piece_size())}
    score = struct.pack("<f", min(sp.get_score(i) for i in range(sp.get_piece_size())) - 5)
    syllables = ["".join(p) for p in itertools.product(_ONSETS, _VOWELS, _CODAS)]
    rnd = random.Random(0)
    pairs = iter(lambda: rnd.choice(syllables) + rnd.choice(syllables), None)
    words = itertools.chain(syllables, pairs)
    extra = bytearray()
    missing = vocab_size - len(known)
    for piece in (p for w in words for p in ("\u2581" + w, w)):
        if missing <= 0:
            break
        if piece not in known:
            known.add(piece)
            raw = piece.encode("utf-8")
            entry = b"\x0a" + _varint(len(raw)) + raw + b"\x15" + score
            extra += b"\x0a" + _varint(len(entry)) + entry
            missing -= 1
    return model + bytes(extra)


def _position_encodings(d: int):
    """OpenNMT-py sinusoids, except channels d-2 and d-1: ramps +pos/64 and -pos/64."""
    import numpy as np

    pos = np.arange(MAX_POSITIONS, dtype=np.float64)[:, None]
    angle = pos * np.exp(np.arange(0, d, 2) * -(np.log(10000.0) / d))
    pe = np.zeros((MAX_POSITIONS, d), np.float32)
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    pe[:, d - 2], pe[:, d - 1] = pos[:, 0] / 64, -pos[:, 0] / 64
    return pe


def _transformer_spec(dims: SynthSize, vocab: list[str], seed: int,
                      never: frozenset[str] = frozenset()):
    """A pre-norm Transformer spec with random weights and a length-aware `</s>` logit.

    Channels A = d-2 and B = d-1 of the residual streams get no random writes, only the
    position ramps (A - B = 2·pos/64).  The last cross-attention head of the last decoder
    layer attends uniformly, reads the encoder's A - B (mean: the source length) and
    subtracts it, scaled by length_ratio, from the decoder's A.  The `</s>` logit rises
    with the decoder's A - B, so outputs end after about length_ratio × the source length.
    """
    import numpy as np
    from ctranslate2.specs import transformer_spec

    rng = np.random.default_rng(seed)
    d, ff, hd = dims.d_model, dims.ffn, dims.d_model // dims.heads
    spec = transformer_spec.TransformerSpec.from_config(
        (dims.encoder_layers, dims.decoder_layers), dims.heads
    )

    def normal(*shape: int, fan_in: int, gain: float = 1.0):
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(gain / np.sqrt(fan_in))

    # A strong token embedding keeps a random decoder from repeating one piece.
    embeddings = normal(len(vocab), d, fan_in=d, gain=2.0)
    embeddings[:, d - 2 :] = 0.0
    spec.encoder.embeddings[0].weight = spec.decoder.embeddings.weight = embeddings
    spec.encoder.position_encodings.encodings = _position_encodings(d)
    spec.decoder.position_encodings.encodings = spec.encoder.position_encodings.encodings
    proj = spec.decoder.projection  # untied: a tied one makes the decoder echo its input
    proj.weight = normal(len(vocab), d, fan_in=d)
    proj.bias = np.zeros(len(vocab), np.float32)
    unwanted = [
        i
        for i, p in enumerate(vocab)  # specials, bytes, CJK: keep the noise ASCII
        if i < 3 or p.startswith("<0x") or not p.replace("\u2581", "").isascii() or p in never
    ]
    proj.bias[unwanted] = -30.0
    eos = SPECIALS.index("</s>")
    proj.weight[eos] = 0.0
    proj.weight[eos, d - 2 :] = (dims.eos_slope, -dims.eos_slope)
    proj.bias[eos] = np.sqrt(2 * np.log(len(vocab))) - 1.5  # about the best other logit

    norms = [spec.encoder.layer_norm, spec.decoder.layer_norm]
    for layer in [*spec.encoder.layer, *spec.decoder.layer]:
        for att in filter(None, [layer.self_attention, getattr(layer, "attention", None)]):
            rows_of = [3 * d, d] if len(att.linear) == 2 else [d, 2 * d, d]  # self / cross
            for linear, rows in zip(att.linear, rows_of):
                linear.weight = normal(rows, d, fan_in=d)
                linear.bias = np.zeros(rows, np.float32)
            att.linear[-1].weight[d - 2 :] = 0.0
            norms.append(att.layer_norm)
        ffn = layer.ffn
        ffn.linear_0.weight = normal(ff, d, fan_in=d, gain=np.sqrt(2))
        ffn.linear_0.bias = np.zeros(ff, np.float32)
        ffn.linear_1.weight = normal(d, ff, fan_in=ff)
        ffn.linear_1.weight[d - 2 :] = 0.0
        # ReLU outputs are positive: centre them, or all states share one direction.
        ffn.linear_1.bias = ffn.linear_1.weight.sum(axis=1) * np.float32(-1 / np.sqrt(np.pi))
        norms.append(ffn.layer_norm)
    for norm in norms:
        norm.gamma, norm.beta = np.ones(d, np.float32), np.zeros(d, np.float32)
    cross = spec.decoder.layer[-1].attention  # its last head (not the alignment head 0)
    cross.linear[0].weight[d - hd :] = 0.0  # zero queries: uniform attention
    cross.linear[1].weight[2 * d - hd :] = 0.0  # keys then values; value dim 0 reads A - B
    cross.linear[1].weight[2 * d - hd, d - 2 :] = (1.0, -1.0)
    cross.linear[2].weight[:, d - hd :] = 0.0
    cross.linear[2].weight[d - 2, d - hd] = -2 * dims.length_ratio * dims.encoder_spread
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    return spec


README = """\
# SYNTHETIC MODEL: RANDOM WEIGHTS. ITS ENGLISH IS NOISE.

**This package is not a translation model.** It was generated by `zhen model synth`
(size `{size}`, seed {seed}) for tests and benchmarks. Its CTranslate2 Transformer has the
shape of a zh→en model ({dims}), but every weight is random: its "English" output is
meaningless noise. Only the tokenizer (SentencePiece trained on a little synthetic news
text and the zhen glossary, padded with pseudo-English pieces) and the speed are real.

Never publish its output as a translation. metadata.json says `"synthetic": true`.
"""


def _zip_add(zf: zipfile.ZipFile, name: str, data: bytes | None, stored: bool = False) -> None:
    """Add a file (or, with data None, a folder) with fixed timestamps and modes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o40755 << 16 | 0x10) if data is None else 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    zf.writestr(info, data or b"")


KINDS = ("argos", "opus-mt", "nllb")
NLLB_LANGUAGES = ("zho_Hans", "eng_Latn")  # as NLLB-200's vocabulary has them


def _check_request(out: Path, size: str, seed: int, kind: str) -> None:
    """Refuse an unknown kind or size, a negative seed, or an `out` of the wrong sort."""
    if kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r}; choose {', '.join(KINDS)}")
    if size not in SYNTH_SIZES:
        choices = " or ".join(SYNTH_SIZES)
        raise ModelError(f"unknown synthetic model size {size!r}; choose {choices}")
    if seed < 0:
        raise ModelError(f"synthetic model seed must be 0 or more, not {seed}")
    if kind == "argos" and out.is_dir():
        raise OutputError(f"{out}: is a folder; give the .argosmodel file to write")
    if kind != "argos" and out.exists():
        raise OutputError(f"{out}: already exists; give a new folder to write the model to")


def _vocabulary(dims: SynthSize, glossary: Path | None,
                kind: str) -> tuple[bytes, list[str], frozenset[str]]:
    """The SentencePiece model, the model's vocabulary, and the tokens it never emits."""
    import sentencepiece as spm

    sp_model = _pad_sentencepiece(_train_sentencepiece(_corpus(glossary), dims.vocab), dims.vocab)
    sp = spm.SentencePieceProcessor(model_proto=sp_model)
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    if tuple(vocab[:4]) != SPECIALS or len(vocab) != dims.vocab:  # a bug, not a user error
        raise RuntimeError(f"synthetic vocabulary is malformed: {vocab[:4]}, {len(vocab)} pieces")
    never = frozenset()
    if kind == "nllb":  # language tokens after the pieces, as in NLLB-200's vocabulary
        vocab += list(NLLB_LANGUAGES)
        never = frozenset(NLLB_LANGUAGES)
    return sp_model, vocab, never


def _version(kind: str, size: str, seed: int, sp_model: bytes) -> str:
    """Models of other seeds or glossaries are other models: the version tells them apart
    (zhen keys its translation memory and up-to-date checks on name and version).  Only
    digits: TEI's application/@version allows no more."""
    prefix = "" if kind == "argos" else f"{kind} "  # argos: as before kinds existed
    fingerprint = int(hashlib.sha256(f"{prefix}{size} {seed} ".encode() + sp_model).hexdigest(),
                      16)
    return f"0.1.{seed}.{fingerprint % 10**6}"


def build_synthetic_package(
    out: Path, size: str = "tiny", seed: int = 0, glossary: Path | None = DEFAULT_GLOSSARY,
    kind: str = "argos",
) -> Path:
    """Write a random-weight zh→en model of `kind` to out, atomically; return out.

    argos: an `.argosmodel` file.  opus-mt and nllb: a folder laid out as a CTranslate2
    conversion of a real model of that kind (tokenizer files, language tokens, config), so
    that every engine path is exercised offline.  The same arguments give the same bytes.
    """
    out = Path(out)
    _check_request(out, size, seed, kind)
    dims = SYNTH_SIZES[size]
    sp_model, vocab, never = _vocabulary(dims, glossary, kind)
    name = f"translate-zh_en-synthetic-{size}" if kind == "argos" else \
        f"{kind}-zh-en-synthetic-{size}"
    shape = {k: v for k, v in dims._asdict().items() if k in SynthSize._fields[:6]}
    about = {"size": size, "seed": seed, "dimensions": shape}
    version = _version(kind, size, seed, sp_model)
    dims_text = ", ".join(f"{k} {v}" for k, v in shape.items())
    readme = README.format(size=size, seed=seed, dims=dims_text)
    tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="zhen-synth-") as tmp:
            spec = _transformer_spec(dims, vocab, seed, never)
            if kind != "argos":  # Marian and NLLB start decoding from </s>
                spec.config.decoder_start_token = "</s>"
            spec.validate()
            spec.optimize(quantization="int8")  # as Argos packages ship: int8 weights
            spec.save(tmp)
            if kind == "argos":
                metadata = {
                    "package_version": version, "argos_version": "1.9.0", "code": name,
                    "type": "translate", "from_code": "zh", "from_name": "Chinese",
                    "to_code": "en", "to_name": "English", "links": [], "synthetic": True,
                    **about,
                }
                _write_argosmodel(tmp_out, name, metadata, readme, sp_model, Path(tmp))
            else:
                metadata = {"name": name, "version": version, "synthetic": True, "kind": kind,
                            **about}
                _write_folder(tmp_out, kind, metadata, readme, sp_model, Path(tmp))
        os.replace(tmp_out, out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp_out.is_dir():
            import shutil

            shutil.rmtree(tmp_out, ignore_errors=True)
        else:
            tmp_out.unlink(missing_ok=True)
    return out


def _write_folder(path: Path, kind: str, metadata: dict, readme: str, sp_model: bytes,
                  model_dir: Path) -> None:
    """A CTranslate2 conversion's folder, with the tokenizer files of `kind`."""
    files = {"zhen-model.json": json.dumps(metadata, indent=2).encode(),
             "README.md": readme.encode()}
    if kind == "opus-mt":  # Marian: a tokenizer per side
        files.update({"source.spm": sp_model, "target.spm": sp_model})
    else:
        files["sentencepiece.bpe.model"] = sp_model
    path.mkdir()
    for f in sorted(model_dir.iterdir()):
        (path / f.name).write_bytes(f.read_bytes())
    for fname, data in files.items():
        (path / fname).write_bytes(data)


def _write_argosmodel(path: Path, name: str, metadata: dict, readme: str, sp_model: bytes,
                      model_dir: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        _zip_add(zf, f"{name}/", None)
        _zip_add(zf, f"{name}/metadata.json", json.dumps(metadata, indent=2).encode())
        _zip_add(zf, f"{name}/README.md", readme.encode())
        _zip_add(zf, f"{name}/sentencepiece.model", sp_model)
        _zip_add(zf, f"{name}/model/", None)
        for f in sorted(model_dir.iterdir()):
            _zip_add(zf, f"{name}/model/{f.name}", f.read_bytes(), f.suffix == ".bin")
