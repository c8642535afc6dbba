"""Resolving date expressions to intervals with precision and basis, and dating an event.

``resolve_expression(expression, published_at, published_after, tense=)``: the interval one
expression denotes; ``date_for_event(sentence, trigger_span, published_at, published_after,
is_lead=, tense=)``: the interval, precision and basis of the event whose trigger sits at
``trigger_span`` (the expression ``choose_expression`` picks, resolved; else a fallback).

Decisions where the codebook is silent (each one is in the code where it applies):
- "recently", "lately", "in recent weeks": [publication - 60 days, publication], precision
  "month"; "in recent days": 14 days, "week"; "in recent months"/"years": 180/730 days, "year".
- Week precision is the calendar week Monday..Sunday ("last week", "N weeks ago"), except the
  publication fallback, which is [publication - 7 days, publication] as the brief specifies.
- A relative expression that contradicts the tense (a past-tense act dated after publication,
  e.g. "In September this year, X announced" in an article published in August) means the text
  was written at another time than the publication date says; the stated date cannot be trusted,
  so the answer is precision unknown bounded by publication (basis relative).
- Without a publication date an expression that needs one keeps its basis, gets precision
  unknown, and is bounded below by resolving it against ``published_after`` (resolution is
  monotone in the publication date, so that is the earliest it can be). A weekday with a day and
  month ("on Wednesday, August 21") is no exception: the year it fits after the bound is a guess
  (issue 16), so it is bounded like the day and month alone.
- A past or perfect act is never dated after publication, nor after ``not_after`` (when the input
  was collected): an explicit date wholly after it contradicts the tense or the collection date,
  so the answer is precision unknown bounded by it; a unit holding it is cut there.
- An undated past/perfect/unknown-tense act with an unknown publication date is unbounded
  ([None, None]): the lower bound on publication says nothing about when a reported past act
  happened. Present and future acts are bounded below by ``published_after``.
- An expression whose year comes from publication is cut at publication on the side the tense
  rules out ("this month" in a past sentence ends at publication). Present and unknown tense
  take the occurrence nearest publication for a day and month or a bare month, and the most
  recent one for a weekday ("on Friday").
- A done or ongoing act is not dated by an expression that an infinitive, a modal or a condition
  between them puts on something else ("signed a deal to build a plant in 2025": the signing is
  not dated 2025); the act is then dated as if the sentence had no date.
- The date of an act is the nearest non-state expression in the trigger's clause (clauses split
  at ; : dashes and ", and/but/while..."; ", which/who ..." opens a nested clause closed by the
  next comma); else an expression fronted at the start of the sentence, unless a strong
  boundary intervenes. "X did Y, officials said on Friday" dates Y by the Friday.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from pipeline.text.dates.expressions import (
    _COUNT_WORDS,
    _WEEKDAY_NUMBERS,
    DateExpression,
    _analyse,
    _to_int_day,
    _to_int_month,
)


@dataclass(frozen=True)
class DateInterval:
    start: dt.date | None
    end: dt.date | None
    precision: str  # day | week | month | year | unknown
    basis: str  # explicit | relative | publication | none
    text: str | None = None  # the expression as written
    span: tuple[int, int] | None = None  # offsets of the expression in the searched text


TENSES = ("past", "present", "perfect", "future", "unknown")


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic.


def _month_interval(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _year_interval(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _week_interval(day: dt.date) -> tuple[dt.date, dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _direction(tense: str) -> int:
    """-1: the act is at or before publication; +1: at or after; 0: nearest either way."""
    if tense in ("past", "perfect"):
        return -1
    if tense == "future":
        return 1
    return 0


def _day_month_year_from(pub: dt.date, month: int, day: int, direction: int) -> dt.date:
    """Year of a day and month stated without one: nearest occurrence to publication in the
    tense's direction (not after it for past, not before it for future, nearest for present)."""
    before = next(d for y in range(pub.year, pub.year - 9, -1) if (d := _safe_date(y, month, day)) and d <= pub)
    after = next(d for y in range(pub.year, pub.year + 9) if (d := _safe_date(y, month, day)) and d >= pub)
    if direction < 0:
        return before
    if direction > 0:
        return after
    return before if (pub - before) <= (after - pub) else after


