"""What the first lines of an article say: a date line, the headline, the dateline.

All functions read normalized text and never change it: the title line stays inside the stored
text (it is sentence 0 for the extractor).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# "date 2023-12-29 Headline ..." (some scrapers prefix the page's date to the headline line).
_DATE_MARKER = re.compile(r"\A[ \t]*date[ \t]*:?[ \t]+(\d{4})-(\d{2})-(\d{2})\b[ \t]*", re.I)
# Upper-case place, optional ", Country/State", optional "(Agency)", then a dash: "KABUL, AFGHANISTAN –",
# "TEHRAN (PIN) –", "VIENNA (Reuters) --". The first word must be all capitals (3+ letters) so that
# an ordinary sentence with a dash ("Two - ...") is not a dateline.
_PLACE_WORD = r"[A-Z][A-Z.'’]*(?:-[A-Z][A-Z.'’]*)*"  # hyphens only inside a word: "TEHRAN--" is place + dash
_DATELINE = re.compile(
    rf"\A[ \t]*(?P<place>(?=[A-Z][A-Z.'’]{{2}}){_PLACE_WORD}(?:[ ]{_PLACE_WORD}){{0,3}}"
    r"(?:,[ ]?[A-Z][A-Za-z.'’-]*(?:[ ][A-Z][A-Za-z.'’-]*){0,3})?)"
    r"[ ]*(?:\([^()\n]{1,40}\)[ ]*)?(?:–|—|--?)[ \t]+(?=\S)"
)
_SENTENCE_END = ".;,:"
_TRAILING_QUOTES = "\"'”’»)]"
MAX_TITLE_CHARS = 150  # longer first lines are ledes or captions (measured on the Tehran Times corpus)
MAX_TITLE_WORDS = 30


@dataclass(frozen=True)
class Structure:
    title: str | None
    title_span: tuple[int, int] | None  # offsets of the title in the text
    date_marker: dt.date | None  # from a leading "date YYYY-MM-DD" line
    dateline: str | None
    body_start: int  # offset of the first line after the title (or of the text)


def date_marker(first_line: str) -> tuple[dt.date | None, int]:
    """A leading 'date YYYY-MM-DD' marker: (its date or None if invalid, characters it spans)."""
    m = _DATE_MARKER.match(first_line)
    if not m:
        return None, 0
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), m.end()
    except ValueError:
        return None, m.end()


def reads_as_headline(line: str) -> bool:
    """Short, at least two words, starts with a letter/digit/quote and has no final period."""
    line = line.strip()
    if not line or len(line) > MAX_TITLE_CHARS:
        return False
    words = line.split()
    if len(words) < 2 or len(words) > MAX_TITLE_WORDS:
        return False
    if not (line[0].isalnum() or line[0] in "\"'“‘«"):
        return False
    end = line.rstrip(_TRAILING_QUOTES)
    return bool(end) and end[-1] not in _SENTENCE_END and not _DATELINE.match(line)


def find_dateline(line: str) -> str | None:
    m = _DATELINE.match(line)
    return m.group("place").strip() if m else None


def analyze(text: str) -> Structure:
    """Title, date marker and dateline of a normalized text."""
    first_end = text.find("\n")
    first_end = len(text) if first_end < 0 else first_end
    first_line = text[:first_end]
    marker_date, marker_len = date_marker(first_line)
    title = None
    title_span = None
    body_start = 0
    candidate = first_line[marker_len:]
    # Normalized text has no trailing whitespace, so anything after the first line break is a body
    # (checked without copying the rest of the text).
    has_body = first_end < len(text)
    if has_body and reads_as_headline(candidate):
        lead = len(candidate) - len(candidate.lstrip())
        title = candidate.strip()
        title_span = (marker_len + lead, marker_len + lead + len(title))
        body_start = first_end + 1
    elif marker_len:
        # A date line without a headline: the body starts after the marker on the same line, or on
        # the next line when the marker is alone.
        body_start = marker_len if candidate.strip() else first_end + 1
    # The dateline opens the body: skip blank lines between title and body.
    while body_start < len(text) and text[body_start] == "\n":
        body_start += 1
    body_end = text.find("\n", body_start)
    body_line = text[body_start : body_end if body_end >= 0 else len(text)]
    return Structure(title, title_span, marker_date, find_dateline(body_line), body_start)
