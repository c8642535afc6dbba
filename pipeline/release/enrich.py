"""Columns a release adds to the events: ``goldstein`` (from the CAMEO code) and ``source_urls``
(from the articles' metadata). Both are derived from published columns, so they are added where the
release is made rather than in deduplication."""

from __future__ import annotations

import polars as pl

from schemas.codebook import GOLDSTEIN_PATH, load_goldstein

StrList = pl.List(pl.String)


def goldstein(events: pl.DataFrame) -> pl.Series:
    """The Goldstein value of each event's CAMEO code; a code without one stops the release with its
    name (a null would look like a neutral event to anyone averaging the column)."""
    table = load_goldstein()
    missing = sorted(set(events["cameo_code"].drop_nulls().unique().to_list()) - set(table))
    if missing:
        raise ValueError(
            f"no Goldstein value for CAMEO code(s) {', '.join(missing)}: add them to {GOLDSTEIN_PATH} "
            "(GDELT's CAMEO.goldsteinscale.txt has every code)"
        )
    return events["cameo_code"].replace_strict(table, default=None, return_dtype=pl.Float64).alias("goldstein")


def source_urls(events: pl.DataFrame, articles: pl.DataFrame) -> pl.Series:
    """Per event, the distinct known URLs of its articles in the order of ``article_ids``."""
    if events.is_empty():
        return pl.Series("source_urls", [], dtype=StrList)
    urls = (
        events.select("event_id", "article_ids")
        .with_row_index("_event")
        .explode("article_ids")
        .with_row_index("_order")
        .join(
            articles.select(pl.col("article_id").alias("article_ids"), "url").filter(pl.col("url").is_not_null()),
            on="article_ids",
            how="inner",
        )
        .sort("_order")
        .unique(["_event", "url"], keep="first", maintain_order=True)
        .group_by("_event", maintain_order=True)
        .agg(pl.col("url").alias("source_urls"))
    )
    return (
        pl.DataFrame({"_event": pl.int_range(events.height, dtype=pl.UInt32, eager=True)})
        .join(urls, on="_event", how="left")
        .sort("_event")["source_urls"]
        .fill_null(pl.lit([], dtype=StrList))
    )


def enrich_events(events: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """``events`` with ``goldstein`` and ``source_urls`` (replaced when present)."""
    return events.with_columns(goldstein(events), source_urls(events, articles))
