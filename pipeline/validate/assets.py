"""Validate assets: rows that meet their schema pass on; the rest go to quarantine with the reason.
Asset checks (blocking) guard what the release publishes."""

import dagster as dg
import pandera.polars as pa
import polars as pl

from pipeline.metadata import quarantine_summary, table_metadata
from pipeline.validate.rows import quote_failures, schema_failures, split_valid
from schemas.models import Article, ArticleText, Event, Mention, Quarantine, conform


@dg.multi_asset(
    group_name="validate",
    outs={
        "valid_mentions": dg.AssetOut(
            io_manager_key="parquet_io",
            description="Mentions that meet the Mention schema and whose quote is verbatim in their "
            "article at their offsets.",
            kinds={"polars", "pandera"},
        ),
        "quarantine": dg.AssetOut(
            io_manager_key="parquet_io",
            description="Everything set aside, with its reason: ingest rejects plus rows that failed validation.",
            kinds={"polars", "pandera"},
        ),
    },
)
def validate(
    context: dg.AssetExecutionContext,
    articles: pl.DataFrame,
    ingest_quarantine: pl.DataFrame,
    extracted_mentions: pl.DataFrame,
):
    texts = articles.select("article_id", "text", "source_file")
    valid, rejected = split_valid(
        extracted_mentions,
        Mention,
        stage="validate",
        record_id_col="mention_id",
        source_files=texts,
        extra_failures=quote_failures(conform(extracted_mentions, Mention), texts),
    )
    quarantine = conform(pl.concat([ingest_quarantine, rejected]), Quarantine).sort(
        ["stage", "source_file", "line", "record_id"], nulls_last=True
    )
    if rejected.height:
        context.log.warning(f"{rejected.height} mentions failed validation and were quarantined")
    yield dg.Output(valid, "valid_mentions", metadata=table_metadata(valid, Mention, quarantined=rejected.height))
    yield dg.Output(
        quarantine,
        "quarantine",
        metadata=table_metadata(quarantine, Quarantine, preview=quarantine_summary(quarantine)),
    )


def _schema_check(df: pl.DataFrame, model: type[pa.DataFrameModel]) -> dg.AssetCheckResult:
    try:
        failures = schema_failures(df, model)
    except ValueError as err:
        return dg.AssetCheckResult(passed=False, metadata={"error": str(err)})
    sample = "; ".join(f"row {i}: {', '.join(m)}" for i, m in list(failures.items())[:5])
    return dg.AssetCheckResult(
        passed=not failures, metadata={"failing_rows": len(failures), "sample": sample or "none"}
    )


@dg.asset_check(asset="articles", blocking=True, description="Articles match the ArticleText schema.")
def articles_match_schema(articles: pl.DataFrame) -> dg.AssetCheckResult:
    return _schema_check(articles, ArticleText)


@dg.asset_check(asset="valid_mentions", blocking=True, description="Mentions match the Mention schema.")
def mentions_match_schema(valid_mentions: pl.DataFrame) -> dg.AssetCheckResult:
    return _schema_check(valid_mentions, Mention)


@dg.asset_check(
    asset="valid_mentions",
    blocking=True,
    additional_ins={"articles": dg.AssetIn("articles")},
    description="Every mention's article exists and its quote is the verbatim text at its offsets.",
)
def mentions_quotes_verbatim(valid_mentions: pl.DataFrame, articles: pl.DataFrame) -> dg.AssetCheckResult:
    failures = quote_failures(valid_mentions, articles.select("article_id", "text"))
    sample = "; ".join(f"row {i}: {', '.join(m)}" for i, m in list(failures.items())[:5])
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={"failing_rows": len(failures), "checked": valid_mentions.height, "sample": sample or "none"},
    )


@dg.asset_check(asset="quarantine", blocking=True, description="Quarantine rows match the Quarantine schema.")
def quarantine_match_schema(quarantine: pl.DataFrame) -> dg.AssetCheckResult:
    return _schema_check(quarantine, Quarantine)


@dg.asset_check(asset="events", blocking=True, description="Events match the Event schema.")
def events_match_schema(events: pl.DataFrame) -> dg.AssetCheckResult:
    return _schema_check(events, Event)


@dg.asset_check(
    asset="events",
    blocking=True,
    additional_ins={"mentions": dg.AssetIn("mentions"), "articles": dg.AssetIn("articles")},
    description="Every event's mentions exist and point back to it; every mention's article exists.",
)
def events_provenance_complete(
    events: pl.DataFrame, mentions: pl.DataFrame, articles: pl.DataFrame
) -> dg.AssetCheckResult:
    listed = (
        events.select("event_id", pl.col("mention_ids")).explode("mention_ids").rename({"mention_ids": "mention_id"})
    )
    joined = listed.join(
        mentions.select("mention_id", pl.col("event_id").alias("m_event")), on="mention_id", how="left"
    )
    missing = joined.filter(pl.col("m_event").is_null()).height
    mismatched = joined.filter(pl.col("m_event").is_not_null() & (pl.col("m_event") != pl.col("event_id"))).height
    orphans = mentions.filter(~pl.col("event_id").is_in(events["event_id"].implode())).height
    no_article = mentions.filter(~pl.col("article_id").is_in(articles["article_id"].implode())).height
    passed = missing == 0 and mismatched == 0 and orphans == 0 and no_article == 0
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "missing_mentions": missing,
            "mentions_pointing_elsewhere": mismatched,
            "mentions_without_event": orphans,
            "mentions_without_article": no_article,
        },
    )


def public_articles(articles: pl.DataFrame) -> pl.DataFrame:
    return conform(articles, Article)
