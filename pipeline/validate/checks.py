"""The blocking checks that guard what a release publishes, as plain functions over tables.

``CHECKS`` is the registry: which table each check guards and which other tables it reads. The
Dagster glue turns every entry into an asset check with one factory (pipeline/checks.py, after
PUDL's ``asset_check_from_schema``), and the scale-out job runs the same entries on its own tables
(``run_checks``), so both paths are guarded by the same code. The schema checks come from the
table registry ``SCHEMAS`` (table -> pandera model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class TableCheck:
    name: str
    table: str  # the table (asset) it guards: its first argument
    description: str
    fn: Callable[..., CheckOutcome]  # fn(table, *needs)
    needs: tuple[str, ...] = ()  # other tables it reads, in the order fn takes them


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
)


def run_checks(tables: Mapping[str, pl.DataFrame], guarded: set[str]) -> dict[str, CheckOutcome]:
    """Run every check of CHECKS that guards one of the ``guarded`` tables, reading ``tables``."""
    return {c.name: c.fn(tables[c.table], *(tables[n] for n in c.needs)) for c in CHECKS if c.table in guarded}
