"""Tests for zhen.readers.text: decoding, binary refusal, paragraphs, XML-forbidden chars."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zhen.errors import InputError
from zhen.readers.text import (
    TextStream,
    decode_text,
    read_text_file,
    split_paragraphs,
    strip_xml_forbidden,
)

REPO = Path(__file__).resolve().parent.parent

TEXT = (
    "日本防卫政策的转向\n"
    "\u3000\u3000据《读卖新闻》报道，防卫省计划把预算提高1.8%，汇率按9.0353计算。\n"
    "\n"
    "  专家指出：“美日同盟正在进入新阶段。”  \n"
    "美国国防部长赫格塞思表示，Japan must do more.\n"
)
PARAGRAPHS = [
    "日本防卫政策的转向",
    "据《读卖新闻》报道，防卫省计划把预算提高1.8%，汇率按9.0353计算。",
    "专家指出：“美日同盟正在进入新阶段。”",
    "美国国防部长赫格塞思表示，Japan must do more.",
]


def _write(tmp_path: Path, data: bytes, name: str = "article.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.replace("\n", "\r\n").encode("utf-8-sig"), "utf-8-sig"),
        (TEXT.encode("gbk"), "gb18030"),
        (TEXT.encode("gb18030"), "gb18030"),
        (TEXT.encode("gb2312"), "gb18030"),
    ],
    ids=["utf-8", "utf-8-bom-crlf", "gbk", "gb18030", "gb2312"],
)
def test_same_text_in_each_encoding_gives_the_same_paragraphs(tmp_path, data, encoding):
    paragraphs, info = read_text_file(_write(tmp_path, data))
    assert paragraphs == PARAGRAPHS
    assert info.encoding == encoding


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_bom(codec):
    bom = "\ufeff".encode(codec)
    text, encoding = decode_text(bom + TEXT.encode(codec), "a.txt")
    assert text == TEXT
    assert encoding == codec[:6]
    assert split_paragraphs(text) == PARAGRAPHS


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_refused_with_a_hint(codec):
    with pytest.raises(InputError) as info:
        decode_text(TEXT.encode(codec), "a.txt")
    assert str(info.value) == ("a.txt: looks like UTF-16 without a byte-order mark: save it "
                               "as UTF-8 (or UTF-16 with a BOM)")


def test_gb18030_four_byte_characters_outside_gbk():
    text = "吉野家的“𠮷”字和㐀字都在GB18030里。"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    assert decode_text(text.encode("gb18030"), "a.txt") == (text, "gb18030")


def test_big5_traditional_chinese():
    text = "美日同盟的新黃金時代已經到來，防衛省宣佈預算增長1.8%。"
    assert decode_text(text.encode("cp950"), "a.txt") == (text, "cp950")


def test_encoding_name_decodes_the_raw_bytes_back():
    for data in (TEXT.encode("utf-8-sig"), TEXT.encode("utf-16"), TEXT.encode("gbk")):
        text, encoding = decode_text(data, "a.txt")
        assert data.decode(encoding) == text


COMMON = "".join(sorted(set("".join(PARAGRAPHS)))) + "，。、；：？！“”‘’《》（）—…\u3000"


@given(st.text(alphabet=COMMON + "abcXYZ 0123.%\n\r\t", min_size=1))
def test_decoding_gives_back_the_text_written(text):
    for codec in ("utf-8", "utf-8-sig", "utf-16", "utf-32", "gb18030"):
        data = text.encode(codec)
        decoded, encoding = decode_text(data, "a.txt")
        assert data.decode(encoding) == decoded
        if codec != "gb18030" or not _valid_utf8(data):  # a few GB bytes are UTF-8 too
            assert decoded == text


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (PNG_HEADER, 8),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", 4),
        (TEXT.encode("utf-8") + b"\x00\x01\x02", len(TEXT.encode("utf-8"))),
        (b"ok " + bytes(range(1, 9)) * 40, 3),  # no NUL, but mostly control characters
    ],
    ids=["png", "jpeg", "text-then-nul", "controls"],
)
def test_binary_data_is_refused_with_its_offset(tmp_path, data, offset):
    path = _write(tmp_path, data, "x.txt")
    with pytest.raises(InputError) as info:
        read_text_file(path)
    message = str(info.value)
    assert message == (
        f"{path}: not a text file (binary data at byte {offset}); give a UTF-8 or GB18030 text file"
    )


def test_random_bytes_are_refused():
    data = random.Random(1234).randbytes(4096)
    with pytest.raises(InputError, match=r"not a text file \(binary data at byte \d+\)"):
        decode_text(data, "input/x.bin")


def test_damaged_utf8_is_refused_not_read_as_gb18030():
    good = TEXT.encode("utf-8")
    damaged = good[:40] + b"\xff" + good[40:]
    with pytest.raises(InputError, match="invalid UTF-8 at byte 40"):
        decode_text(damaged, "a.txt")
    truncated = good + "防".encode()[:2]
    with pytest.raises(InputError, match=f"invalid UTF-8 at byte {len(good)}"):
        decode_text(truncated, "a.txt")


def test_unsupported_encoding_is_refused():
    shift_jis = "防衛省は来年度予算を発表した。日米同盟の強化が狙いだ。".encode("shift_jis")
    with pytest.raises(InputError, match="cannot decode the text.*re-save it as UTF-8"):
        decode_text(shift_jis, "a.txt")


@pytest.mark.parametrize(
    ("data", "what"),
    [(b"", "is empty"), (b"\xef\xbb\xbf", "is empty"),
     (b"   \n\t\n", "has only white space"),
     ("\u3000\u3000\r\n\u3000\r\n".encode(), "has only white space"),
     (b"\r\n\r\n\r", "has only white space")],
    ids=["empty", "bom-only", "spaces", "ideographic-spaces", "line-breaks"],
)
def test_empty_or_blank_file_is_refused(tmp_path, data, what):
    path = _write(tmp_path, data, "blank.txt")
    for read in (read_text_file, lambda p: list(TextStream(p).paragraphs())):
        with pytest.raises(InputError) as info:
            read(path)
        assert str(info.value) == f"{path}: the file {what} (no text to translate)"


def test_forbidden_characters_removed_and_counted():
    text = "a\x00b\x0bc\x1fd\ufffee\uffff\udc80f\t\n\r𠮷\ufffd\u2028"
    assert strip_xml_forbidden(text) == ("abcdef\t\n\r𠮷\ufffd\u2028", 6)
    assert strip_xml_forbidden("美日同盟") == ("美日同盟", 0)


def test_file_with_stray_controls_reports_dropped_chars(tmp_path):
    data = "第一段\x0c文字。\n第二段\x1a\n\x0b\n".encode()
    paragraphs, info = read_text_file(_write(tmp_path, data))
    assert paragraphs == ["第一段文字。", "第二段"]
    assert info.dropped_chars == 3


def test_nothing_else_is_changed():
    text = "ＡＢＣ１２３，①豈 é\u00a0x  y\u3000z ﬁ"  # full-width, compatibility chars
    assert split_paragraphs(strip_xml_forbidden(text)[0]) == [text.rstrip()]


def test_split_paragraphs_strips_lines_and_keeps_interior_whitespace():
    text = " \u3000第一段  中间\u3000空格 \r\n\r\n\t第二段\r第三段\n\u3000\n"
    assert split_paragraphs(text) == ["第一段  中间\u3000空格", "第二段", "第三段"]


def test_source_info(tmp_path):
    data = TEXT.encode("utf-8-sig")
    path = _write(tmp_path, data, "japan.txt")
    _, info = read_text_file(path)
    assert info.filename == "japan.txt"
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.encoding == "utf-8-sig"
    assert info.dropped_chars == 0


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(InputError, match=f"^{path}: no such file"):
        read_text_file(path)


def test_directory(tmp_path):
    with pytest.raises(InputError, match=f"^{tmp_path}: is a folder"):
        read_text_file(tmp_path)


def test_permission_denied(tmp_path, monkeypatch):
    path = _write(tmp_path, TEXT.encode())

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InputError, match=f"^{path}: permission denied"):
        read_text_file(path)


def test_error_messages_are_one_line(tmp_path):
    for data in (b"", PNG_HEADER, "テスト。".encode("shift_jis") * 5):
        with pytest.raises(InputError) as info:
            read_text_file(_write(tmp_path, data))
        assert "\n" not in str(info.value)


SAMPLES = sorted((REPO / "input").glob("*.txt")) + [REPO / "tests/data/unseen-article.txt"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_articles_read_cleanly(path):
    paragraphs, info = read_text_file(path)
    assert info.encoding == "utf-8"
    assert info.dropped_chars == 0
    assert 6 <= len(paragraphs) <= 15
    assert 500 <= sum(map(len, paragraphs)) <= 1600
