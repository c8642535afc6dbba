"""Timeline chart of a release: dated events per period, stacked by actor country.

Rendered with matplotlib's Agg backend (no display, no GUI toolkit) straight into PNG bytes, so it
can be written into the release folder like any other file and checksummed with it. The output is
deterministic for the same events (no software version or timestamp in the PNG), so an unchanged
release yields an unchanged chart.

What it draws, and what it leaves out, is stated on the chart (issue 17: the old chart put events
that have only a lower date bound at that bound, so 5 of the 7 events in the seeds' "2021" bar
happened in 2023-2025, and on the Tehran Times corpus its axis ran 1811-2050):

- Only events with a **known date** are counted: precision other than ``unknown`` and both ends of
  the interval set. An open interval ("after the Taliban takeover") has no place on a time axis.
- Each event counts **once**, in the period that holds its whole interval, stacked by its actor's
  country: bar height is events. An event whose interval spans more than one period of the chart
  (a year-precision event on a monthly chart) is left out and counted.
- The period is as precise as the data: months when the dated events span at most ``MAX_BARS``
  months and a monthly chart places at least ``PLACED_SHARE`` of the events a yearly one would, else
  quarters on the same test, else years.
- The axis is clipped to the dated range: the shortest run of years holding ``CORE_SHARE`` (95%) of
  the dated events. News recalls history and plans ahead: on the Tehran Times corpus 1,085 events
  are dated to one year, from 1828 to 2040, and 95% of them lie in 1979-2023 (the revolution and the
  war with Iraq are in; an 1828 treaty and a plan for 2040 are counted in the note instead).
- The leading countries get distinct colours from the Okabe-Ito colour-blind-safe palette (no grey,
  which is kept for "other" and "unknown").
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: the build runs headless (daemon, CI, make run)

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.release.dating import core_years, known_dates

TOP_COUNTRIES = 8
OTHER = "other"
UNKNOWN = "unknown"
MAX_BARS = 40
PLACED_SHARE = 0.9
# (polars truncate unit, months per period, axis label)
PERIODS = (("1mo", 1, "month"), ("3mo", 3, "quarter"), ("1y", 12, "year"))
# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency; black replaced by a dark brown so stacked bars keep visible edges.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#7F4F24")


@dataclass(frozen=True)
class TimelineStats:
    """What the chart counts and what it leaves out (all in events)."""

    total: int = 0
    shown: int = 0
    undated: int = 0  # precision unknown or an open end
    too_wide: int = 0  # dated, but the interval spans more than one period of the chart
    outside: int = 0  # dated, outside the clipped range
    first: dt.date | None = None  # the first and last period drawn
    last: dt.date | None = None

    def note(self, label: str) -> str:
        """One or two lines: what is shown out of what, and what is not (and why)."""
        left = []
        if self.undated:
            left.append(f"{self.undated:,} undated or open-ended")
        if self.too_wide:
            left.append(f"{self.too_wide:,} dated only to a span longer than a {label}")
        if self.outside and self.first and self.last:
            left.append(f"{self.outside:,} dated outside {self.first.year}-{self.last.year}")
        text = f"Shown: {self.shown:,} of {self.total:,} events." + (f" Not shown: {', '.join(left)}." if left else "")
        return textwrap.fill(text, 110)


def _months(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def placed_events(events: pl.DataFrame) -> tuple[pl.DataFrame, TimelineStats, str]:
    """(events placed, with a ``period`` column; what was left out; the period's label)."""
    total = events.height
    dated = events.filter(known_dates(events)) if total else events
    undated = total - dated.height
    if dated.is_empty():
        return dated.with_columns(pl.lit(None, dtype=pl.Date).alias("period")), TimelineStats(total, 0, undated), "year"
    year_fit = dated.filter(pl.col("date_start").dt.year() == pl.col("date_end").dt.year())
    if year_fit.is_empty():
        stats = TimelineStats(total, 0, undated, too_wide=dated.height)
        return year_fit.with_columns(pl.lit(None, dtype=pl.Date).alias("period")), stats, "year"
    lo, hi = core_years(year_fit["date_start"].dt.year())
    in_range = pl.col("date_start").dt.year().is_between(lo, hi)
    outside = year_fit.filter(~in_range).height
    year_fit = year_fit.filter(in_range)
    # The finest period that places nearly every event a yearly chart would, within MAX_BARS bars.
    chosen = PERIODS[-1]
    for unit, size, label in PERIODS[:-1]:
        fit = year_fit.filter(pl.col("date_start").dt.truncate(unit) == pl.col("date_end").dt.truncate(unit))
        if fit.height < PLACED_SHARE * year_fit.height or fit.is_empty():
            continue
        if _months(fit["date_start"].min(), fit["date_start"].max()) / size <= MAX_BARS:
            chosen = (unit, size, label)
            break
    unit, _, label = chosen
    placed = year_fit.filter(
        pl.col("date_start").dt.truncate(unit) == pl.col("date_end").dt.truncate(unit)
    ).with_columns(pl.col("date_start").dt.truncate(unit).alias("period"))
    stats = TimelineStats(
        total=total,
        shown=placed.height,
        undated=undated,
        too_wide=dated.height - outside - placed.height,
        outside=outside,
        first=placed["period"].min(),
        last=placed["period"].max(),
    )
    return placed, stats, label


def country_period_counts(events: pl.DataFrame, top: int = TOP_COUNTRIES) -> tuple[pl.DataFrame, TimelineStats, str]:
    """(counts, stats, period label): one row per (period, actor country) with the number of events
    placed there; countries outside the ``top`` most frequent are pooled as "other", events
    without an actor country as "unknown". Each event counts once."""
    empty = pl.DataFrame(schema={"period": pl.Date, "country": pl.String, "events": pl.UInt32})
    placed, stats, label = placed_events(events)
    if placed.is_empty():
        return empty, stats, label
    country = pl.col("actor_country") if "actor_country" in placed.columns else pl.lit(None, dtype=pl.String)
    long = placed.select("period", pl.coalesce(country, pl.lit(UNKNOWN)).alias("country"))
    ranking = (
        long.filter(pl.col("country") != UNKNOWN)
        .group_by("country")
        .len()
        .sort(["len", "country"], descending=[True, False])
    )
    keep = [*ranking.head(top)["country"].to_list(), UNKNOWN]
    counts = (
        long.with_columns(
            pl.when(pl.col("country").is_in(keep)).then(pl.col("country")).otherwise(pl.lit(OTHER)).alias("country")
        )
        .group_by("period", "country")
        .agg(pl.len().cast(pl.UInt32).alias("events"))
        .sort("period", "country")
    )
    return counts, stats, label


def country_month_counts(events: pl.DataFrame, top: int = TOP_COUNTRIES) -> tuple[pl.DataFrame, int]:
    """Like country_period_counts, keeping only (counts, events not shown)."""
    counts, stats, _ = country_period_counts(events, top)
    return counts, stats.total - stats.shown


def _legend_order(counts: pl.DataFrame) -> list[str]:
    totals = (
        counts.group_by("country").agg(pl.col("events").sum()).sort(["events", "country"], descending=[True, False])
    )
    present = totals["country"].to_list()
    return [c for c in present if c not in (OTHER, UNKNOWN)] + [c for c in (OTHER, UNKNOWN) if c in present]


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)


