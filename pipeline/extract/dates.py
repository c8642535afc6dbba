"""Date expressions: find, resolve to intervals with precision and basis, infer publication dates.

Codebook section 4. Three entry points:

- ``find_date_expressions(sentence)``: every date expression in a sentence, with its offsets, its
  kind and whether it dates a state ("since 2005", "until March") rather than an act.
- ``date_for_event(sentence, trigger_span, published_at, published_after, is_lead=, tense=)``:
  the interval, precision and basis of the event whose trigger sits at ``trigger_span``.
- ``infer_publication_date(text, hints)``: a date line or dateline, else the year fixed by a
  weekday with a day and month, else unknown with a lower bound.

Why not dateparser: it costs about a millisecond a call (this runs on every trigger sentence of
~34k articles), it returns points rather than intervals with a precision, it silently ignores a
weekday that contradicts the day and month (the weekday is exactly what fixes the year here), and
it resolves relative expressions against the wall clock unless told otherwise. The forms the
codebook needs are a closed set: compiled patterns find them and calendar arithmetic (stdlib
``calendar``/``datetime``) resolves them. The patterns run only where an anchor (a digit, a
capitalised month or weekday, a unit or day word) was found first (see ``_anchors``), which
keeps a call in the tens of microseconds (tests/test_dates.py::test_speed).

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
  monotone in the publication date, so that is the earliest it can be).
- An undated past/perfect/unknown-tense act with an unknown publication date is unbounded
  ([None, None]): the lower bound on publication says nothing about when a reported past act
  happened. Present and future acts are bounded below by ``published_after``.
- An expression whose year comes from publication is cut at publication on the side the tense
  rules out ("this month" in a past sentence ends at publication). Present and unknown tense
  take the occurrence nearest publication for a day and month or a bare month, and the most
  recent one for a weekday ("on Friday").
- The date of an act is the nearest non-state expression in the trigger's clause (clauses split
  at ; : dashes and ", and/but/while..."; ", which/who ..." opens a nested clause closed by the
  next comma); else an expression fronted at the start of the sentence, unless a strong
  boundary intervenes. "X did Y, officials said on Friday" dates Y by the Friday.
- A dateline month and day with no year ("KABUL, Aug. 21 (Reuters) -") takes the earliest year
  that puts it on or after the lower bound; that is basis "inferred", since the year is.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class DateInterval:
    start: dt.date | None
    end: dt.date | None
    precision: str  # day | week | month | year | unknown
    basis: str  # explicit | relative | publication | none
    text: str | None = None  # the expression as written
    span: tuple[int, int] | None = None  # offsets of the expression in the searched text


@dataclass(frozen=True)
class PublicationDate:
    published_at: dt.date | None
    basis: str  # text | inferred | unknown   (metadata is decided by ingest before calling this)
    published_after: dt.date | None  # lower bound when published_at is unknown


@dataclass(frozen=True)
class DateExpression:
    """One date expression as found in a text, not yet resolved."""

    text: str
    span: tuple[int, int]
    kind: str  # see _KINDS
    is_state: bool  # introduced by since/until/from/by/...: dates a state or a deadline, not an act
    fields: tuple[tuple[str, str], ...]  # the named parts as written (year, month, day, weekday, ...)

    def field(self, name: str) -> str | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None


TENSES = ("past", "present", "perfect", "future", "unknown")

# ---------------------------------------------------------------------------------------------
# Vocabulary. Months and weekdays are matched case-sensitively (Title or UPPER case) so that the
# modal "may", the verb "march" or the noun "sun" are not read as dates; the other words accept
# a capital first letter (sentence start) through _words.

_MONTH_NUMBERS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_WEEKDAY_NUMBERS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
# Counts in "N units ago"; a range for the vague ones ("a few days ago" is 2 to 4 days).
_COUNT_WORDS = {
    "a": (1, 1),
    "an": (1, 1),
    "one": (1, 1),
    "two": (2, 2),
    "three": (3, 3),
    "four": (4, 4),
    "five": (5, 5),
    "six": (6, 6),
    "seven": (7, 7),
    "eight": (8, 8),
    "nine": (9, 9),
    "ten": (10, 10),
    "eleven": (11, 11),
    "twelve": (12, 12),
    "a couple of": (2, 2),
    "a few": (2, 4),
    "few": (2, 4),
    "several": (3, 7),
}
# Prepositions that make the dated thing a state, a period or a deadline rather than the act.
_STATE_PREPOSITIONS = {
    "since",
    "until",
    "till",
    "through",
    "throughout",
    "from",
    "by",
    "as of",
    "before",
    "after",
    "prior to",
}


def _case_forms(words: Iterable[str]) -> str:
    forms: list[str] = []
    for word in sorted(words, key=len, reverse=True):  # longest first: "September" before "Sep"
        forms.extend((word.title(), word.upper()))
    return "|".join(forms)


_FULL_MONTHS = [w for w, n in _MONTH_NUMBERS.items() if len(w) > 4 or w == "may"]
_ABBR_MONTHS = [w for w in _MONTH_NUMBERS if w not in _FULL_MONTHS]
_MONTH = rf"(?:(?:{_case_forms(_FULL_MONTHS)})|(?:{_case_forms(_ABBR_MONTHS)})\.?)(?![A-Za-z])"
_FULL_WEEKDAYS = [w for w in _WEEKDAY_NUMBERS if len(w) > 5]
_ABBR_WEEKDAYS = [w for w in _WEEKDAY_NUMBERS if len(w) <= 5]
_WEEKDAY_FULL = rf"(?:{_case_forms(_FULL_WEEKDAYS)})(?![A-Za-z])"
# Abbreviated weekdays only next to a day and month ("Wed, 21 Aug"): alone "Sun" or "Sat" are words.
_WEEKDAY_ANY = rf"(?:(?:{_case_forms(_FULL_WEEKDAYS)})|(?:{_case_forms(_ABBR_WEEKDAYS)})\.?)(?![A-Za-z])"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![\d:])"
_YEAR = r"(?:1[89]\d\d|20\d\d)(?![\d%]|\s?(?:percent|per\s+cent))"


def _words(alternatives: str) -> str:
    """A case-insensitive-first-letter alternation: "last|next" -> "(?:[Ll]ast|[Nn]ext)".

    Why not (?i:...): the regex engine skips an alternative at once when it starts with a literal
    or a character class that does not match, but not when it starts with a case-folding literal;
    with (?i:) every word start paid for every alternative (about 5x slower on news text)."""
    forms = []
    for word in alternatives.split("|"):
        first = word[0]
        forms.append(f"[{first.upper()}{first.lower()}]{word[1:]}" if first.isalpha() else word)
    return "(?:" + "|".join(forms) + ")"


_PREPOSITION_PHRASES = r"in|on|at|during|since|until|till|throughout|through|from|by|as\s+of|before|after|prior\s+to|of"
_MODIFIER_PHRASES = r"early|late|mid|the\s+end\s+of|the\s+beginning\s+of|the\s+start\s+of|the\s+middle\s+of"
_COUNT = _words("|".join(w.replace(" ", r"\s+") for w in sorted(_COUNT_WORDS, key=len, reverse=True)))
_RELATIVE = _words("last|this|next")
_UNIT = r"(?:day|week|month|year)"
_EDGE = _words("earlier|later")
_DAY_WORDS = _words(
    r"the\s+day\s+before\s+yesterday|day\s+before\s+yesterday|yesterday|today|tonight|tomorrow|"
    r"last\s+night|this\s+morning|this\s+afternoon|this\s+evening"
)
_WEEKDAY_RELATIVE = _words(r"this\s+past|this\s+coming|last|this|next")
_IN_OVER = _words(r"in|over")
_RECENT_ADVERBS = _words(r"most\s+recently|recently|lately")

# The expression forms, most specific first. Each is a pattern whose named groups
# "<kind>_<field>" carry its parts; the group named after the kind wraps it (m.lastgroup).
_FORMS = {
    "iso": r"(?P<iso_y>(?:19|20)\d\d)(?P<iso_sep>[-/])(?P<iso_m>0[1-9]"
    r"|1[0-2])(?P=iso_sep)(?P<iso_d>0[1-9]|[12]\d|3[01])(?![\d])",
    "dmy": rf"(?:(?P<dmy_w>{_WEEKDAY_ANY}),?\s+)?(?:the\s+)?(?P<dmy_d>{_DAY})\s+(?:of\s+)?"
    rf"(?P<dmy_m>{_MONTH}),?\s+(?P<dmy_y>{_YEAR})",
    "mdy": rf"(?:(?P<mdy_w>{_WEEKDAY_ANY}),?\s+)?(?P<mdy_m>{_MONTH})\s+(?P<mdy_d>{_DAY}),?\s+(?P<mdy_y>{_YEAR})",
    "dm": rf"(?:(?P<dm_w>{_WEEKDAY_ANY}),?\s+)?(?:[Tt]he\s+)?(?P<dm_d>{_DAY})\s+(?:of\s+)?(?P<dm_m>{_MONTH})",
    "md": rf"(?:(?P<md_w>{_WEEKDAY_ANY}),?\s+)?(?P<md_m>{_MONTH})\s+(?P<md_d>{_DAY})",
    "my": rf"(?P<my_m>{_MONTH}),?\s+(?:of\s+)?(?P<my_y>{_YEAR})",
    "mry": rf"(?P<mry_m>{_MONTH})\s+(?:of\s+)?(?P<mry_r>{_RELATIVE})\s+year(?![\w-])",
    "rm": rf"(?P<rm_r>{_RELATIVE})\s+(?P<rm_m>{_MONTH})",
    "bm": rf"(?P<bm_m>{_MONTH})",
    "yr": rf"(?:[Tt]he\s+year\s+)?(?P<yr_y>{_YEAR})",
    "ago": rf"(?P<ago_n>\d{{1,3}}|{_COUNT})\s+(?P<ago_u>{_UNIT})s?\s+ago(?![\w])",
    "edge": rf"(?P<edge_r>{_EDGE})\s+this\s+(?P<edge_u>{_UNIT})(?![\w-])",
    "lt": rf"(?P<lt_r>{_RELATIVE})\s+(?P<lt_u>{_UNIT})(?![\w-])",
    "dw": rf"(?P<dw_w>{_DAY_WORDS})(?![\w])",
    "wr": rf"(?:(?P<wr_r>{_WEEKDAY_RELATIVE})\s+)?(?P<wr_d>{_WEEKDAY_FULL})",
    "rc": rf"(?:{_IN_OVER}\s+)?(?:the\s+)?[Rr]ecent\s+(?P<rc_u>days|weeks|months|years)(?![\w])"
    rf"|{_RECENT_ADVERBS}(?![\w])",
}
_KINDS = tuple(_FORMS)

# Why anchors: one alternation of all forms tried at every word start cost ~150 us a sentence
# (the regex engine enters each form at each word). Every expression holds an anchor (a digit
# run, a capitalised month or weekday, a unit word, a day word, "recent"/"lately"), found with
# C-speed str.find or a pattern that starts with a character class; only the forms that can hold
# that anchor are then tried, and only at the anchor and the few words before it.
_ANCHOR_FORMS = {
    "digit": ("iso", "dmy", "dm", "yr", "ago"),
    "month": ("mdy", "md", "my", "mry", "rm", "bm"),
    "weekday": ("dmy", "mdy", "dm", "md", "wr"),
    "unit": ("ago", "edge", "lt"),
    "dayword": ("dw",),
    "recent": ("rc",),
}
_ANCHOR_PATTERNS = {
    anchor: re.compile(r"(?<!\w)(?:" + "|".join(f"(?P<{k}>{_FORMS[k]})" for k in kinds) + ")")
    for anchor, kinds in _ANCHOR_FORMS.items()
}
_FIELD_NAMES = {
    kind: [name for name in re.compile(_FORMS[kind]).groupindex if name.startswith(kind + "_") and name != "iso_sep"]
    for kind in _KINDS
}
_ANCHOR_WORDS = {
    "day": "unit",
    "week": "unit",
    "month": "unit",
    "year": "unit",
    "yesterday": "dayword",
    "today": "dayword",
    "tonight": "dayword",
    "tomorrow": "dayword",
    "night": "dayword",
    "morning": "dayword",
    "afternoon": "dayword",
    "evening": "dayword",
    "recent": "recent",
    "lately": "recent",
}
# Words an expression can start with before its anchor ("the 21st", "last September", "a couple
# of weeks ago", "the day before yesterday", "in recent weeks"): only those starts are tried.
_FIRST_WORDS = {
    "digit": frozenset({"the"}),
    "month": frozenset({"last", "this", "next"}),
    "weekday": frozenset({"last", "this", "next"}),
    "unit": frozenset({"last", "this", "next", "earlier", "later", *(w.split()[0] for w in _COUNT_WORDS)}),
    "dayword": frozenset({"the", "day", "last", "this"}),
    "recent": frozenset({"in", "over", "the", "most"}),
}
_DIGITS = re.compile(r"\d+")
# Capitalised words whose first two letters start a month or weekday name; the character class
# first lets the engine skip to capitals, and few words get through to the dictionary check.
_CAPITALISED = re.compile(
    r"(?:J(?:an|un|ul|AN|UN|UL)|F(?:eb|ri|EB|RI)|M(?:ar|ay|on|AR|AY|ON)|A(?:pr|ug|PR|UG)"
    r"|S(?:ep|at|un|EP|AT|UN)|O(?:ct|CT)|N(?:ov|OV)|D(?:ec|EC)|T(?:ue|hu|UE|HU)|W(?:ed|ED))[A-Za-z]*"
)
_WORDS_BACK = 4  # "a couple of weeks ago", "the day before yesterday": at most 4 words before the anchor
_REVERSED_WORD = re.compile(r"\s+[^\W_]+")


def _reversed_alternatives(phrases: str) -> str:
    ordered = sorted(phrases.split("|"), key=len, reverse=True)  # "as of" before "of"
    return "|".join(r"\s+".join(w[::-1] for w in reversed(p.split(r"\s+"))) for p in ordered)


# Preposition and modifier before an expression, read backwards from its start (a match at one
# position of the reversed text instead of a search ending at that start).
_REVERSED_PREFIX = re.compile(
    rf"(?:(?:\s+|-)(?P<mod>{_reversed_alternatives(_MODIFIER_PHRASES)})(?![\w-]))?"
    rf"(?:\s+(?P<prep>{_reversed_alternatives(_PREPOSITION_PHRASES)})(?![\w-]))?"
)  # matched on lower-cased text: a case-folding pattern cannot use the engine's first-letter skip


def _anchors(text: str) -> list[tuple[int, str]]:
    anchors: list[tuple[int, str]] = []
    n = len(text)
    for m in _DIGITS.finditer(text):
        i, j = m.span()
        # Skip amounts: "1,000", "2.5", "$100", "3%" and digit runs no date form has.
        if (
            j - i not in (1, 2, 4)
            or (i > 0 and text[i - 1] in "$.,€£")
            or (j < n and text[j] in ".," and j + 1 < n and text[j + 1].isdigit())
        ):
            continue
        anchors.append((i, "digit"))
    for m in _CAPITALISED.finditer(text):
        word = m.group().lower()
        if word in _MONTH_NUMBERS:
            anchors.append((m.start(), "month"))
        elif word in _WEEKDAY_NUMBERS:
            anchors.append((m.start(), "weekday"))
    lowered = text.lower()
    for word, anchor in _ANCHOR_WORDS.items():
        i = lowered.find(word)
        while i >= 0:
            j = i + len(word)
            if anchor == "unit" and lowered[j : j + 1] == "s":
                j += 1
            elif word == "recent" and lowered[j : j + 2] == "ly":
                j += 2
            if (i == 0 or not lowered[i - 1].isalpha()) and not lowered[j : j + 1].isalpha():
                anchors.append((i, anchor))
            i = lowered.find(word, i + 1)
    anchors.sort()
    return anchors


# "the last year", "the past week": a trailing period (duration), not the calendar unit before.
_DURATION_BEFORE = re.compile(r"(?i:\b(?:the|for|over|past)\s*)$")

# Clause boundaries inside a sentence. Strong ones (semicolon, colon, dash) end a clause for
# every purpose; weak ones (", and", ", but", ...) end it too but a date fronted at the start of
# the sentence still carries across them; relative openers (", which", ", who") open a nested
# clause that the next comma closes.
_BOUNDARY_MARK = re.compile(r"[;:,.\u2013\u2014-]")  # a character class first: the engine skips to candidates
_AFTER_COMMA = re.compile(
    r"\s*(?:(?P<weak>and|but|while|whereas|although|though|because|as|after|before|so|or)"
    r"|(?P<rel>which|who|whom|whose|where|when))\b"
)


def _to_int_month(word: str) -> int:
    return _MONTH_NUMBERS[word.rstrip(".").lower()]


def _to_int_day(word: str) -> int:
    return int(re.match(r"\d+", word).group())


def _scan(text: str) -> list[DateExpression]:
    found: list[DateExpression] = []
    covered = 0  # end of the last expression found: expressions do not overlap
    for anchor_at, anchor in _anchors(text):
        if anchor_at < covered:
            continue
        behind = text[max(covered, anchor_at - 48) : anchor_at][::-1]
        starts, pos = [anchor_at], 0
        first_words = _FIRST_WORDS[anchor]
        for _ in range(_WORDS_BACK):
            w = _REVERSED_WORD.match(behind, pos)
            if w is None:
                break
            pos = w.end()
            word = w.group().strip()[::-1].lower()
            if word in first_words or (anchor == "unit" and word.isdigit()):
                starts.append(anchor_at - pos)
        pattern = _ANCHOR_PATTERNS[anchor]
        for start in reversed(starts):  # earliest first: the longest expression holding the anchor
            m = pattern.match(text, start)
            if m is not None and m.end() > anchor_at:
                expression = _expression(text, m, covered)
                if expression is not None:
                    found.append(expression)
                    covered = m.end()
                break
    return found


def _expression(text: str, m: re.Match, floor: int) -> DateExpression | None:
    kind = m.lastgroup
    start, end = m.span()
    prefix = _REVERSED_PREFIX.match(text[max(floor, start - 40) : start][::-1].lower())
    prep = prefix.group("prep")[::-1] if prefix.group("prep") else None
    mod = prefix.group("mod")[::-1] if prefix.group("mod") else None
    # A bare month or a bare year is a date only after a preposition or modifier ("in
    # September", "since 2005", "late 2023"); otherwise "2005 cases" or a title would count.
    if kind in ("bm", "yr") and prep is None and mod is None and not m.group().lower().startswith("the year"):
        return None
    if (
        kind in ("lt", "wr", "rm")
        and m.group().lower().startswith("last")
        and _DURATION_BEFORE.search(text, max(0, start - 8), start)
    ):
        return None
    fields = tuple((name[len(kind) + 1 :], m.group(name)) for name in _FIELD_NAMES[kind] if m.group(name) is not None)
    if kind in ("iso", "dmy", "mdy", "dm", "md") and not _valid_day(kind, dict(fields)):
        return None
    start -= prefix.end()
    prep_norm = " ".join(prep.split()) if prep else None
    return DateExpression(
        text=text[start:end],
        span=(start, end),
        kind=kind,
        is_state=prep_norm in _STATE_PREPOSITIONS,
        fields=fields,
    )


def _valid_day(kind: str, f: dict[str, str]) -> bool:
    month = int(f["m"]) if kind == "iso" else _to_int_month(f["m"])
    day = int(f["d"]) if kind == "iso" else _to_int_day(f["d"])
    year = int(f["y"]) if "y" in f else 2000  # a leap year: "29 February" alone is valid
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=16384)
def _analyse(sentence: str) -> tuple[tuple[DateExpression, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Expressions, clause segment starts, their clause ids, strong boundary positions."""
    expressions = tuple(_scan(sentence))
    if not expressions:
        return (), (0,), (0,), ()
    starts, ids, strong = [0], [0], []
    stack, next_id = [0], 1
    inside = [e.span for e in expressions]
    for b in _BOUNDARY_MARK.finditer(sentence):
        i = b.start()
        mark = sentence[i]
        if any(lo <= i < hi for lo, hi in inside):  # "Aug. 21", "Wednesday, August 21"
            continue
        before, after = sentence[i - 1 : i], sentence[i + 1 : i + 2]
        if mark == ",":
            m = _AFTER_COMMA.match(sentence, i + 1)
            kind = m.lastgroup if m else "comma"
        elif mark == ".":
            if not after.isspace():
                continue
            kind = "weak"
        elif mark == "-":
            if not (before.isspace() and after.isspace()):
                continue
            kind = "strong"
        elif mark == ":" and before.isdigit() and after.isdigit():  # a time, "10:30"
            continue
        else:
            kind = "strong"
        if kind == "comma":
            if len(stack) == 1:
                continue
            stack.pop()
        elif kind == "rel":
            stack.append(next_id)
            next_id += 1
        else:
            if kind == "strong":
                strong.append(i)
            stack = [next_id]
            next_id += 1
        starts.append(i + 1)
        ids.append(stack[-1])
    return expressions, tuple(starts), tuple(ids), tuple(strong)


