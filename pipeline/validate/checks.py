"""The checks that guard what a release publishes, as plain functions over tables.

``CHECKS`` is the registry: which table each check guards, which other tables it reads and whether
it blocks (most do; a warning is reported and never stops a release). The
Dagster glue turns every entry into an asset check with one factory (pipeline/checks.py, after
PUDL's ``asset_check_from_schema``), and the scale-out job runs the same entries on its own tables
(``run_checks``), so both paths are guarded by the same code. The schema checks come from the
table registry ``SCHEMAS`` (table -> pandera model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandera.polars as pa
import polars as pl

from pipeline.releases import verify_latest
from pipeline.validate.rows import quote_failures, schema_failures
from schemas.models import ArticleText, Event, Mention, Quarantine


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    metadata: dict = field(default_factory=dict)
    blocking: bool = True  # a failed non-blocking check is a warning (set by run_checks from the entry)


@dataclass(frozen=True)
class TableCheck:
    name: str
    table: str  # the table (asset) it guards: its first argument
    description: str
    fn: Callable[..., CheckOutcome]  # fn(table, *needs)
    needs: tuple[str, ...] = ()  # other tables it reads, in the order fn takes them
    blocking: bool = True  # False: a warning (Dagster severity WARN), never stops a release


def _sample(failures: Mapping[int, list[str]]) -> str:
    return "; ".join(f"row {i}: {', '.join(m)}" for i, m in list(failures.items())[:5]) or "none"


def schema_check(df: pl.DataFrame, model: type[pa.DataFrameModel]) -> CheckOutcome:
    """Every row meets ``model``; a table-level failure (a missing column) fails with its message."""
    try:
        failures = schema_failures(df, model)
    except ValueError as err:
        return CheckOutcome(False, {"error": str(err)})
    return CheckOutcome(not failures, {"failing_rows": len(failures), "sample": _sample(failures)})


def quotes_verbatim(valid_mentions: pl.DataFrame, articles: pl.DataFrame) -> CheckOutcome:
    failures = quote_failures(valid_mentions, articles.select("article_id", "text"))
    return CheckOutcome(
        not failures,
        {"failing_rows": len(failures), "checked": valid_mentions.height, "sample": _sample(failures)},
    )


def provenance_complete(events: pl.DataFrame, mentions: pl.DataFrame, articles: pl.DataFrame) -> CheckOutcome:
    listed = (
        events.select("event_id", pl.col("mention_ids")).explode("mention_ids").rename({"mention_ids": "mention_id"})
    )
    pointed = mentions.select("mention_id", pl.col("event_id").alias("m_event"))
    joined = listed.join(pointed, on="mention_id", how="left")
    missing = joined.filter(pl.col("m_event").is_null()).height
    mismatched = joined.filter(pl.col("m_event").is_not_null() & (pl.col("m_event") != pl.col("event_id"))).height
    orphans = mentions.filter(~pl.col("event_id").is_in(events["event_id"].implode())).height
    no_article = mentions.filter(~pl.col("article_id").is_in(articles["article_id"].implode())).height
    events_no_article = 0
    if "article_ids" in events.columns:  # an Event table has it; a hand-made frame may not
        listed_articles = events.select("event_id", pl.col("article_ids").alias("article_id")).explode("article_id")
        events_no_article = listed_articles.filter(
            pl.col("article_id").is_not_null() & ~pl.col("article_id").is_in(articles["article_id"].implode())
        )["event_id"].n_unique()
    passed = missing == 0 and mismatched == 0 and orphans == 0 and no_article == 0 and events_no_article == 0
    return CheckOutcome(
        passed,
        {
            "missing_mentions": missing,
            "mentions_pointing_elsewhere": mismatched,
            "mentions_without_event": orphans,
            "mentions_without_article": no_article,
            "events_with_missing_articles": events_no_article,
        },
    )


EVENT_DATES = ("event_id", "modality", "date_start", "article_ids")
MENTION_DATES = ("mention_id", "article_id", "modality", "date_start")


def _missing_columns(tables: Mapping[str, tuple[pl.DataFrame, tuple[str, ...]]]) -> str:
    """A clear message naming the columns a check needs that its tables lack ('' when none)."""
    gaps = [
        f"{name} lacks {', '.join(c for c in cols if c not in df.columns)}"
        for name, (df, cols) in tables.items()
        if any(c not in df.columns for c in cols)
    ]
    return "; ".join(gaps)


def _publication_limits(articles: pl.DataFrame) -> pl.DataFrame:
    """(article_id, limit): the latest date an asserted act of the article can have, its publication
    or collection date (the earlier of those known); articles with neither are left out."""
    cols = [c for c in ("published_at", "collected_at") if c in articles.columns]
    if not cols:
        return pl.DataFrame(schema={"article_id": pl.String, "limit": pl.Date})
    return articles.select("article_id", pl.min_horizontal(cols).alias("limit")).filter(pl.col("limit").is_not_null())


def asserted_not_after_publication(
    events: pl.DataFrame, mentions: pl.DataFrame, articles: pl.DataFrame
) -> CheckOutcome:
    """No asserted mention starts after its article's publication or collection date, and no
    asserted event after the earliest such date of its articles (issue 16): what is told as done
    was done by the time it was told. Only planned and hypothetical events may lie in the future."""
    missing = _missing_columns(
        {
            "events": (events, EVENT_DATES),
            "mentions": (mentions, MENTION_DATES),
            "articles": (articles, ("article_id",)),
        }
    )
    if missing:
        return CheckOutcome(False, {"error": missing})
    limits = _publication_limits(articles)
    late_mentions = (
        mentions.filter(pl.col("modality") == "asserted")
        .join(limits, on="article_id", how="inner")
        .filter(pl.col("date_start") > pl.col("limit"))
    )
    event_limits = (
        events.select("event_id", pl.col("article_ids").alias("article_id"))
        .explode("article_id")
        .join(limits, on="article_id", how="inner")
        .group_by("event_id")
        .agg(pl.col("limit").min())
    )
    late_events = (
        events.filter(pl.col("modality") == "asserted")
        .join(event_limits, on="event_id", how="inner")
        .filter(pl.col("date_start") > pl.col("limit"))
    )
    sample = [
        f"mention {m} dated {d} after {lim}"
        for m, d, lim in late_mentions.select("mention_id", "date_start", "limit").head(3).iter_rows()
    ]
    sample += [
        f"event {e} dated {d} after {lim}"
        for e, d, lim in late_events.select("event_id", "date_start", "limit").head(3).iter_rows()
    ]
    return CheckOutcome(
        late_mentions.height == 0 and late_events.height == 0,
        {
            "asserted_mentions_after_publication": late_mentions.height,
            "asserted_events_after_publication": late_events.height,
            "sample": "; ".join(sample) or "none",
        },
    )


# Events told by more articles than this with no known date are suspect: a story that many articles
# tell is dated somewhere, and an undated row that large is more likely several occurrences.
LARGE_EVENT_ARTICLES = 20


def large_events_dated(events: pl.DataFrame) -> CheckOutcome:
    """Warning: events told by more than LARGE_EVENT_ARTICLES articles with no known date."""
    missing = _missing_columns({"events": (events, ("event_id", "n_articles", "date_precision"))})
    if missing:
        return CheckOutcome(False, {"error": missing})
    undated = events.filter(
        (pl.col("n_articles") > LARGE_EVENT_ARTICLES) & (pl.col("date_precision") == "unknown")
    ).sort("n_articles", "event_id", descending=[True, False])
    return CheckOutcome(
        undated.height == 0,
        {
            "undated_events_over_20_articles": undated.height,
            "largest": "; ".join(
                f"{e} ({n} articles)" for e, n in undated.select("event_id", "n_articles").head(5).iter_rows()
            )
            or "none",
        },
    )


def release_verifies(outputs: Path) -> CheckOutcome:
    """The LATEST release's files match its SHA256SUMS."""
    latest, problems = verify_latest(outputs)
    if latest is None:
        return CheckOutcome(False, {"error": "; ".join(problems)})
    return CheckOutcome(not problems, {"version": latest, "problems": "; ".join(problems) or "none"})