def weekday_year(month: int, day: int, weekday: int, on_or_after: dt.date) -> dt.date | None:
    """Earliest date with this month and day falling on ``weekday`` (Monday=0) not before
    ``on_or_after``. A given day and month comes back to a weekday within 11 years (40 covers
    29 February across a skipped century leap year)."""
    for year in range(on_or_after.year, on_or_after.year + 41):
        d = _safe_date(year, month, day)
        if d is not None and d >= on_or_after and d.weekday() == weekday:
            return d
    return None


def _weekday_near(pub: dt.date, month: int, day: int, weekday: int, direction: int) -> dt.date:
    """A weekday with a day and month in an article with a known publication date: the year near
    publication that makes the weekday true (publication year and the years either side, nearest
    in the tense's direction first); when none does, the weekday is taken as a slip and the day
    and month are dated as if it were absent."""
    candidates = [
        d for y in (pub.year - 1, pub.year, pub.year + 1) if (d := _safe_date(y, month, day)) and d.weekday() == weekday
    ]
    if direction < 0:
        candidates = [d for d in candidates if d <= pub] or candidates
    elif direction > 0:
        candidates = [d for d in candidates if d >= pub] or candidates
    if candidates:
        return min(candidates, key=lambda d: abs((d - pub).days))
    return _day_month_year_from(pub, month, day, direction)


def _recent_weekday(pub: dt.date, weekday: int, *, strictly: bool) -> dt.date:
    back = (pub.weekday() - weekday) % 7
    if strictly and back == 0:
        back = 7
    return pub - dt.timedelta(days=back)


def _next_weekday(pub: dt.date, weekday: int, *, strictly: bool) -> dt.date:
    ahead = (weekday - pub.weekday()) % 7
    if strictly and ahead == 0:
        ahead = 7
    return pub + dt.timedelta(days=ahead)


def _count(word: str) -> tuple[int, int]:
    if word.isdigit():
        return int(word), int(word)
    return _COUNT_WORDS[re.sub(r"\s+", " ", word.lower())]


_COARSER = {"day": "week", "week": "month", "month": "year", "year": "year"}
_RECENT = {
    None: (60, "month"),
    "weeks": (60, "month"),
    "days": (14, "week"),
    "months": (180, "year"),
    "years": (730, "year"),
}
_NEEDS_PUBLICATION = {"dm", "md", "rm", "bm", "mry", "ago", "edge", "lt", "dw", "wr", "rc"}
_EXPLICIT_KINDS = {"iso", "dmy", "mdy", "dm", "md", "my", "bm", "yr"}


