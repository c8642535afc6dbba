"""Extract asset: articles -> event mentions (pipeline/extract/stage.py; incremental)."""

import dagster as dg
import polars as pl

from pipeline import progress
from pipeline.extract.stage import extract_mentions
from pipeline.metadata import markdown_preview, table_metadata
from pipeline.resources import CredenceSettings
from schemas.models import Mention


@dg.asset(
    group_name="extract",
    io_manager_key="parquet_io",
    kinds={"polars", "parquet"},
    description="Event mentions: one per event told by one sentence of one article, with actors, target, "
    "dated interval, modality, confidence and the verbatim quote at its offsets. Only new or "
    "changed articles are extracted; the rest come from the cache.",
)
def extracted_mentions(
    context: dg.AssetExecutionContext, settings: CredenceSettings, articles: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    with progress.reporting(context.log.info):
        mentions, stats = extract_mentions(articles, settings.cache_path, workers=settings.extract_workers)
    context.log.info(
        f"extracted {stats.extracted} articles, reused {stats.reused} from the cache -> {mentions.height} mentions"
    )
    return dg.Output(
        mentions,
        metadata=table_metadata(
            mentions,
            Mention,
            preview=markdown_preview(
                mentions.sort("confidence", descending=True),
                ["event_type", "modality", "actor_name", "target_name", "date_start", "date_end", "quote"],
            ),
            articles_extracted=stats.extracted,
            articles_reused=stats.reused,
            extractor_fingerprint=stats.fingerprint[:16],
        ),
    )