def find_date_expressions(sentence: str) -> list[DateExpression]:
    """Every date expression in ``sentence``, left to right, not overlapping."""
    return list(_analyse(sentence)[0])


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
) -> DateInterval:
    """The interval an expression denotes, read from an article published at ``published_at``."""
    basis = "explicit" if expression.kind in _EXPLICIT_KINDS else "relative"
    direction = _direction(tense)
    text, span = expression.text, expression.span
    if expression.kind in _NEEDS_PUBLICATION and published_at is None:
        weekday = expression.field("w")
        if published_after is not None and expression.kind in ("dm", "md") and weekday:
            # Same rule as publication inference: the weekday fixes the year past the bound.
            d = weekday_year(
                _to_int_month(expression.field("m")),
                _to_int_day(expression.field("d")),
                _WEEKDAY_NUMBERS[weekday.rstrip(".").lower()],
                published_after,
            )
            if d is not None:
                return DateInterval(d, d, "day", basis, text, span)
        if published_after is None:
            return DateInterval(None, None, "unknown", basis, text, span)
        start = _resolve_known(expression, published_after, direction)[0]
        return DateInterval(start, None, "unknown", basis, text, span)
    start, end, precision = _resolve_known(expression, published_at, direction)
    if expression.kind in _NEEDS_PUBLICATION and published_at is not None:
        # A past act is not after publication, a future one not before it: a unit holding the
        # publication date is cut there; one wholly on the wrong side contradicts the tense.
        # (A stated day wholly on the wrong side, "on Thursday, July 23" whose weekday fixes a
        # year after publication, is kept as the text states it.)
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