def _resolve_known(e: DateExpression, pub: dt.date | None, direction: int) -> tuple[dt.date, dt.date, str]:
    """(start, end, precision) of an expression; ``pub`` may be None only for fully explicit kinds."""
    f = dict(e.fields)
    k = e.kind
    if k == "iso":
        d = dt.date(int(f["y"]), int(f["m"]), int(f["d"]))
        return d, d, "day"
    if k in ("dmy", "mdy"):
        d = dt.date(int(f["y"]), _to_int_month(f["m"]), _to_int_day(f["d"]))
        return d, d, "day"
    if k == "my":
        return (*_month_interval(int(f["y"]), _to_int_month(f["m"])), "month")
    if k == "yr":
        return (*_year_interval(int(f["y"])), "year")
    assert pub is not None
    if k in ("dm", "md"):
        month, day = _to_int_month(f["m"]), _to_int_day(f["d"])
        if "w" in f:
            d = _weekday_near(pub, month, day, _WEEKDAY_NUMBERS[f["w"].rstrip(".").lower()], direction)
        else:
            d = _day_month_year_from(pub, month, day, direction)
        return d, d, "day"
    if k in ("bm", "rm", "mry"):
        month = _to_int_month(f["m"])
        rel = f.get("r", "").lower()
        if k == "mry":
            year = pub.year + {"this": 0, "last": -1, "next": 1}[rel]
        elif rel == "this":
            year = pub.year
        else:
            latest_not_after = pub.year if month <= pub.month else pub.year - 1
            earliest_not_before = pub.year if month >= pub.month else pub.year + 1
            if rel == "last":  # the most recent such month strictly before publication's month
                year = pub.year if month < pub.month else pub.year - 1
            elif rel == "next":
                year = pub.year if month > pub.month else pub.year + 1
            elif direction < 0:
                year = latest_not_after
            elif direction > 0:
                year = earliest_not_before
            else:
                back = (pub.month - month) % 12
                year = latest_not_after if back <= 6 else earliest_not_before
        return (*_month_interval(year, month), "month")
    if k == "ago":
        lo, hi = _count(f["n"])
        unit = f["u"].lower()
        if unit == "day":
            start, end = pub - dt.timedelta(days=hi), pub - dt.timedelta(days=lo)
        elif unit == "week":
            start = _week_interval(pub - dt.timedelta(weeks=hi))[0]
            end = _week_interval(pub - dt.timedelta(weeks=lo))[1]
        elif unit == "month":
            start = _month_interval(*_shift_month(pub.year, pub.month, -hi))[0]
            end = _month_interval(*_shift_month(pub.year, pub.month, -lo))[1]
        else:
            start, end = dt.date(pub.year - hi, 1, 1), dt.date(pub.year - lo, 12, 31)
        return start, end, unit if lo == hi else _COARSER[unit]
    if k in ("lt", "edge"):
        unit = f["u"].lower()
        rel = f["r"].lower()
        if unit == "week":
            span = _week_interval(pub + dt.timedelta(weeks={"last": -1, "next": 1}.get(rel, 0)))
        elif unit == "month":
            span = _month_interval(*_shift_month(pub.year, pub.month, {"last": -1, "next": 1}.get(rel, 0)))
        else:
            span = _year_interval(pub.year + {"last": -1, "next": 1}.get(rel, 0))
        start, end = span
        # The current unit is cut at publication on the side the words or the tense rule out.
        if rel == "earlier" or (rel == "this" and direction < 0):
            end = min(end, pub)
        if rel == "later" or (rel == "this" and direction > 0):
            start = max(start, pub)
        return start, end, unit
    if k == "dw":
        words = re.sub(r"\s+", " ", f["w"].lower())
        if words.endswith("day before yesterday"):
            d = pub - dt.timedelta(days=2)
        elif words in ("yesterday", "last night"):
            d = pub - dt.timedelta(days=1)
        elif words == "tomorrow":
            d = pub + dt.timedelta(days=1)
        else:
            d = pub
        return d, d, "day"
    if k == "wr":
        weekday = _WEEKDAY_NUMBERS[f["d"].lower()]
        rel = re.sub(r"\s+", " ", f.get("r", "").lower())
        if rel in ("last", "this past"):
            d = _recent_weekday(pub, weekday, strictly=True)
        elif rel in ("next", "this coming"):
            d = _next_weekday(pub, weekday, strictly=True)
        elif direction > 0:
            d = _next_weekday(pub, weekday, strictly=False)
        else:
            d = _recent_weekday(pub, weekday, strictly=False)
        return d, d, "day"
    if k == "rc":
        days, precision = _RECENT[f["u"].lower() if "u" in f else None]
        return pub - dt.timedelta(days=days), pub, precision
    raise ValueError(f"unknown expression kind {k!r}")


def resolve_expression(
    expression: DateExpression,
    published_at: dt.date | None,
    published_after: dt.date | None = None,
    *,
    tense: str = "unknown",
    not_after: dt.date | None = None,
) -> DateInterval:
    """The interval an expression denotes, read from an article published at ``published_at``
    (``not_after``: when the article was collected, if known)."""
    found = _resolve(expression, published_at, published_after, tense)
    return _not_after(found, _limit(published_at, not_after), tense)


