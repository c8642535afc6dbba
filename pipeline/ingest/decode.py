"""Bytes -> text: file-type sniffing by magic bytes, binary detection, encoding detection, HTML text.

Nothing read here is executed, unpickled or evaluated: bytes are only compared and decoded.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

# Magic numbers of common non-text files that end up in a folder of articles. Checked before any
# decoding so that a PDF named "article.txt" is reported as a PDF, not as mojibake.
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"%PDF-", "PDF document"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"II*\x00", "TIFF image"),
    (0, b"MM\x00*", "TIFF image"),
    (0, b"\x00\x00\x01\x00", "ICO image"),
    (0, b"PK\x03\x04", "ZIP archive (or DOCX/XLSX/EPUB)"),
    (0, b"PK\x05\x06", "ZIP archive (empty)"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"BZh", "bzip2 archive"),
    (0, b"\xfd7zXZ\x00", "xz archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (0, b"\x28\xb5\x2f\xfd", "zstd archive"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MS Office (OLE2) document"),
    (0, b"{\\rtf", "RTF document"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"\xca\xfe\xba\xbe", "Java class / Mach-O binary"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"OggS", "Ogg media"),
    (0, b"fLaC", "FLAC audio"),
    (0, b"ID3", "MP3 audio"),
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (0, b"PAR1", "Parquet file"),
    (0, b"ARROW1", "Arrow IPC file"),
    (0, b"\x00asm", "WebAssembly binary"),
    (4, b"ftyp", "MP4/QuickTime/HEIC media"),
    (8, b"WEBP", "WebP image"),
    (8, b"WAVE", "WAV audio"),
    (8, b"AVI ", "AVI video"),
]
# Python pickles (protocol 2-5) start with PROTO; named so a reader sees it was recognized, not loaded.
_PICKLE = re.compile(rb"\A\x80[\x02-\x05]")
_BMP = re.compile(rb"\ABM.{4}\x00\x00\x00\x00", re.S)
_SVG = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]{0,200}\?>\s*)?(?:<!--.{0,500}?-->\s*)?<svg[\s>]", re.S | re.I)
_HTML = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.{0,2000}?-->\s*)?(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])",
    re.S | re.I,
)

_BOMS: list[tuple[bytes, str]] = [  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
# Control bytes that never occur in text (tab, LF, VT, FF, CR and ESC excluded).
_BINARY_BYTES = [bytes([b]) for b in range(32) if b not in (9, 10, 11, 12, 13, 27)] + [b"\x7f"]
_SAMPLE = 65536


def sniff_type(data: bytes) -> str | None:
    """The kind of a non-text file from its magic bytes, or None when it is not a known binary type."""
    for offset, magic, kind in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if _PICKLE.match(data):
        return "Python pickle (not loaded)"
    if _BMP.match(data):
        return "BMP image"
    if _SVG.match(data[:4096]):
        return "SVG image"
    return None


def looks_like_html(data_or_text: bytes | str) -> bool:
    head = data_or_text[:4096]
    if isinstance(head, str):
        head = head.encode("utf-8", "ignore")
    return bool(_HTML.match(head))


@dataclass(frozen=True)
class Decoded:
    text: str | None  # None when the bytes are not text
    encoding: str | None
    problem: str | None = None  # why it is not text (binary_file)
    # UTF-8 text with lines in a legacy encoding: those lines (1-based) and the codec that read them.
    repaired_lines: tuple[int, ...] = ()
    repaired_with: str | None = None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM: ASCII-range text leaves a NUL in every other byte."""
    if len(sample) < 16:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.9 * half and even_nuls < 0.1 * half:
        return "utf-16-le"
    if even_nuls > 0.9 * half and odd_nuls < 0.1 * half:
        return "utf-16-be"
    return None


