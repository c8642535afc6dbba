"""Date expressions: find, resolve to intervals with precision and basis, infer publication dates.

STUB: replaced by the dates work (see the API below). Keep the signatures.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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


def infer_publication_date(text: str) -> PublicationDate:
    return PublicationDate(None, "unknown", None)


def date_for_event(
    sentence: str,
    trigger_span: tuple[int, int],
    published_at: dt.date | None,
    published_after: dt.date | None,
    *,
    is_lead: bool,
    tense: str,
) -> DateInterval:
    if published_at is not None:
        return DateInterval(None, published_at, "unknown", "none")
    return DateInterval(published_after, None, "unknown", "none")
