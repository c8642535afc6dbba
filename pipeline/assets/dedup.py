"""Dedup assets: mentions -> one row per real-world event, with ids kept stable across releases."""

import dagster as dg
import polars as pl

from pipeline.dedup.stage import deduplicate
from pipeline.metadata import markdown_preview, table_metadata
from pipeline.resources import CredenceSettings
from schemas.models import Event, Mention


@dg.multi_asset(
    group_name="dedup",
    outs={
        "events": dg.AssetOut(
            io_manager_key="parquet_io",
            kinds={"polars", "parquet"},
            description="One row per real-world event: its mentions across articles and outlets "
            "clustered (same type, actors and modality, overlapping dates, and evidence of one occurrence; no "
            "chaining), fields "
            "settled, ids stable.",
        ),
        "mentions": dg.AssetOut(
            io_manager_key="parquet_io",
            kinds={"polars", "parquet"},
            description="Valid mentions with the event_id of the event they belong to.",
        ),
        "event_id_registry": dg.AssetOut(
            io_manager_key="parquet_io",
            kinds={"polars"},
            description="mention_id -> event_id map carried from release to release so event ids never "
            "change silently.",
        ),
        "event_lineage": dg.AssetOut(
            io_manager_key="parquet_io",
            kinds={"polars"},
            description="Merges and splits of events relative to the previous release.",
        ),
    },
)
def dedup(
    context: dg.AssetExecutionContext, settings: CredenceSettings, valid_mentions: pl.DataFrame, articles: pl.DataFrame
):
    result, reuse = deduplicate(valid_mentions, articles, outputs=settings.outputs_path, cache_root=settings.cache_path)
    ev = result.events
    context.log.info(f"{valid_mentions.height} mentions -> {ev.height} events ({reuse})")
    newest = ev.sort(["date_end", "event_id"], descending=True, nulls_last=True)
    yield dg.Output(
        ev,
        "events",
        metadata=table_metadata(
            ev,
            Event,
            preview=markdown_preview(newest, ["event_id", "summary", "n_sources", "confidence"], n=15),
            multi_source_events=ev.filter(pl.col("n_sources") >= 2).height,
            incremental=reuse,
        ),
    )
    yield dg.Output(result.mentions, "mentions", metadata=table_metadata(result.mentions, Mention))
    yield dg.Output(result.registry, "event_id_registry", metadata={"dagster/row_count": result.registry.height})
    yield dg.Output(result.lineage, "event_lineage", metadata={"dagster/row_count": result.lineage.height})
