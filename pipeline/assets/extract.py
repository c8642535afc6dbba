"""Extract assets: articles -> event mentions, and the articles extraction left out
(pipeline/extract/stage.py; incremental)."""

import dagster as dg
import polars as pl

from pipeline import progress
from pipeline.extract.stage import extract_mentions, skipped_quarantine
from pipeline.metadata import markdown_preview, quarantine_summary, table_metadata
from pipeline.resources import CredenceSettings
from schemas.models import Mention, Quarantine


@dg.multi_asset(
    group_name="extract",
    outs={
        "extracted_mentions": dg.AssetOut(
            io_manager_key="parquet_io",
            kinds={"polars", "parquet"},
            description="Event mentions: one per event told by one sentence of one article, with actors, "
            "target, dated interval, modality, confidence and the verbatim quote at its offsets. Only new "
            "or changed articles are extracted; the rest come from the cache.",
        ),
        "extract_quarantine": dg.AssetOut(
            io_manager_key="parquet_io",
            kinds={"polars", "parquet"},
            description="Articles extraction left out, each with its reason: over the per-article budget "
            "(a sentence above the length cap, or past the time budget; pipeline/extract/budget.py).",
        ),
    },
)
def extracted_mentions(context: dg.AssetExecutionContext, settings: CredenceSettings, articles: pl.DataFrame):
    with progress.reporting(context.log.info):
        mentions, stats = extract_mentions(articles, settings.cache_path, workers=settings.extract_workers)
    context.log.info(
        f"extracted {stats.extracted} articles, reused {stats.reused} from the cache -> {mentions.height} mentions"
    )
    skipped = skipped_quarantine(stats.skipped, articles)
    if skipped.height:
        context.log.warning(f"{skipped.height} articles over the extraction budget were left out (quarantined)")
    yield dg.Output(
        mentions,
        "extracted_mentions",
        metadata=table_metadata(
            mentions,
            Mention,
            preview=markdown_preview(
                mentions.sort("confidence", descending=True),
                ["event_type", "modality", "actor_name", "target_name", "date_start", "date_end", "quote"],
            ),
            articles_extracted=stats.extracted,
            articles_reused=stats.reused,
            articles_over_budget=skipped.height,
            extractor_fingerprint=stats.fingerprint[:16],
        ),
    )
    yield dg.Output(
        skipped, "extract_quarantine", metadata=table_metadata(skipped, Quarantine, preview=quarantine_summary(skipped))
    )