# The table registry of the schema checks: table -> (check name, pandera model, description).
SCHEMAS: dict[str, tuple[str, type[pa.DataFrameModel], str]] = {
    "articles": ("articles_match_schema", ArticleText, "Articles match the ArticleText schema."),
    "valid_mentions": ("mentions_match_schema", Mention, "Mentions match the Mention schema."),
    "quarantine": ("quarantine_match_schema", Quarantine, "Quarantine rows match the Quarantine schema."),
    "events": ("events_match_schema", Event, "Events match the Event schema."),
}


def _schema_entry(table: str, name: str, model: type[pa.DataFrameModel], description: str) -> TableCheck:
    def check(df: pl.DataFrame) -> CheckOutcome:
        return schema_check(df, model)

    return TableCheck(name, table, description, check)


CHECKS: tuple[TableCheck, ...] = (
    *(_schema_entry(table, *entry) for table, entry in SCHEMAS.items()),
    TableCheck(
        "mentions_quotes_verbatim",
        "valid_mentions",
        "Every mention's article exists and its quote is the verbatim text at its offsets.",
        quotes_verbatim,
        needs=("articles",),
    ),
    TableCheck(
        "events_provenance_complete",
        "events",
        "Every event's mentions exist and point back to it; every mention's and event's article exists.",
        provenance_complete,
        needs=("mentions", "articles"),
    ),
    TableCheck(
        "asserted_not_after_publication",
        "events",
        "No asserted mention or event is dated after its article's publication or collected_at.",
        asserted_not_after_publication,
        needs=("mentions", "articles"),
    ),
    TableCheck(
        "large_events_dated",
        "events",
        f"Warning: events told by more than {LARGE_EVENT_ARTICLES} articles have a known date.",
        large_events_dated,
        blocking=False,
    ),
)


def run_checks(tables: Mapping[str, pl.DataFrame], guarded: set[str]) -> dict[str, CheckOutcome]:
    """Run every check of CHECKS that guards one of the ``guarded`` tables, reading ``tables``; each
    outcome says whether its check blocks."""
    return {
        c.name: replace(c.fn(tables[c.table], *(tables[n] for n in c.needs)), blocking=c.blocking)
        for c in CHECKS
        if c.table in guarded
    }