def date_for_event(
    sentence: str,
    trigger_span: tuple[int, int],
    published_at: dt.date | None,
    published_after: dt.date | None,
    *,
    is_lead: bool,
    tense: str,
) -> DateInterval:
    """Date of the event whose trigger is at ``trigger_span`` in ``sentence`` (codebook s. 4).

    ``tense`` is one of past, present, perfect, future, unknown; ``is_lead``: the sentence is the
    headline or one of the first sentences, so an undated act is news of the day."""
    if tense not in TENSES:
        raise ValueError(f"tense must be one of {TENSES}, got {tense!r}")
    expression = choose_expression(sentence, trigger_span)
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
_EVENT_PREPOSITION_BEFORE = re.compile(r"(?i:\b(?:on|in|since|until|by|from|of|before|after|during)\s+)$")


def _full_date(m: re.Match) -> dt.date | None:
    if m.group("iso_y"):
        return _safe_date(int(m.group("iso_y")), int(m.group("iso_m")), int(m.group("iso_d")))
    if m.group("dmy_y"):
        return _safe_date(int(m.group("dmy_y")), _to_int_month(m.group("dmy_m")), _to_int_day(m.group("dmy_d")))
    return _safe_date(int(m.group("mdy_y")), _to_int_month(m.group("mdy_m")), _to_int_day(m.group("mdy_d")))


