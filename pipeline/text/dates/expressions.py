"""Finding date expressions in a sentence (codebook section 4), not yet resolved.

``find_date_expressions(sentence)``: every date expression, left to right, with its offsets, its
kind and whether it dates a state ("since 2005", "until March") rather than an act. The patterns
run only where an anchor (a digit, a capitalised month or weekday, a unit or day word) was found
first (see ``_anchors``), which keeps a call in the tens of microseconds
(tests/test_dates.py::test_speed). The other modules of this package read the vocabulary and the
patterns defined here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache


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
# the sentence still carries across them; relative openers (", which", ", who", ", in which")
# open a nested clause that the next comma closes.
_BOUNDARY_MARK = re.compile(r"[;:,.\u2013\u2014-]")  # a character class first: the engine skips to candidates
_AFTER_COMMA = re.compile(
    r"\s*(?:(?P<weak>and|but|while|whereas|although|though|because|as|after|before|so|or)"
    r"|(?P<rel>(?:(?:in|on|at|during|of|from|by|with|under|through)\s+)?(?:which|whom|whose)|who|where|when))\b"
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
