"""Read an input text file into paragraph strings (the pipeline's input edge).

Decoding is a strict cascade rather than statistical detection, because detectors
(charset-normalizer, chardet) often mistake short Chinese texts for other encodings:

1. a byte-order mark decides: UTF-32, UTF-8 ("utf-8-sig"), UTF-16;
2. NUL bytes mean binary data;
3. strict UTF-8 (ASCII is UTF-8);
4. strict GB18030 (a superset of GBK and GB2312) or Big5 (cp950), whichever decodes to
   text that looks Chinese: nearly all non-ASCII characters are CJK ideographs or
   punctuation (a Big5 file read as GB18030 gives private-use characters and kana), and
   for GB18030 most ideographs are common simplified ones (in GB2312), which Shift_JIS
   or Latin-1 bytes read as GB18030 are not (a traditional-Chinese GBK file is refused);
5. anything else is refused.  (charset-normalizer was tried for a hint in that message;
   on short texts it guesses wrong, e.g. cp1257 for French cp1252, so it is not used.)

A file that is almost valid UTF-8 (a damaged or truncated UTF-8 file) is refused rather
than decoded as GB18030, where it would turn into plausible-looking mojibake.

Paragraphs are the non-blank lines; each is stripped of leading and trailing whitespace
(including the ideographic space U+3000) and keeps its interior whitespace as it is.
Characters that XML 1.0 forbids are removed and counted; nothing else is changed
(no Unicode normalisation, no traditional → simplified conversion).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from zhen.document import SourceInfo
from zhen.errors import InputError
from zhen.han import HAN_RANGES, is_han

# Checked in this order: the UTF-32-LE mark starts with the UTF-16-LE mark.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_LEGACY_CHINESE = ("gb18030", "cp950")  # ties favour the first

# XML 1.0 Char production, complemented; surrogates (U+D800–U+DFFF) are outside it.
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 (but tab, LF, CR), DEL, C1
_BYTE_CONTROL = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C1 bytes are legacy trail bytes
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CHINESE_TEXT_CHAR = re.compile(
    "["
    "\u00a0-\u00bf\u00d7\u00f7"  # Latin-1 punctuation and signs: · ° § × ÷
    "\u2000-\u206f"  # general punctuation: “ ” ‘ ’ … — ‰
    "\u2100-\u24ff"  # letterlike, number forms, arrows, maths, enclosed ① ②
    "\u25a0-\u26ff"  # geometric shapes and misc symbols: ■ ● ★
    "\u3000-\u303f"  # CJK punctuation: 。 、 《 》 「 」
    "\u3200-\u33ff"  # enclosed CJK, CJK compatibility
    + HAN_RANGES  # Han characters (zhen.han)
    + "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # full-width and half-width forms
    "]"
)
_MIN_CHINESE_SHARE = 0.9
_MIN_GB2312_SHARE = 0.5  # of the ideographs in a GB18030 text; Shift_JIS read as GB18030: ~0
_MAX_CONTROL_SHARE = 0.25  # of decoded text: more is binary data (a few are dropped)
_MAX_CONTROL_BYTE_SHARE = 0.1  # of undecodable bytes: more is binary, not another encoding


def strip_xml_forbidden(text: str) -> tuple[str, int]:
    """Remove characters XML 1.0 forbids; return the clean text and how many were removed.

    Removed: C0 controls other than tab, LF and CR; U+FFFE and U+FFFF; lone surrogates.
    """
    return _XML_FORBIDDEN.subn("", text)


def split_paragraphs(text: str) -> list[str]:
    """Split text into paragraphs: one per non-blank line (CRLF, CR or LF).

    Each line loses its leading and trailing whitespace (``str.strip``, which covers the
    ideographic space U+3000 and no-break space); interior whitespace is kept.
    """
    lines = (line.strip() for line in _LINE_BREAK.split(text))
    return [line for line in lines if line]


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode raw file bytes; return (text, encoding).

    The encoding is a Python codec name that turns ``data`` back into ``text``:
    "utf-8", "utf-8-sig", "utf-16", "utf-32", "gb18030" or "cp950" (Big5).
    Raise InputError, naming ``name``, for binary data or an encoding not supported.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name}: invalid {codec.upper().removesuffix('-SIG')} data at byte "
                    f"{exc.start}; re-save it as UTF-8"
                ) from None
            return _checked(text, codec, name), codec

    nul = data.find(b"\x00")
    if nul >= 0:
        raise _utf16(name) if _looks_utf16(data) else _binary(name, nul)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    else:
        return _checked(text, "utf-8", name), "utf-8"

    if _damaged_utf8(data):
        raise InputError(
            f"{name}: invalid UTF-8 at byte {utf8_error.start} (the rest is UTF-8, so the "
            "file is damaged or truncated); fix the file or re-save it as UTF-8"
        )
    best: tuple[float, str, str] | None = None
    for codec in _LEGACY_CHINESE:
        try:
            candidate = data.decode(codec)
        except UnicodeDecodeError:
            continue
        score = _chinese_share(candidate)
        if codec == "gb18030" and _gb2312_share(candidate) < _MIN_GB2312_SHARE:
            continue
        if score >= _MIN_CHINESE_SHARE and (best is None or score > best[0]):
            best = (score, codec, candidate)
    if best is not None:
        return _checked(best[2], best[1], name), best[1]

    controls = [m.start() for m in _BYTE_CONTROL.finditer(data)]
    if len(controls) > _MAX_CONTROL_BYTE_SHARE * len(data):
        raise _binary(name, controls[0])
    raise InputError(
        f"{name}: cannot decode the text (invalid byte at {utf8_error.start}: not UTF-8, "
        "GB18030 or Big5); re-save it as UTF-8"
    )


def read_text_file(path: Path) -> tuple[list[str], SourceInfo]:
    """Read one input file; return its paragraphs and where they came from.

    Raise InputError for a missing or unreadable file, binary data, an unsupported
    encoding, or a file without text.  (`TextStream` reads the same in bounded memory.)
    """
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _read_error(exc, name) from None

    text, encoding = decode_text(data, name)
    clean, dropped = strip_xml_forbidden(text)
    paragraphs = split_paragraphs(clean)
    if not paragraphs:
        raise _empty(name, blank=bool(clean))
    info = SourceInfo(
        filename=display_name(path.name),
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        dropped_chars=dropped,
    )
    return paragraphs, info


class TextStream:
    """An input file read paragraph by paragraph, holding one chunk and one line at a time.

    Gives what `read_text_file` gives, for files of any size.  The encoding is decided
    first: a file with a byte-order mark, or valid UTF-8 without NUL bytes, in one pass
    over chunks; any other file by `decode_text` over its whole bytes (the legacy-encoding
    cascade needs them; it also makes the refusal messages identical).  `paragraphs()`
    then decodes the file chunk by chunk; `info()` is complete once it is exhausted.
    """

    CHUNK_BYTES = 1 << 20

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = str(path)
        self._sha256: str | None = None
        self._dropped = 0
        self._whole: tuple[list[str], SourceInfo] | None = None
        if not _is_regular_file(self.path):  # a pipe can be read only once: read it whole
            self._whole = read_text_file(self.path)
            self.encoding = self._whole[1].encoding
        else:
            self.encoding = self._detect()

    def paragraphs(self) -> Iterator[str]:
        """The non-blank lines, stripped, without XML-forbidden characters (counted)."""
        if self._whole is not None:
            yield from self._whole[0]
            self._sha256, self._dropped = self._whole[1].sha256, self._whole[1].dropped_chars
            return
        digest = hashlib.sha256()
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        carry: list[str] = []  # the start of a line that goes on in the next chunk
        self._dropped, found, blank = 0, False, False
        with self._open() as fh:
            while True:
                try:
                    chunk = fh.read(self.CHUNK_BYTES)
                except OSError as exc:
                    raise _read_error(exc, self.name) from None
                digest.update(chunk)
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError:
                    raise InputError(
                        f"{self.name}: the file changed while it was being read; run again"
                    ) from None
                clean, dropped = strip_xml_forbidden(text)
                self._dropped += dropped
                blank = blank or bool(clean)
                lines = _LINE_BREAK.split(clean)
                rest = lines.pop() if chunk else None  # at end of file the last line is whole
                if lines:
                    lines[0] = "".join(carry) + lines[0]
                    carry = []
                if rest is not None:
                    carry.append(rest)
                for line in lines:
                    if line.strip():
                        found = True
                        yield line.strip()
                if not chunk:
                    break
        if not found:
            raise _empty(self.name, blank)
        self._sha256 = digest.hexdigest()

    def info(self) -> SourceInfo:
        """Where the paragraphs came from (once `paragraphs()` is exhausted)."""
        if self._sha256 is None:
            raise RuntimeError("TextStream.info() before the paragraphs were read")
        return SourceInfo(display_name(self.path.name), self._sha256, self.encoding,
                          self._dropped)

    def _open(self):
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise _read_error(exc, self.name) from None

    def _detect(self) -> str:
        with self._open() as fh:
            head = fh.read(4)
            codec = next((c for bom, c in _BOMS if head.startswith(bom)), None)
            fh.seek(0)
            decoder = codecs.getincrementaldecoder(codec or "utf-8")("strict")
            chars = controls = 0
            try:
                while chunk := fh.read(self.CHUNK_BYTES):
                    if codec is None and b"\x00" in chunk:
                        raise ValueError("NUL byte")
                    text = decoder.decode(chunk)
                    chars += len(text)
                    controls += len(_CONTROL.findall(text))
                decoder.decode(b"", final=True)
            except (UnicodeDecodeError, ValueError):
                codec = "undecided"
            except OSError as exc:
                raise _read_error(exc, self.name) from None
        if codec != "undecided" and controls <= _MAX_CONTROL_SHARE * chars:
            return codec or "utf-8"
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise _read_error(exc, self.name) from None
        return decode_text(data, self.name)[1]  # a legacy encoding, or the refusal


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True  # let opening it report the problem


def display_name(name: str) -> str:
    """A file name as XML text: bytes that are not UTF-8 (which Python decodes to surrogate
    escapes) and characters XML forbids (control characters are legal in names) → U+FFFD."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _XML_FORBIDDEN.sub("\ufffd", text)