def _stated_lower_bound(expressions: Iterable[DateExpression]) -> dt.date | None:
    """The latest date the text itself states (a year counts as its 1 January, a month as its
    1st); relative expressions are left out since they need the date being looked for."""
    latest = None
    for e in expressions:
        if e.kind not in ("iso", "dmy", "mdy", "my", "yr"):
            continue
        start = _resolve_known(e, None, 0)[0]
        if latest is None or start > latest:
            latest = start
    return latest


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


def _windows_around(text: str, token: str) -> list[str]:
    out, at = [], text.find(token)
    while at >= 0:
        out.append(text[max(0, at - _WINDOW) : at + len(token) + _WINDOW])
        at = text.find(token, at + len(token))
    return out


def _scan_for_inference(text: str, years: Sequence[str] | None, has_weekday: bool | None) -> list[DateExpression]:
    """Expressions around weekday names, and around the latest stated year (the next latest when a
    year token is not a date, e.g. "Vision 2030")."""
    found: list[DateExpression] = []
    if has_weekday is None or has_weekday:
        for m in _WEEKDAY_TOKEN.finditer(text):
            window = text[max(0, m.start() - _WINDOW) : m.end() + _WINDOW]
            # Only "Wednesday, August 21"-like windows can fix a year: they need a month and a digit.
            if _CAPITALISED.search(window, m.end() - m.start() + min(m.start(), _WINDOW)) and any(
                c.isdigit() for c in window
            ):
                found.extend(_scan(window))
    for year in sorted(set(_YEAR_TOKEN.findall(text) if years is None else years), reverse=True):
        stated = [e for w in _windows_around(text, year) for e in _scan(w)]
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
) -> PublicationDate:
    """Publication date from the text alone (codebook s. 4), never from clocks or file times.

    1. basis "text": a labelled date line ("date 2023-12-29", "Published 21 August 2024"), a
       dateline with a year, or a short header line holding a full date, in the first lines;
    2. basis "inferred": a weekday with a day and month ("Wednesday, August 21") anywhere in the
       text: the earliest such date on or after the lower bound; or a dateline without a year,
       the earliest such date on or after the lower bound;
    3. else unknown, with ``published_after`` = the lower bound.
    The lower bound is the latest of the dates the text states and ``hints`` (dates the caller
    knows the text presupposes, e.g. the start of an actor's dated role). ``years`` (the text's
    YEAR_TOKEN_PATTERN matches) and ``has_weekday`` may be passed when computed in bulk."""
    head_lines = [line for line in text[:_HEAD_CHARS].splitlines() if line.strip()][:_HEAD_LINES]
    for line in head_lines:
        label = _LABEL.search(line)
        if label:
            m = _FULL_DATE.match(line, label.end())
            if m and (d := _full_date(m)):
                return PublicationDate(d, "text", None)
    # The dateline opens the story: the first line, or the second after a headline.
    dateline = next((m for line in head_lines[:2] if (m := _DATELINE.match(line))), None)
    if dateline and (dateline.group("dmd_y") or dateline.group("mdd_y")):
        year = int(dateline.group("dmd_y") or dateline.group("mdd_y"))
        month = _to_int_month(dateline.group("dmd_m") or dateline.group("mdd_m"))
        day = _to_int_day(dateline.group("dmd_d") or dateline.group("mdd_d"))
        if d := _safe_date(year, month, day):
            return PublicationDate(d, "text", None)
    for line in head_lines:
        if len(line.strip()) <= _SHORT_LINE:
            m = _FULL_DATE.search(line)
            # "Taliban seize Kabul on 15 August 2021" is a headline dating an event, not a byline.
            if m and not _EVENT_PREPOSITION_BEFORE.search(line, 0, m.start()) and (d := _full_date(m)):
                return PublicationDate(d, "text", None)

    expressions = _scan_for_inference(text, years, has_weekday)
    bounds = [b for b in (_stated_lower_bound(expressions), *hints) if b is not None]
    lower = max(bounds) if bounds else None
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
                if d is not None:
                    return PublicationDate(d, "inferred", None)
        if dateline:
            month = _to_int_month(dateline.group("dmd_m") or dateline.group("mdd_m"))
            day = _to_int_day(dateline.group("dmd_d") or dateline.group("mdd_d"))
            d = next(d for y in range(lower.year, lower.year + 9) if (d := _safe_date(y, month, day)) and d >= lower)
            return PublicationDate(d, "inferred", None)
    return PublicationDate(None, "unknown", lower)
