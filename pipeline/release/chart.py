"""Timeline chart of a release: events per period, stacked by the countries most involved.

Rendered with matplotlib's Agg backend (no display, no GUI toolkit) straight into PNG bytes, so it
can be written into the release folder like any other file and checksummed with it. The output is
deterministic for the same events (no software version or timestamp in the PNG), so an unchanged
release yields an unchanged chart.

The period adapts to the span of the dates: months for up to MAX_BARS months, else quarters, else
years. News about diplomacy often recalls events years back (a 2005 designation, a 2021 takeover),
and a monthly axis over twenty years would draw hair-thin bars.
"""

from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: the build runs headless (daemon, CI, make run)

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

TOP_COUNTRIES = 8
OTHER = "other"
UNKNOWN = "unknown"
MAX_BARS = 40
# (polars truncate unit, months per period, axis label)
PERIODS = (("1mo", 1, "month"), ("3mo", 3, "quarter"), ("1y", 12, "year"))


def _event_date(events: pl.DataFrame) -> pl.Expr:
    """Where an event is placed: the start of its interval, else its end, else the earliest
    publication of its articles (when it was reported). Events with none of these are left off the
    chart and counted in its title."""
    cols = [c for c in ("date_start", "date_end", "first_published_at") if c in events.columns]
    if not cols:
        return pl.lit(None, dtype=pl.Date)
    return pl.coalesce([pl.col(c).cast(pl.Date) for c in cols])


def choose_period(first: dt.date, last: dt.date) -> tuple[str, int, str]:
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    for unit, size, label in PERIODS:
        if months / size <= MAX_BARS or unit == "1y":
            return unit, size, label
    raise AssertionError("unreachable: the last period always fits")


def country_period_counts(events: pl.DataFrame, top: int = TOP_COUNTRIES) -> tuple[pl.DataFrame, int, str]:
    """(counts, undated, period label): one row per (period, country) with the number of events,
    where an event counts once for each distinct country among its actor and target; countries
    outside the `top` most frequent are pooled as "other", events without a country as "unknown"."""
    empty = pl.DataFrame(schema={"period": pl.Date, "country": pl.String, "events": pl.UInt32})
    if events.is_empty():
        return empty, 0, "month"
    base = events.with_row_index("_row").with_columns(_event_date(events).alias("_date"))
    undated = base.filter(pl.col("_date").is_null()).height
    dated = base.filter(pl.col("_date").is_not_null())
    if dated.is_empty():
        return empty, undated, "month"
    unit, _, label = choose_period(dated["_date"].min(), dated["_date"].max())
    dated = dated.with_columns(pl.col("_date").dt.truncate(unit).alias("period"))
    country_cols = [c for c in ("actor_country", "target_country") if c in events.columns]
    if country_cols:
        long = (
            dated.select("_row", "period", pl.concat_list([pl.col(c) for c in country_cols]).alias("country"))
            .explode("country")
            .drop_nulls("country")
            .unique(["_row", "country"])
        )
    else:
        long = dated.select("_row", "period", pl.lit(None, dtype=pl.String).alias("country")).head(0)
    no_country = dated.join(long.select("_row").unique(), on="_row", how="anti").select(
        "_row", "period", pl.lit(UNKNOWN).alias("country")
    )
    ranking = long.group_by("country").len().sort(["len", "country"], descending=[True, False])
    keep = [*ranking.head(top)["country"].to_list(), UNKNOWN]
    counts = (
        pl.concat([long, no_country])
        .with_columns(
            pl.when(pl.col("country").is_in(keep)).then(pl.col("country")).otherwise(pl.lit(OTHER)).alias("country")
        )
        .group_by("period", "country")
        .agg(pl.len().cast(pl.UInt32).alias("events"))
        .sort("period", "country")
    )
    return counts, undated, label


def country_month_counts(events: pl.DataFrame, top: int = TOP_COUNTRIES) -> tuple[pl.DataFrame, int]:
    """Like country_period_counts, keeping only (counts, undated)."""
    counts, undated, _ = country_period_counts(events, top)
    return counts, undated


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


def timeline_png(events: pl.DataFrame, *, title: str = "Events by date and country") -> bytes:
    """A PNG bar chart of events per period, stacked by country (actor or target; an event with two
    countries counts in both stacks, so bar height is country involvements, as the axis says)."""
    counts, undated, label = country_period_counts(events)
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
            cmap = matplotlib.colormaps["tab10"]
            by_country = {
                c: dict(zip(g["period"].to_list(), g["events"].to_list())) for (c,), g in counts.group_by("country")
            }
            with _bulk_data_limits(ax):
                for k, country in enumerate(_legend_order(counts)):
                    heights = [0] * len(full)
                    for period, n in by_country[country].items():
                        heights[index[period]] = n
                    color = "#bbbbbb" if country == OTHER else "#eeeeee" if country == UNKNOWN else cmap(k % 10)
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
            ax.set_xlabel(f"{label} of the event (start of its date interval)")
            ax.set_ylabel("events (per country involved)")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(title="country", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(title + (f" ({undated} undated not shown)" if undated else ""), fontsize=11)
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