def _read_error(exc: OSError, name: str) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{name}: no such file; check the path")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{name}: is a folder, not a text file; give a .txt file")
    if isinstance(exc, PermissionError):
        return InputError(f"{name}: permission denied; make the file readable")
    return InputError(f"{name}: cannot read the file ({exc.strerror or exc})")


def _empty(name: str, blank: bool = False) -> InputError:
    """No text: an empty file, or with `blank` one of white space only."""
    if blank:
        return InputError(f"{name}: the file has only white space (no text to translate)")
    return InputError(f"{name}: the file is empty (no text to translate)")


def _utf16(name: str) -> InputError:
    return InputError(f"{name}: looks like UTF-16 without a byte-order mark: save it as UTF-8 "
                      "(or UTF-16 with a BOM)")


def _looks_utf16(data: bytes) -> bool:
    """Whether bytes with NUL bytes in them look like UTF-16 text without a byte-order mark:
    read as UTF-16 in one byte order or the other, nearly every character is a Chinese text
    character, printable ASCII or a line break.  (In UTF-16 text the NULs are the high bytes
    of ASCII characters, at alternating offsets; binary data read as UTF-16 gives NUL
    characters, controls, unpaired surrogates and scattered scripts.)  Not for bytes without
    NULs: 8-bit text read as UTF-16 looks like CJK ideographs."""
    if len(data) < 2 or len(data) % 2:
        return False
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        usual = sum(1 for c in text if " " <= c <= "~" or c in "\t\r\n"
                    or _CHINESE_TEXT_CHAR.match(c))
        if usual >= _MIN_CHINESE_SHARE * len(text):
            return True
    return False


