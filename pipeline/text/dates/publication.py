"""Publication date from a text alone: a date line or dateline, else the year fixed by a weekday
with a day and month, else unknown with a lower bound (codebook section 4). Only evidence counts:
a date the text states as past, a dated role its wording presupposes; never a planned or future
reference ("through 2025", "Vision 2030", "will be held in 2030"), and never past ``not_after``
(when the input was collected, from sources.csv's collected_at).

Decisions where the codebook is silent:
- A dateline month and day with no year ("KABUL, Aug. 21 (Reuters) -") takes the earliest year
  that puts it on or after the lower bound; that is basis "inferred", since the year is.
- A stated date is evidence of a lower bound only when it names a day or a month (a bare year is
  "an arbitrary year in the text") and its sentence reports something done: a past-tense verb and
  no future, planning or possibility word (will, can, plans, expected, target, vision, if, ...;
  ``_FUTURE_CUE``), and it does not follow a deadline preposition (by, until, through, before,
  after). On the Tehran Times corpus the old rule (latest year stated anywhere) gave 519 articles a
  lower bound after the corpus was crawled.
- With ``not_after``: a stated or inferred date after it, or a lower bound after it, contradicts
  the collection date and is dropped (unknown), never moved.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.text.dates.expressions import (
    _CAPITALISED,
    _DAY,
    _MONTH,
    _WEEKDAY_ANY,
    _WEEKDAY_NUMBERS,
    _YEAR,
    DateExpression,
    _scan,
    _to_int_day,
    _to_int_month,
)
from pipeline.text.dates.resolve import _resolve_known, _safe_date, weekday_year
from pipeline.text.sentences import split_sentences


@dataclass(frozen=True)
class PublicationDate:
    published_at: dt.date | None
    basis: str  # text | inferred | unknown   (metadata is decided by ingest before calling this)
    published_after: dt.date | None  # lower bound when published_at is unknown


# ---------------------------------------------------------------------------------------------
# Publication date from the text.

_HEAD_LINES = 6
_HEAD_CHARS = 1500
# A full date (with a year) as it appears in headers.
_FULL_DATE = re.compile(
    rf"(?:{_WEEKDAY_ANY},?\s+)?(?:"
    rf"(?P<iso_y>(?:19|20)\d\d)(?P<sep>[-/])(?P<iso_m>0[1-9]|1[0-2])(?P=sep)(?P<iso_d>0[1-9]|[12]\d|3[01])(?!\d)"
    rf"|(?P<dmy_d>{_DAY})\s+(?:of\s+)?(?P<dmy_m>{_MONTH}),?\s+(?P<dmy_y>{_YEAR})"
    rf"|(?P<mdy_m>{_MONTH})\s+(?P<mdy_d>{_DAY}),?\s+(?P<mdy_y>{_YEAR}))"
)
_LABEL = re.compile(
    r"(?i:\b(?:date|dated|published|posted|updated|last\s+updated|first\s+published)\b)"
    r"(?:\s+on)?\s*[:\-–]?\s*"
)
# "KABUL, Aug. 21 (Reuters) -", "ASTANA, Kazakhstan, 21 August 2024 -": a place in capitals, a date,
# an optional agency in brackets and a dash.
_DATELINE = re.compile(
    rf"^\W*[A-Z][A-Z.'’ -]{{1,40}}(?:,\s*[A-Z][A-Za-z.'’ -]{{1,40}})?,\s+"
    rf"(?:{_WEEKDAY_ANY},?\s+)?(?P<date>(?P<dmd_d>{_DAY})\s+(?P<dmd_m>{_MONTH})(?:,?\s+(?P<dmd_y>{_YEAR}))?"
    rf"|(?P<mdd_m>{_MONTH})\s+(?P<mdd_d>{_DAY})(?:,?\s+(?P<mdd_y>{_YEAR}))?)"
    r"\s*(?:\([^)]{1,40}\))?\s*[-–—:]"
)
_SHORT_LINE = 80  # a header or byline line, not a sentence of the story
_LABEL_LEAD = 40  # a date label starts its line, after at most a byline ("By A. Writer | Published ...")
_EVENT_PREPOSITION_BEFORE = re.compile(r"(?i:\b(?:on|in|since|until|by|from|of|before|after|during)\s+)$")


def _full_date(m: re.Match) -> dt.date | None:
    if m.group("iso_y"):
        return _safe_date(int(m.group("iso_y")), int(m.group("iso_m")), int(m.group("iso_d")))
    if m.group("dmy_y"):
        return _safe_date(int(m.group("dmy_y")), _to_int_month(m.group("dmy_m")), _to_int_day(m.group("dmy_d")))
    return _safe_date(int(m.group("mdy_y")), _to_int_month(m.group("mdy_m")), _to_int_day(m.group("mdy_d")))


def _stated_lower_bound(expressions: Iterable[DateExpression]) -> dt.date | None:
    """The latest date the text itself states as past (a month counts as its 1st); expressions come
    from ``_past_expressions_around``. A bare year is not evidence (issue 16: no lower bound from an
    arbitrary year in the text; "in 2024" is as often a forecast as a report), nor are relative
    expressions (they need the date being looked for) or dates after a deadline preposition ("by
    2025", "until 2030", "after 2025")."""
    latest = None
    for e in expressions:
        if e.kind not in ("iso", "dmy", "mdy", "my") or _deadline(e):
            continue
        start = _resolve_known(e, None, 0)[0]
        if latest is None or start > latest:
            latest = start
    return latest


# Words that make a sentence's dates planned, possible or projected rather than past. Checked in
# the sentence around a date, case-insensitively except "may" (the month). Measured on the Tehran
# Times corpus: these and the past-verb test below took the articles with a lower bound after the
# 2023-07-08 crawl from 519 to 0 (opinion pieces name "2024", "after 2025", "in 2050" freely).
_FUTURE_CUE = re.compile(
    r"(?i:\b(?:will|would|shall|can|could|might|should|must|going\s+to|plans?|planned|planning|schedul\w*"
    r"|expect\w*|aims?|aimed|aiming|targets?|targeted|vision|horizon|forecasts?|projected|projections?"
    r"|predict\w*|goals?|intends?|intended|upcoming|next|to\s+be\s+held|deadline|envisag\w*|hopes?|hoped"
    r"|set\s+to|likely|chance|possib\w*|prospects?|if|whether|imagine\w*|invit\w*|supposed|needs?|seeks?"
    r"|wants?|expires?|begins|ends|starts|opens|runs|takes\s+effect)\b"
    r"|[’']ll\b)|\bmay\b"
)
# An infinitive before the date in its sentence ("secured the right to expand ... in January 2031",
# "asking Iran to participate in March 2024"): the date is of what is to be done.
_INFINITIVE = re.compile(
    r"\bto\s+(?!(?:the|a|an|his|her|its|their|this|that|these|those|our|my|your|be\s+\w+ed)\b)[a-z]{2,}\b"
)
# A deadline a few words before the date ("by the calendar year 1404 (March 2025 - March 2026)",
# "until the end of May 2025"; not the agent of a passive, "signed by the ministers"), or a
# period's end right before it ("from March 2015 to March 2025").
_DEADLINE_BEFORE = re.compile(
    r"(?i:(?:(?<![a-z]ed )\bby|\buntil|\btill|\bthrough|\bbefore|\bafter|\bbeyond)\b(?:\W+\w+){0,5}\W*"
    r"|\bto\W*)$"
)
# A past-tense verb in the sentence: a stated date there is a report of something done.
_PAST_VERB = re.compile(
    r"\b(?:was|were|had|did|said|met|made|took|gave|went|came|held|told|began|won|lost|left|sent|saw"
    r"|became|brought|paid|led|fell|rose|grew|sold|bought|built|kept|spoke|wrote|ran|stood|struck|fought"
    r"|broke|chose|drew|flew|knew|thought|found|felt|heard|[a-z]{2,}ed)\b"
)
_DEADLINE_WORD = re.compile(r"(?i:^(?:by|until|till|through|throughout|before|prior\s+to|after|beyond)\b)")
_CONTEXT = 300  # characters either side of a date searched for its sentence


def _deadline(e: DateExpression) -> bool:
    return _DEADLINE_WORD.match(e.text) is not None


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence holding text[start:end] (text/sentences.py on a window around it)."""
    lo, hi = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
    for s0, s1 in split_sentences(text[lo:hi]):
        if s0 <= start - lo < s1:
            return lo + s0, lo + max(s1, end - lo)
    return start, end


def _future_context(text: str, start: int, end: int) -> bool:
    """Whether the sentence holding text[start:end] reads as planned, possible or future."""
    lo, hi = _sentence_around(text, start, end)
    return _FUTURE_CUE.search(text, lo, hi) is not None


def _past_context(text: str, start: int, end: int) -> bool:
    """Whether the sentence holding text[start:end] reports something done on that date: a
    past-tense verb, no future, planning or possibility word (``_FUTURE_CUE``), no infinitive
    before the date and no deadline word in the few words before it."""
    lo, hi = _sentence_around(text, start, end)
    return (
        _FUTURE_CUE.search(text, lo, hi) is None
        and _PAST_VERB.search(text, lo, hi) is not None
        and _INFINITIVE.search(text, lo, start) is None
        and _DEADLINE_BEFORE.search(text[max(lo, start - 60) : start]) is None
    )


# Only stated dates (they hold a four-digit year) and weekday dates matter for inference, so the
# full scan runs on short windows around those tokens, newest year first, instead of the anchor
# scan over every word. Finding the tokens is the costly part in Python's re (~4 s for the 33k
# corpus), so ingest finds the year tokens for all articles in one polars (Rust regex) call
# (YEAR_TOKEN_PATTERN, ~0.03 s) and passes them in; windows are then cut with str.find.
YEAR_TOKEN_PATTERN = r"\b(?:1[6-9]|20)\d\d\b"
WEEKDAY_TOKEN_PATTERN = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_YEAR_TOKEN = re.compile(YEAR_TOKEN_PATTERN)
_WEEKDAY_TOKEN = re.compile(WEEKDAY_TOKEN_PATTERN)
_WINDOW = 48


def _past_expressions_around(text: str, token: str) -> list[DateExpression]:
    """Date expressions in windows around each occurrence of ``token`` whose sentence reports
    something done (``_past_context``)."""
    out, at = [], text.find(token)
    while at >= 0:
        lo = max(0, at - _WINDOW)
        window = text[lo : at + len(token) + _WINDOW]
        for e in _scan(window):
            if e.kind in ("iso", "dmy", "mdy", "my") and _past_context(text, lo + e.span[0], lo + e.span[1]):
                out.append(e)
        at = text.find(token, at + len(token))
    return out


def _scan_for_inference(text: str, years: Sequence[str] | None, has_weekday: bool | None) -> list[DateExpression]:
    """Expressions around weekday names, and around the latest year the text states as past (the
    next latest when a year token is not a past date, e.g. "Vision 2030", "will open in 2030").
    Expressions in planned or future sentences are left out."""
    found: list[DateExpression] = []
    if has_weekday is None or has_weekday:
        for m in _WEEKDAY_TOKEN.finditer(text):
            lo = max(0, m.start() - _WINDOW)
            window = text[lo : m.end() + _WINDOW]
            # Only "Wednesday, August 21"-like windows can fix a year: they need a month and a digit.
            if _CAPITALISED.search(window, m.end() - m.start() + min(m.start(), _WINDOW)) and any(
                c.isdigit() for c in window
            ):
                found.extend(e for e in _scan(window) if not _future_context(text, lo + e.span[0], lo + e.span[1]))
    for year in sorted(set(_YEAR_TOKEN.findall(text) if years is None else years), reverse=True):
        stated = _past_expressions_around(text, year)
        found.extend(stated)
        if _stated_lower_bound(stated) is not None:
            break
    return found


def infer_publication_date(
    text: str,
    hints: Iterable[dt.date] = (),
    *,
    years: Sequence[str] | None = None,
    has_weekday: bool | None = None,
    not_after: dt.date | None = None,
) -> PublicationDate:
    """Publication date from the text alone (codebook s. 4), never from clocks or file times.

    1. basis "text": a labelled date line ("date 2023-12-29", "Published 21 August 2024"), a
       dateline with a year, or a short header line holding a full date, in the first lines;
    2. basis "inferred": a weekday with a day and month ("Wednesday, August 21") anywhere in the
       text: the earliest such date on or after the lower bound, when it is less than five years
       after it; or a dateline without a year, the earliest such date on or after the lower bound;
    3. else unknown, with ``published_after`` = the lower bound.
    The lower bound is the latest of the dates the text states and ``hints`` (dates the caller
    knows the text presupposes, e.g. the start of an actor's dated role). ``years`` (the text's
    YEAR_TOKEN_PATTERN matches) and ``has_weekday`` may be passed when computed in bulk.
    ``not_after`` (the input's collection date) caps everything: see :func:`cap_publication`."""
    return cap_publication(_infer(text, hints, years, has_weekday), not_after)


WEEKDAY_WINDOW_YEARS = 5


def _years_after(d: dt.date, years: int) -> dt.date:
    return _safe_date(d.year + years, d.month, d.day) or dt.date(d.year + years, d.month, d.day - 1)


def cap_publication(found: PublicationDate, not_after: dt.date | None) -> PublicationDate:
    """A publication date inferred without a collection date, made consistent with one: a date
    after ``not_after`` contradicts it and becomes unknown, a lower bound after it is dropped.
    (Inference never depends on ``not_after`` otherwise, so ingest caches it by text alone.)"""
    if not_after is None:
        return found
    if found.published_at is not None and found.published_at > not_after:
        return PublicationDate(None, "unknown", None)
    if found.published_after is not None and found.published_after > not_after:
        return PublicationDate(found.published_at, found.basis, None)
    return found


def _infer(text: str, hints: Iterable[dt.date], years: Sequence[str] | None, has_weekday: bool | None):
    expressions = _scan_for_inference(text, years, has_weekday)
    bounds = [b for b in (_stated_lower_bound(expressions), *hints) if b is not None]
    lower = max(bounds) if bounds else None
    head_lines = [line for line in text[:_HEAD_CHARS].splitlines() if line.strip()][:_HEAD_LINES]
    # The dateline opens the story: the first line, or the second after a headline.
    dateline = next((m for line in head_lines[:2] if (m := _DATELINE.match(line))), None)
    stated = _stated_date(head_lines, dateline, lower)
    if stated is not None:
        return PublicationDate(stated, "text", None)
    if lower is not None:
        for e in expressions:
            weekday = e.field("w")
            if e.kind in ("dm", "md") and weekday:
                d = weekday_year(
                    _to_int_month(e.field("m")),
                    _to_int_day(e.field("d")),
                    _WEEKDAY_NUMBERS[weekday.rstrip(".").lower()],
                    lower,
                )
                # Within five years after the lower bound a day, month and weekday fall together
                # at most once (their cycle is 5, 6 or 11 years): that match is the year the text
                # fixes. Later, an earlier cycle was skipped and the year is a guess (on the Tehran
                # Times corpus such matches landed in 2029 and 2030).
                if d is not None and d < _years_after(lower, WEEKDAY_WINDOW_YEARS):
                    return PublicationDate(d, "inferred", None)
        if dateline:
            month = _to_int_month(dateline.group("dmd_m") or dateline.group("mdd_m"))
            day = _to_int_day(dateline.group("dmd_d") or dateline.group("mdd_d"))
            d = next(d for y in range(lower.year, lower.year + 9) if (d := _safe_date(y, month, day)) and d >= lower)
            return PublicationDate(d, "inferred", None)
    return PublicationDate(None, "unknown", lower)


def _stated_date(head_lines: list[str], dateline: re.Match | None, lower: dt.date | None) -> dt.date | None:
    """The publication date the text's header (its first lines, and the dateline found in them)
    states, if any: a labelled date line ("date
    2023-12-29", "Published 21 August 2024"), a dateline with a year, or a short header line
    holding a full date. A label counts only near the start of its line: in a story's sentence
    "the agreement dated 28 April 1949" dates something else (on the Tehran Times corpus, whose
    texts are one line each, that made articles about 2019 "published" in 1949, 1917 and 1981).
    A date before ``lower`` (what the text states as already done) cannot be the publication
    date, and is not taken."""

    def fits(d: dt.date | None) -> bool:
        return d is not None and (lower is None or d >= lower)

    for line in head_lines:
        label = _LABEL.search(line)
        if label and label.start() <= _LABEL_LEAD:
            m = _FULL_DATE.match(line, label.end())
            if m and fits(d := _full_date(m)):
                return d
    if dateline and (dateline.group("dmd_y") or dateline.group("mdd_y")):
        year = int(dateline.group("dmd_y") or dateline.group("mdd_y"))
        month = _to_int_month(dateline.group("dmd_m") or dateline.group("mdd_m"))
        day = _to_int_day(dateline.group("dmd_d") or dateline.group("mdd_d"))
        if fits(d := _safe_date(year, month, day)):
            return d
    for line in head_lines:
        if len(line.strip()) <= _SHORT_LINE:
            m = _FULL_DATE.search(line)
            # "Taliban seize Kabul on 15 August 2021" is a headline dating an event, not a byline.
            if m and not _EVENT_PREPOSITION_BEFORE.search(line, 0, m.start()) and fits(d := _full_date(m)):
                return d
    return None