def _limit(published_at: dt.date | None, not_after: dt.date | None) -> dt.date | None:
    """The latest date a past act of the article can have: its publication or collection date."""
    known = [d for d in (published_at, not_after) if d is not None]
    return min(known) if known else None


def _not_after(found: DateInterval, limit: dt.date | None, tense: str) -> DateInterval:
    """A past or perfect act ends by ``limit``; one that starts after it contradicts it (unknown)."""
    if limit is None or _direction(tense) >= 0:
        return found
    if found.start is not None and found.start > limit:
        return DateInterval(None, limit, "unknown", found.basis, found.text, found.span)
    if found.end is None or found.end > limit:
        return dataclasses.replace(found, end=limit)
    return found


def _resolve(
    expression: DateExpression, published_at: dt.date | None, published_after: dt.date | None, tense: str
) -> DateInterval:
    basis = "explicit" if expression.kind in _EXPLICIT_KINDS else "relative"
    direction = _direction(tense)
    text, span = expression.text, expression.span
    if expression.kind in _NEEDS_PUBLICATION and published_at is None:
        if published_after is None:
            return DateInterval(None, None, "unknown", basis, text, span)
        # A lower bound only; a weekday does not fix the year (it would be a guess), so it is
        # bounded as the day and month alone, which is monotone in the publication date.
        bare = DateExpression(
            text, span, expression.kind, expression.is_state, tuple((k, v) for k, v in expression.fields if k != "w")
        )
        start = _resolve_known(bare, published_after, direction)[0]
        return DateInterval(start, None, "unknown", basis, text, span)
    start, end, precision = _resolve_known(expression, published_at, direction)
    if expression.kind in _NEEDS_PUBLICATION and published_at is not None:
        # A past act is not after publication, a future one not before it: a unit holding the
        # publication date is cut there; one wholly on the wrong side contradicts the tense. (A
        # stated day of a past act wholly after publication is made unknown by _not_after.)
        if direction < 0:
            if start > published_at:
                if basis == "relative":
                    return DateInterval(None, published_at, "unknown", basis, text, span)
            else:
                end = min(end, published_at)
        elif direction > 0:
            if end < published_at:
                if basis == "relative":
                    return DateInterval(published_at, None, "unknown", basis, text, span)
            else:
                start = max(start, published_at)
    return DateInterval(start, end, precision, basis, text, span)


# ---------------------------------------------------------------------------------------------
# Which expression dates the event.


def _clause_of(position: int, starts: tuple[int, ...], ids: tuple[int, ...]) -> int:
    return ids[bisect.bisect_right(starts, position) - 1]


_FRONTED_PREFIX = re.compile(r"""^[\s"'“‘(«]*(?:(?i:and|but|so|then|also)\s*,?\s+)?$""")


_WHEN_CLAUSE = re.compile(r",?\s+when\s+")
_LABEL_BEFORE = re.compile(r"(?i:\b(?:date|dated|published|posted|updated)\s*(?:on\s*)?[:\-–]?\s*)$")


def _is_publication_label(sentence: str, start: int) -> bool:
    """A "date 2023-12-29" / "Published: ..." label dates the article, not the act."""
    return _LABEL_BEFORE.search(sentence, max(0, start - 24), start) is not None


