"""Which events have a known date, and the run of years most of them lie in: shared by the
timeline (chart.py) and the data card's coverage, without importing matplotlib."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

CORE_SHARE = 0.95


def known_dates(events: pl.DataFrame) -> pl.Expr:
    """Events with a known date: a precision and both ends of the interval."""
    if not {"date_start", "date_end"} <= set(events.columns):
        return pl.lit(False)
    known = pl.col("date_start").is_not_null() & pl.col("date_end").is_not_null()
    if "date_precision" in events.columns:
        known = known & (pl.col("date_precision") != "unknown")
    return known


def core_years(years: pl.Series, share: float = CORE_SHARE) -> tuple[int, int]:
    """The shortest run of years holding at least ``share`` of ``years`` (rounded up, so a small
    release keeps every event); the earliest such run when several tie."""
    ordered = np.sort(years.to_numpy())
    k = max(1, math.ceil(share * len(ordered)))
    widths = ordered[k - 1 :] - ordered[: len(ordered) - k + 1]
    i = int(np.argmin(widths))
    return int(ordered[i]), int(ordered[i + k - 1])
