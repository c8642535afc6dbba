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

The package follows those seams: ``expressions`` finds (vocabulary, patterns, anchors),
``resolve`` turns an expression into an interval and picks the one that dates an event,
``publication`` infers a text's publication date. The names below are its public surface.
"""

from pipeline.text.dates.expressions import DateExpression, find_date_expressions
from pipeline.text.dates.publication import (
    WEEKDAY_TOKEN_PATTERN,
    YEAR_TOKEN_PATTERN,
    PublicationDate,
    infer_publication_date,
)
from pipeline.text.dates.resolve import (
    TENSES,
    DateInterval,
    choose_expression,
    date_for_event,
    resolve_expression,
    weekday_year,
)

__all__ = [
    "TENSES",
    "WEEKDAY_TOKEN_PATTERN",
    "YEAR_TOKEN_PATTERN",
    "DateExpression",
    "DateInterval",
    "PublicationDate",
    "choose_expression",
    "date_for_event",
    "find_date_expressions",
    "infer_publication_date",
    "resolve_expression",
    "weekday_year",
]