def _mostly_ascii_letters(text: str) -> bool:
    letters = sum(1 for ch in text if ch.isalpha())
    if letters == 0:
        return True
    ascii_letters = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    # 0.6: an English text with a few accented names is far above it; Cyrillic or Greek bytes read
    # as cp1252 come out as mostly non-ASCII letters, far below it.
    return ascii_letters >= 0.6 * letters


def decode_bytes(data: bytes) -> Decoded:
    """Decode text bytes: BOM, else UTF-8, else a legacy 8-bit encoding; None for binary data.

    Order and why: a BOM is authoritative. Strict UTF-8 is tried next because it almost never
    succeeds on non-UTF-8 text and is the fast path (no detection cost) for the bulk of input.
    Then cp1252: for English news in a Western legacy encoding (the expected case) it is right
    more often than a statistical guess on a short text (charset-normalizer may pick cp1250 or
    mac_roman for a handful of accented letters); it is a superset of latin-1's printable range.
    Only when cp1252 fails or yields mostly non-ASCII letters is charset-normalizer asked.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            if text.count("\ufffd") > max(8, len(text) // 20):
                return Decoded(None, encoding, f"bytes after the {encoding} byte-order mark do not decode")
            return Decoded(text, encoding)
    sample = data[:_SAMPLE]
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return Decoded(data.decode(utf16, errors="replace"), utf16)
    nul_count = sample.count(0)
    if nul_count:
        if nul_count > 0.3 * len(sample):
            return Decoded(None, None, f"{nul_count} NUL bytes in the first {len(sample)} bytes")
        # A few NULs (padding, a bad copy) in otherwise-text bytes: removed, as the text keeps.
        data = data.replace(b"\x00", b"")
        sample = data[:_SAMPLE]
        if not data:
            return Decoded(None, None, "only NUL bytes")
    controls = sum(sample.count(b) for b in _BINARY_BYTES)
    if controls > max(2, 0.05 * len(sample)):
        return Decoded(None, None, f"{controls} control bytes in the first {len(sample)} bytes")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    mixed = _utf8_with_legacy_lines(data)
    if mixed is not None:
        return mixed
    try:
        text = data.decode("cp1252")
        if _mostly_ascii_letters(text[:_SAMPLE]):
            return Decoded(text, "cp1252")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data[:1_000_000]).best()
    if best is not None:
        try:
            return Decoded(data.decode(best.encoding), best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    # latin-1 maps every byte: the last resort keeps the text readable rather than rejecting it.
    return Decoded(data.decode("latin-1"), "latin-1")


def _legacy_line(line: bytes) -> tuple[str, str]:
    """One line that is not UTF-8: cp1252 (the Western legacy encoding English news comes in),
    else latin-1, which maps every byte."""
    try:
        return line.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return line.decode("latin-1"), "latin-1"


def _utf8_with_legacy_lines(data: bytes) -> Decoded | None:
    """UTF-8 text with a few lines in a legacy encoding (a paragraph pasted from another file),
    decoded line by line; None when no line holds UTF-8 beyond ASCII (then the text is legacy
    as a whole, and decoded as such). Decoding it whole with a legacy codec turned every UTF-8
    character of the other lines into mojibake ("’" -> "â€™"), silently."""
    lines = data.splitlines(keepends=True)
    parts: list[str] = []
    repaired: list[int] = []
    codecs_used: set[str] = set()
    utf8_beyond_ascii = 0  # lines that are UTF-8 with characters beyond ASCII: evidence of UTF-8
    for n, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text, codec = _legacy_line(line)
            repaired.append(n)
            codecs_used.add(codec)
        else:
            utf8_beyond_ascii += not line.isascii()
        parts.append(text)
    # More legacy lines than lines of UTF-8 beyond ASCII is a legacy text in which a few byte pairs
    # happen to be valid UTF-8: decoded whole instead.
    if not repaired or utf8_beyond_ascii < len(repaired):
        return None
    return Decoded("".join(parts), "utf-8", repaired_lines=tuple(repaired), repaired_with="/".join(sorted(codecs_used)))