def choose_expression(sentence: str, trigger_span: tuple[int, int]) -> DateExpression | None:
    """The expression that dates the act at ``trigger_span``: the nearest one in the trigger's
    clause that is not a state phrase; else one fronted at the start of the sentence ("Last year,
    X signed ... and Y opened ...") when no semicolon, colon or dash separates it from the
    trigger; else none."""
    expressions, starts, ids, strong = _analyse(sentence)
    if not expressions:
        return None
    t0, t1 = trigger_span
    for e in expressions:
        # "Since 2021, when the Taliban seized power, ...": a when-clause dates its act by the
        # expression it hangs on, even a state phrase (the since-date is when the act happened).
        when = _WHEN_CLAUSE.match(sentence, e.span[1])
        if when and when.end() <= t0 and "," not in sentence[when.end() : t0]:
            return dataclasses.replace(e, is_state=False)
    trigger_clause = _clause_of(t0, starts, ids)
    best, best_key = None, None
    for e in expressions:
        if e.is_state or _is_publication_label(sentence, e.span[0]):
            continue
        s0, s1 = e.span
        if _clause_of(s0, starts, ids) != trigger_clause:
            continue
        gap = max(s0 - t1, t0 - s1, 0)
        key = (gap, s0)
        if best_key is None or key < best_key:
            best, best_key = e, key
    if best is not None:
        return best
    first = next((e for e in expressions if not e.is_state and not _is_publication_label(sentence, e.span[0])), None)
    if first is None or not _FRONTED_PREFIX.match(sentence[: first.span[0]]):
        return None
    lo, hi = sorted((first.span[1], t0))
    if any(lo <= p < hi for p in strong):
        return None
    return first


# Between a done act's trigger and a date: an infinitive ("signed a deal to build a plant in
# 2025", "asking Iran to participate in a meeting in March 2024"), a modal or a condition ("if
# the deal is revived in 2024"). The date then belongs to what is to be done, not to the act.
_ELSEWHERE = re.compile(
    r"\bto\s+(?!(?:the|a|an|his|her|its|their|this|that|these|those|our|my|your)\b)[a-z]{2,}\b"
    r"|(?i:\b(?:will|would|shall|could|might|can|if|whether|unless)\b)|\bmay\b"
)


def _dates_something_else(sentence: str, trigger_span: tuple[int, int], expression: DateExpression) -> bool:
    """Whether the words between a done (or ongoing) act's trigger and the chosen date expression
    put the date on something else (``_ELSEWHERE``). Only the words between them are read: the
    extractor may blank the rest of the sentence."""
    lo, hi = (
        sorted((trigger_span[1], expression.span[0]))
        if expression.span[0] >= trigger_span[1]
        else (
            expression.span[1],
            trigger_span[0],
        )
    )
    return lo < hi and _ELSEWHERE.search(sentence, lo, hi) is not None


def date_for_event(
    sentence: str,
    trigger_span: tuple[int, int],
    published_at: dt.date | None,
    published_after: dt.date | None,
    *,
    is_lead: bool,
    tense: str,
    not_after: dt.date | None = None,
) -> DateInterval:
    """Date of the event whose trigger is at ``trigger_span`` in ``sentence`` (codebook s. 4).

    ``tense`` is one of past, present, perfect, future, unknown; ``is_lead``: the sentence is the
    headline or one of the first sentences, so an undated act is news of the day. ``not_after``:
    when the article was collected (sources.csv's collected_at), if known: a past act is not
    dated after it."""
    if tense not in TENSES:
        raise ValueError(f"tense must be one of {TENSES}, got {tense!r}")
    return _not_after(
        _date_for_event(sentence, trigger_span, published_at, published_after, is_lead, tense),
        _limit(published_at, not_after),
        tense,
    )


def _date_for_event(
    sentence: str,
    trigger_span: tuple[int, int],
    published_at: dt.date | None,
    published_after: dt.date | None,
    is_lead: bool,
    tense: str,
) -> DateInterval:
    expression = choose_expression(sentence, trigger_span)
    if expression is not None and tense != "future" and _dates_something_else(sentence, trigger_span, expression):
        expression = None
    if expression is not None:
        return resolve_expression(expression, published_at, published_after, tense=tense)
    if is_lead and tense != "future":
        if published_at is not None:
            return DateInterval(published_at - dt.timedelta(days=7), published_at, "week", "publication")
        lower = published_after - dt.timedelta(days=7) if published_after is not None else None
        return DateInterval(lower, None, "unknown", "publication")
    if published_at is not None:
        if tense == "future":
            return DateInterval(published_at, None, "unknown", "none")
        return DateInterval(None, published_at, "unknown", "none")
    if tense in ("present", "future"):
        return DateInterval(published_after, None, "unknown", "none")
    return DateInterval(None, None, "unknown", "none")
