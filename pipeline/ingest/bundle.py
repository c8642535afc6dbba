"""JSON Lines bundles (.jsonl, .jsonl.gz): one article object per line, read under byte limits.

A .gz is read as a stream and never expanded beyond ``max_bundle_bytes`` (decompressed), so a
gzip bomb costs at most that much reading; a line is never held beyond ``max_line_bytes``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest.decode import decode_bytes

_DRAIN_CHUNK = 1 << 20


@dataclass(frozen=True)
class BundleLine:
    line: int
    record: dict | None  # the parsed object, when it is one
    problem_code: str | None = None  # broken_json | not_an_object | blank_line | too_large
    problem: str | None = None
    detail: str | None = None
    last: int | None = None  # a run of blank lines: its last line (one item for the whole run)


@dataclass(frozen=True)
class BundleStop:
    """Reading stopped before the end of the bundle (limit reached or corrupt data)."""

    line: int  # first line not (fully) read
    code: str  # bundle_too_large | corrupt_bundle
    reason: str
    detail: str


def _parse(lineno: int, raw: bytes) -> BundleLine:
    if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        return BundleLine(lineno, None, "blank_line", "blank line in a bundle (no article)")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        # JSON Lines is UTF-8 by definition, but a legacy-encoded line is still readable text.
        decoded = decode_bytes(raw)
        if decoded.text is None:
            return BundleLine(lineno, None, "broken_json", "line is not text", decoded.problem)
        try:
            obj = json.loads(decoded.text)
        except (ValueError, RecursionError) as exc:
            return BundleLine(lineno, None, "broken_json", "line is not valid JSON", str(exc)[:300])
    except (ValueError, RecursionError) as exc:
        return BundleLine(lineno, None, "broken_json", "line is not valid JSON", f"{type(exc).__name__}: {exc}"[:300])
    if not isinstance(obj, dict):
        return BundleLine(
            lineno,
            None,
            "not_an_object",
            f"line is a JSON {type(obj).__name__}, not an object",
            raw[:120].decode("utf-8", "replace"),
        )
    return BundleLine(lineno, obj)


def read_bundle(path: Path, max_line_bytes: int, max_bundle_bytes: int) -> Iterator[BundleLine | BundleStop]:
    """Yield every line of a bundle (parsed or with its problem), then a BundleStop if cut short."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lineno = 0
    total = 0
    try:
        with opener(path, "rb") as f:
            while True:
                chunk = f.readline(max_line_bytes + 1)
                if not chunk:
                    return
                lineno += 1
                total += len(chunk)
                if chunk == b"\n" and total <= max_bundle_bytes:
                    # A run of blank lines is skipped in bulk (newlines counted in the decompressed
                    # buffer): 25 million of them cost a 24 KB gzip, and one Python step each took
                    # over a minute.
                    first = lineno
                    while total <= max_bundle_bytes:
                        ahead = f.peek(_DRAIN_CHUNK)[:_DRAIN_CHUNK]
                        n = len(ahead) - len(ahead.lstrip(b"\n"))
                        if n == 0:
                            break
                        f.read(n)
                        lineno += n
                        total += n
                    if total <= max_bundle_bytes:
                        yield BundleLine(first, None, "blank_line", "blank line in a bundle (no article)", last=lineno)
                        continue
                    lineno = first  # past the limit within the run: reported below from its start
                if total > max_bundle_bytes:
                    yield BundleStop(
                        lineno,
                        "bundle_too_large",
                        f"bundle expands beyond the limit of {max_bundle_bytes:,} bytes; "
                        f"reading stopped at line {lineno} (this and later lines not read)",
                        f"decompressed bytes read: {total:,}; limit max_bundle_bytes={max_bundle_bytes:,}",
                    )
                    return
                if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                    line_bytes = len(chunk)
                    # Skip to the end of the over-long line without holding it.
                    while not chunk.endswith(b"\n"):
                        chunk = f.readline(_DRAIN_CHUNK)
                        if not chunk:
                            break
                        line_bytes += len(chunk)
                        total += len(chunk)
                        if total > max_bundle_bytes:
                            yield BundleStop(
                                lineno,
                                "bundle_too_large",
                                f"bundle expands beyond the limit of {max_bundle_bytes:,} bytes inside line {lineno}; "
                                "reading stopped (this and later lines not read)",
                                f"decompressed bytes read: {total:,}; limit max_bundle_bytes={max_bundle_bytes:,}",
                            )
                            return
                    yield BundleLine(
                        lineno,
                        None,
                        "too_large",
                        f"line is longer than the limit of {max_line_bytes:,} bytes; skipped",
                        f"line bytes: {line_bytes:,}; limit max_line_bytes={max_line_bytes:,}",
                    )
                    continue
                yield _parse(lineno, chunk)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        yield BundleStop(
            lineno + 1,
            "corrupt_bundle",
            f"bundle is corrupt or truncated; reading stopped at line {lineno + 1} (earlier lines kept)",
            f"{type(exc).__name__}: {exc}; decompressed bytes read: {total:,}"[:300],
        )