def _binary(name: str, offset: int) -> InputError:
    return InputError(
        f"{name}: not a text file (binary data at byte {offset}); give a UTF-8 or GB18030 text file"
    )


def _checked(text: str, codec: str, name: str) -> str:
    """Return ``text`` unless it is mostly control characters (binary data)."""
    if _control_share(text) > _MAX_CONTROL_SHARE:
        first = _CONTROL.search(text)
        assert first is not None
        offset = len(text[: first.start()].encode(codec, errors="replace"))
        raise _binary(name, offset)
    return text


def looks_chinese(text: str, codec: str = "") -> bool:
    """Whether decoded text reads as Chinese, as `decode_text` judges a legacy encoding:
    nearly all non-ASCII characters usual in Chinese text, and for GB18030 mostly common
    simplified ideographs (bytes of another encoding read as GB18030 are not)."""
    if _chinese_share(text) < _MIN_CHINESE_SHARE:
        return False
    return codec != "gb18030" or _gb2312_share(text) >= _MIN_GB2312_SHARE


def _control_share(text: str) -> float:
    return len(_CONTROL.findall(text)) / len(text) if text else 0.0


def _chinese_share(text: str) -> float:
    """Share of the non-ASCII characters that are usual in Chinese text (1.0 if none)."""
    non_ascii = [c for c in text if not c.isascii()]
    if not non_ascii:
        return 1.0
    usual = sum(1 for c in non_ascii if _CHINESE_TEXT_CHAR.match(c))
    return usual / len(non_ascii)


def _gb2312_share(text: str) -> float:
    """Share of the CJK ideographs that are in GB2312, the 6763 common simplified ones."""
    hanzi = [c for c in text if is_han(c)]
    if not hanzi:
        return 1.0
    return sum(1 for c in hanzi if _encodable(c, "gb2312")) / len(hanzi)


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _damaged_utf8(data: bytes) -> bool:
    """True if the bytes are UTF-8 but for a few invalid sequences."""
    decoded = data.decode("utf-8", errors="replace")
    bad = decoded.count("\ufffd")
    good = sum(1 for c in decoded if not c.isascii()) - bad
    return good >= 8 and bad * 20 <= good