def _period_label(d: dt.date, label: str) -> str:
    if label == "year":
        return str(d.year)
    if label == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return d.strftime("%Y-%m")


@contextmanager
def _bulk_data_limits(ax):
    """Add bars without matplotlib updating the data limits patch by patch (it walks each
    rectangle's path as Bezier curves: most of the chart's cost with hundreds of bars), then update
    them once from the same corners, mapped by each bar's own transform: the same limits, so the
    same autoscaled axes and the same pixels."""
    before = set(map(id, ax.patches))
    ax._update_patch_limits = lambda patch: None  # instance attribute: shadows the method
    try:
        yield
    finally:
        del ax._update_patch_limits
    corners = [
        p.get_patch_transform().transform(p.get_path().vertices)
        for p in ax.patches
        if id(p) not in before and (p.get_width() or p.get_height())
    ]
    if corners:
        ax.update_datalim(np.concatenate(corners))


def timeline_png(events: pl.DataFrame, *, title: str = "Dated events by actor country") -> bytes:
    """A PNG bar chart of dated events per period, stacked by actor country (each event once); what
    it leaves out is stated under the title."""
    counts, stats, label = country_period_counts(events)
    # A Figure of its own rather than pyplot's: nothing global is touched, so the chart can be
    # rendered in a worker thread while the release's tables are written.
    fig = Figure(figsize=(10, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    try:
        if counts.is_empty():
            ax.text(0.5, 0.5, "No dated events in this release", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        else:
            size = {lbl: n for _, n, lbl in PERIODS}[label]
            periods = sorted(set(counts["period"].to_list()))
            # Every period between the first and the last gets a slot, so a gap in time shows as a gap.
            full = [periods[0]]
            while full[-1] < periods[-1]:
                full.append(_add_months(full[-1], size))
            index = {p: i for i, p in enumerate(full)}
            bottom = [0] * len(full)
            by_country = {
                c: dict(zip(g["period"].to_list(), g["events"].to_list())) for (c,), g in counts.group_by("country")
            }
            with _bulk_data_limits(ax):
                for k, country in enumerate(_legend_order(counts)):
                    heights = [0] * len(full)
                    for period, n in by_country[country].items():
                        heights[index[period]] = n
                    color = (
                        "#bbbbbb"
                        if country == OTHER
                        else "#eeeeee"
                        if country == UNKNOWN
                        else PALETTE[k % len(PALETTE)]
                    )
                    xs = [i for i, h in enumerate(heights) if h]
                    ax.bar(
                        xs,
                        [heights[i] for i in xs],
                        bottom=[bottom[i] for i in xs],
                        label=country,
                        color=color,
                        edgecolor="#555555",
                        linewidth=0.3,
                        width=0.8,
                    )
                    bottom = [b + h for b, h in zip(bottom, heights)]
            step = max(1, -(-len(full) // 16))
            ax.set_xticks(range(0, len(full), step))
            ax.set_xticklabels(
                [_period_label(full[i], label) for i in range(0, len(full), step)], rotation=45, ha="right"
            )
            ax.set_xlim(-0.6, len(full) - 0.4)
            ax.set_xlabel(f"{label} of the event (its whole date interval lies in it)")
            ax.set_ylabel("events")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(title="actor country", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(f"{title}, by {label}\n{stats.note(label)}", fontsize=10)
        fig.tight_layout()
        # tight_layout leaves a placeholder layout engine, which makes savefig draw the whole figure
        # once more (without output) before the real draw; the layout is already done, so drop it.
        fig.set_layout_engine(None)
        buf = io.BytesIO()
        # metadata={"Software": None} keeps the matplotlib version out of the file: same events, same bytes.
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        fig.clear()
