"""Ingest assets: raw files and bundles -> articles (+ what could not become one)."""

import dagster as dg

from pipeline import progress
from pipeline.ingest.stage import ingest_articles
from pipeline.metadata import markdown_preview, quarantine_summary, table_metadata
from pipeline.resources import CredenceSettings
from schemas.models import ArticleText, Quarantine


@dg.multi_asset(
    group_name="ingest",
    outs={
        "articles": dg.AssetOut(
            io_manager_key="parquet_io",
            description="Every distinct article text from the raw folder, decoded and normalized, with "
            "title, dateline, outlet, URL and publication date (metadata, text, inferred or unknown).",
            kinds={"polars", "parquet"},
        ),
        "ingest_quarantine": dg.AssetOut(
            io_manager_key="parquet_io",
            description="Inputs that did not become an article (empty, binary, duplicate, too large, "
            "broken bundle lines, bad metadata rows...), each with its reason.",
            kinds={"polars", "parquet"},
        ),
    },
)
def ingest(context: dg.AssetExecutionContext, settings: CredenceSettings):
    with progress.reporting(context.log.info):
        result = ingest_articles(settings.raw_path, settings.cache_path, workers=settings.extract_workers)
    arts, quar = result.articles, result.quarantine
    context.log.info(f"ingested {arts.height} articles, quarantined {quar.height} inputs from {settings.raw_path}")
    cache = result.cache
    if cache is not None:
        context.log.info(f"ingest cache: reused {cache.reused} inputs, read {cache.read}")
    yield dg.Output(
        arts,
        "articles",
        metadata=table_metadata(
            arts,
            ArticleText,
            preview=markdown_preview(
                arts.sort("published_at", descending=True, nulls_last=True),
                ["article_id", "source_file", "title", "published_at", "published_basis", "n_chars"],
            ),
            raw_dir=dg.MetadataValue.path(str(settings.raw_path)),
            **({"inputs_reused": cache.reused, "inputs_read": cache.read} if cache is not None else {}),
        ),
    )
    yield dg.Output(
        quar, "ingest_quarantine", metadata=table_metadata(quar, Quarantine, preview=quarantine_summary(quar))
    )
