"""Text normalization and boilerplate removal, as polars expressions (vectorized over all texts).

``normalize_text`` is the one canonical form every article text is stored in (and hashed in):
no NUL or other C0 control characters except tab and LF, LF line endings only (CRLF/CR and the
other characters str.splitlines() breaks on become LF), no trailing whitespace on a line, at most
one blank line in a row, no leading/trailing whitespace, Unicode NFC. It is idempotent
(property-tested), so re-normalizing stored text never moves an offset.

Why polars and not Python's re: the corpus benchmark holds ~100 MB of text, and polars' Rust regex
engine runs these passes in about a second where per-text Python regexes took ~20 s; it is also
linear-time by construction (no backtracking), which matters on hostile input (a single line of
many MB, long runs of spaces). Boilerplate patterns are therefore written in the Rust regex syntax.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.codebook import load_yaml

BOILERPLATE_FILE = Path(__file__).resolve().parents[2] / "schemas" / "dictionaries" / "boilerplate.yaml"

# Characters that end a line for str.splitlines() but are not LF (VT, FF, FS, GS, RS, NEL, LS, PS).
LINE_BREAKS = "[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
# NUL and other C0 controls except tab/LF/CR, US, DEL, and stray byte-order marks (U+FEFF).
CONTROLS = "[\x00-\x08\x0e-\x1b\x1f\x7f\ufeff]"


def tidy_expr(e: pl.Expr) -> pl.Expr:
    """Trailing whitespace per line, blank-line runs, outer whitespace (also after any removal)."""
    return e.str.replace_all(r"[^\S\n]+(\n|\z)", "${1}").str.replace_all(r"\n{3,}", "\n\n").str.strip_chars()


def clean_expr(e: pl.Expr) -> pl.Expr:
    """Line breaks to LF, control characters out (before NFC, so that what they separated can compose)."""
    return e.str.replace_all("\r\n?|" + LINE_BREAKS, "\n").str.replace_all(CONTROLS, "")


def nfc(texts: list[str]) -> list[str]:
    """NFC in Python: unicodedata's quick check makes already-NFC text (nearly all) almost free,
    where polars' str.normalize rewrites every string (measured ~10x slower on the corpus).
    NFC never creates or removes whitespace or line breaks, so it commutes with tidy_expr."""
    return [t if unicodedata.is_normalized("NFC", t) else unicodedata.normalize("NFC", t) for t in texts]


def normalize_texts(texts: pl.Series, boilerplate: Boilerplate | None = None) -> pl.Series:
    """normalize_text over a Series; with ``boilerplate``, its spans are removed before tidying."""
    e = clean_expr(pl.lit(texts))
    if boilerplate is not None:
        e = boilerplate.remove_expr(e)
    out = pl.select(tidy_expr(e)).to_series()
    return pl.Series(texts.name, nfc(out.to_list()), dtype=pl.String)


def normalize_text(text: str) -> str:
    """Canonical stored form of one text (see module docstring)."""
    return normalize_texts(pl.Series([text], dtype=pl.String))[0]


@dataclass(frozen=True)
class BoilerplatePattern:
    id: str
    kind: str  # "line" | "inline"
    regex: str
    case_sensitive: bool = False


class Boilerplate:
    """Compiled boilerplate patterns (whole lines and inline spans) from the YAML dictionary."""

    def __init__(self, patterns: list[BoilerplatePattern]):
        self.patterns = patterns
        line_parts, inline_parts = [], []
        for p in patterns:
            body = f"(?:{p.regex})" if p.case_sensitive else f"(?i:{p.regex})"
            if p.kind == "line":
                line_parts.append(body)
            elif p.kind == "inline":
                inline_parts.append(body)
            else:
                raise ValueError(f"boilerplate pattern {p.id!r}: kind must be 'line' or 'inline', not {p.kind!r}")
            try:
                pl.Series([""]).str.contains(body)
            except Exception as exc:  # polars raises ComputeError for a bad pattern
                raise ValueError(f"boilerplate pattern {p.id!r} is not a valid (Rust) regex: {exc}") from exc
        # One alternation per kind: one pass over the text each, not one per pattern.
        self.line_regex = r"(?m)^[ \t]*(?:" + "|".join(line_parts) + r")[ \t]*(?:\n|\z)" if line_parts else None
        # Spaces before an inline span go with it (the span is usually appended to a sentence).
        self.inline_regex = r"(?m)[ \t]*(?:" + "|".join(inline_parts) + ")" if inline_parts else None

    def remove_expr(self, e: pl.Expr) -> pl.Expr:
        """Remove the spans (no tidying: callers tidy once afterwards)."""
        if self.inline_regex:
            e = e.str.replace_all(self.inline_regex, "")
        if self.line_regex:
            e = e.str.replace_all(self.line_regex, "")
        return e

    def strip(self, text: str) -> str:
        """Remove boilerplate from one text and normalize the result."""
        return normalize_texts(pl.Series([text], dtype=pl.String), self)[0]


def load_boilerplate(path: Path = BOILERPLATE_FILE) -> Boilerplate:
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    return Boilerplate(
        [
            BoilerplatePattern(
                id=str(p["id"]),
                kind=str(p["kind"]),
                regex=str(p["regex"]),
                case_sensitive=bool(p.get("case_sensitive", False)),
            )
            for p in data.get("patterns", [])
        ]
    )


@functools.lru_cache(maxsize=1)
def default_boilerplate() -> Boilerplate:
    return load_boilerplate()
